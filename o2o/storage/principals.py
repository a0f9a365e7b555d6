"""Retailers, analysts, their people and keys, failed sign-ins and ended sessions: the SQL both
backends share (a part of :class:`o2o.storage.core.SqlRepository`, kept apart to keep each module short)."""

from __future__ import annotations

import json
import time

from .dialect import utc_now, valid_id
from .rows import EndedSession

PRINCIPAL_TABLES = ("retailers", "analysts")
USER_CHANGES = ("role", "password_hash", "last_sign_in_at", "disabled_at")  # what update_user may change


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


class PrincipalsSql:
    """Mixed into :class:`~o2o.storage.core.SqlRepository`: uses its primitives and ``_COLUMNS``."""

    # -- sessions
    def end_session(self, sid: str, expires_at: int) -> None:
        at = self.dialect.from_epoch
        with self.transaction():
            self._execute(f"DELETE FROM ended_sessions WHERE expires_at < {at}", (int(time.time()),))
            self._execute(f"INSERT INTO ended_sessions (sid, expires_at) VALUES (?, {at}) ON CONFLICT DO NOTHING",
                          (sid, int(expires_at)))

    def session_ended(self, sid: str) -> bool:
        return self._query("SELECT 1 FROM ended_sessions WHERE sid = ?", (sid,), one=True) is not None

    def ended_sessions(self) -> list[EndedSession]:
        return [EndedSession(r[0], int(r[1])) for r in self._query(
            f"SELECT sid, {self.dialect.epoch.format('expires_at')} FROM ended_sessions"
            f" ORDER BY sid{self.dialect.text_order}")]

    # -- retailers and analysts
    def create_retailer(self, name: str, domains: list[str], key_hash: str | None = None) -> int:
        with self.transaction():
            return int(self._execute(
                "INSERT INTO retailers (name, domains, key_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (name, json.dumps(sorted(set(domains))), key_hash, utc_now())).fetchone()[0])

    def create_analyst(self, name: str, key_hash: str) -> int:
        with self.transaction():
            return int(self._execute("INSERT INTO analysts (name, key_hash, created_at) VALUES (?, ?, ?)"
                                     " RETURNING id", (name, key_hash, utc_now())).fetchone()[0])

    def set_key_hash(self, table: str, principal_id: int, key_hash: str | None) -> bool:
        if table not in PRINCIPAL_TABLES:
            raise ValueError(table)
        with self.transaction():
            cur = self._execute(f"UPDATE {table} SET key_hash = ?, revoked_at = ? WHERE id = ?",
                                (key_hash, None if key_hash else utc_now(), int(principal_id)))
            return cur.rowcount == 1

    def set_retailer_domains(self, retailer_id: int, domains: list[str]) -> None:
        with self.transaction():
            self._execute("UPDATE retailers SET domains = ? WHERE id = ?",
                          (json.dumps(sorted(set(domains))), int(retailer_id)))

    def principal_by_id(self, table: str, principal_id: int) -> dict | None:
        if table not in PRINCIPAL_TABLES:
            raise ValueError(table)
        if not valid_id(principal_id):
            return None
        row = self._query(f"SELECT {self._COLUMNS[table]} FROM {table} WHERE id = ?", (int(principal_id),),
                          one=True, dicts=True)
        return _principal(row)

    def get_retailer(self, retailer_id: int) -> dict | None:
        return self.principal_by_id("retailers", retailer_id)

    def list_retailers(self) -> list[dict]:
        return [_principal(r) for r in self._query(f"SELECT {self._COLUMNS['retailers']} FROM retailers ORDER BY id",
                                                   dicts=True)]

    def list_analysts(self) -> list[dict]:
        return self._query(f"SELECT {self._COLUMNS['analysts']} FROM analysts ORDER BY id", dicts=True)

    # -- people, set-up links, named keys, failed sign-ins
    def create_user(self, email: str, role: str, retailer_id: int | None, analyst_id: int | None) -> int:
        with self.transaction():
            return int(self._execute(
                "INSERT INTO users (email, role, retailer_id, analyst_id, created_at) VALUES (?, ?, ?, ?, ?)"
                " RETURNING id", (email.lower(), role, retailer_id, analyst_id, utc_now())).fetchone()[0])

    def _one(self, table: str, where: str, value) -> dict | None:
        return self._query(f"SELECT {self._COLUMNS[table]} FROM {table} WHERE {where} = ?", (value,),
                           one=True, dicts=True)

    def _of(self, table: str, retailer_id: int | None, analyst_id: int | None) -> list[dict]:
        column, value = ("retailer_id", retailer_id) if retailer_id is not None else ("analyst_id", analyst_id)
        return self._query(f"SELECT {self._COLUMNS[table]} FROM {table} WHERE {column} = ? ORDER BY id",
                           (int(value),), dicts=True)

    def get_user(self, user_id: int) -> dict | None:
        return self._one("users", "id", int(user_id)) if valid_id(user_id) else None

    def user_by_email(self, email: str) -> dict | None:
        return self._one("users", "email", email.lower())

    def users_of(self, retailer_id: int | None = None, analyst_id: int | None = None) -> list[dict]:
        return self._of("users", retailer_id, analyst_id)

    def update_user(self, user_id: int, changes: dict) -> bool:
        changes = {k: v for k, v in changes.items() if k in USER_CHANGES}
        if not valid_id(user_id):
            return False
        with self.transaction():
            if not changes:
                return self.get_user(user_id) is not None
            sets = ", ".join(f"{c} = ?" for c in changes)
            return self._execute(f"UPDATE users SET {sets} WHERE id = ?", [*changes.values(), int(user_id)]).rowcount == 1

    def add_setup_token(self, user_id: int, token_hash: str, valid_until: int) -> int:
        with self.transaction():
            return int(self._execute(
                "INSERT INTO setup_tokens (user_id, token_hash, created_at, valid_until) VALUES (?, ?, ?, ?)"
                " RETURNING id", (int(user_id), token_hash, utc_now(), int(valid_until))).fetchone()[0])

    def setup_token(self, token_hash: str) -> dict | None:
        return self._one("setup_tokens", "token_hash", token_hash)

    def use_setup_token(self, token_id: int) -> bool:
        with self.transaction():
            return self._execute("UPDATE setup_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL",
                                 (utc_now(), int(token_id))).rowcount == 1

    def create_api_key(self, retailer_id: int | None, analyst_id: int | None, name: str, role: str,
                       key_hash: str, created_by: str | None) -> int:
        with self.transaction():
            return int(self._execute(
                "INSERT INTO api_keys (retailer_id, analyst_id, name, role, key_hash, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (retailer_id, analyst_id, name, role, key_hash, utc_now(), created_by)).fetchone()[0])

    def set_api_key_hash(self, key_id: int, key_hash: str) -> None:
        with self.transaction():
            self._execute("UPDATE api_keys SET key_hash = ? WHERE id = ?", (key_hash, int(key_id)))

    def api_key(self, key_id: int) -> dict | None:
        return self._one("api_keys", "id", int(key_id)) if valid_id(key_id) else None

    def api_keys_of(self, retailer_id: int | None = None, analyst_id: int | None = None) -> list[dict]:
        return self._of("api_keys", retailer_id, analyst_id)

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        with self.transaction():
            return self._execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                 (at, int(key_id))).rowcount == 1

    def touch_api_key(self, key_id: int, at: str) -> None:
        with self.transaction():
            self._execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (at, int(key_id)))

    def count_sign_in_failure(self, key: str, now: int, window_s: int) -> int:
        start = int(now) - int(window_s)
        with self.transaction():
            return int(self._execute(
                "INSERT INTO sign_in_failures (key, failures, window_start, locked_until) VALUES (?, 1, ?, 0)"
                " ON CONFLICT (key) DO UPDATE SET"
                " failures = CASE WHEN sign_in_failures.window_start <= ? THEN 1"
                " ELSE sign_in_failures.failures + 1 END,"
                " window_start = CASE WHEN sign_in_failures.window_start <= ? THEN excluded.window_start"
                " ELSE sign_in_failures.window_start END RETURNING failures",
                (key, int(now), start, start)).fetchone()[0])

    def lock_sign_in(self, key: str, until: int) -> None:
        with self.transaction():
            self._execute("UPDATE sign_in_failures SET locked_until = ?, failures = 0, window_start = 0"
                          " WHERE key = ?", (int(until), key))

    def sign_in_lock(self, key: str) -> int:
        row = self._query("SELECT locked_until FROM sign_in_failures WHERE key = ?", (key,), one=True)
        return int(row[0]) if row else 0

    def clear_sign_in_failures(self, key: str) -> None:
        with self.transaction():
            self._execute("DELETE FROM sign_in_failures WHERE key = ?", (key,))

def _principal(row: dict | None) -> dict | None:
    if row is not None and "domains" in row:
        row["domains"] = _json(row["domains"])
    return row
