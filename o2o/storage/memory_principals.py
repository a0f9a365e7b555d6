"""The in-memory fake's retailers, analysts, their people and keys, failed sign-ins and ended sessions
(a part of :class:`o2o.storage.memory.MemoryRepository`, kept apart to keep each module short)."""

from __future__ import annotations

import copy
import time

from .dialect import utc_now, valid_id
from .principals import PRINCIPAL_TABLES, USER_CHANGES
from .rows import EndedSession


class MemoryPrincipals:
    """Mixed into :class:`~o2o.storage.memory.MemoryRepository`: uses its tables, ``_insert`` and ``_remove``."""

    # --------------------------------------------------------------------------- sessions
    def end_session(self, sid: str, expires_at: int) -> None:
        with self.transaction():
            now = int(time.time())
            self._db.sessions = {s: t for s, t in self._db.sessions.items() if t >= now}
            self._db.sessions.setdefault(sid, int(expires_at))

    def session_ended(self, sid: str) -> bool:
        return sid in self._db.sessions

    def ended_sessions(self) -> list[EndedSession]:
        return [EndedSession(s, t) for s, t in sorted(self._db.sessions.items())]

    # --------------------------------------------------------------------------- retailers and analysts
    def create_retailer(self, name: str, domains: list[str], key_hash: str | None = None) -> int:
        with self.transaction():
            return self._insert("retailers", {"name": name, "domains": sorted(set(domains)), "key_hash": key_hash,
                                              "created_at": utc_now(), "revoked_at": None})

    def create_analyst(self, name: str, key_hash: str) -> int:
        with self.transaction():
            return self._insert("analysts", {"name": name, "key_hash": key_hash, "created_at": utc_now(),
                                             "revoked_at": None})

    def set_key_hash(self, table: str, principal_id: int, key_hash: str | None) -> bool:
        if table not in PRINCIPAL_TABLES:
            raise ValueError(table)
        with self.transaction():
            if int(principal_id) not in self._table(table):
                return False
            row = self._remove(table, int(principal_id))
            row.update(key_hash=key_hash, revoked_at=None if key_hash else utc_now())
            self._insert(table, row, row["id"])
            return True

    def set_retailer_domains(self, retailer_id: int, domains: list[str]) -> None:
        with self.transaction():
            row = self._table("retailers").get(int(retailer_id))
            if row is not None:
                row["domains"] = sorted(set(domains))

    def principal_by_id(self, table: str, principal_id: int) -> dict | None:
        if table not in PRINCIPAL_TABLES:
            raise ValueError(table)
        row = self._table(table).get(int(principal_id)) if valid_id(principal_id) else None
        return copy.deepcopy(row)

    def get_retailer(self, retailer_id: int) -> dict | None:
        return self.principal_by_id("retailers", retailer_id)

    def list_retailers(self) -> list[dict]:
        return [copy.deepcopy(r) for r in self._sorted("retailers")]

    def list_analysts(self) -> list[dict]:
        return [copy.deepcopy(r) for r in self._sorted("analysts")]

    # --------------------------------------------------------------------------- people
    def _set(self, table: str, row_id: int, changes: dict) -> None:
        row = self._remove(table, row_id)
        row.update(changes)
        self._insert(table, row, row_id)

    def _of(self, table: str, retailer_id: int | None, analyst_id: int | None) -> list[dict]:
        column, value = ("retailer_id", retailer_id) if retailer_id is not None else ("analyst_id", analyst_id)
        return [dict(r) for r in self._sorted(table) if r[column] == int(value)]

    def create_user(self, email: str, role: str, retailer_id: int | None, analyst_id: int | None) -> int:
        if role not in ("owner", "editor", "viewer") or (retailer_id is None) == (analyst_id is None):
            raise ValueError("a person has one role and one organisation")
        with self.transaction():
            return self._insert("users", {"email": email.lower(), "role": role, "retailer_id": retailer_id,
                                          "analyst_id": analyst_id, "created_at": utc_now()})

    def get_user(self, user_id: int) -> dict | None:
        row = self._table("users").get(int(user_id)) if valid_id(user_id) else None
        return None if row is None else dict(row)

    def user_by_email(self, email: str) -> dict | None:
        row_id = self._db.keys[("users", ("email",))].get((email.lower(),))
        return None if row_id is None else self.get_user(row_id)

    def users_of(self, retailer_id: int | None = None, analyst_id: int | None = None) -> list[dict]:
        return self._of("users", retailer_id, analyst_id)

    def update_user(self, user_id: int, changes: dict) -> bool:
        changes = {k: v for k, v in changes.items() if k in USER_CHANGES}
        with self.transaction():
            if self.get_user(user_id) is None:
                return False
            self._set("users", int(user_id), changes)
            return True

    def add_setup_token(self, user_id: int, token_hash: str, valid_until: int) -> int:
        with self.transaction():
            return self._insert("setup_tokens", {"user_id": int(user_id), "token_hash": token_hash,
                                                 "created_at": utc_now(), "valid_until": int(valid_until)})

    def setup_token(self, token_hash: str) -> dict | None:
        row_id = self._db.keys[("setup_tokens", ("token_hash",))].get((token_hash,))
        return None if row_id is None else dict(self._table("setup_tokens")[row_id])

    def use_setup_token(self, token_id: int) -> bool:
        with self.transaction():
            row = self._table("setup_tokens").get(int(token_id))
            if row is None or row["used_at"]:
                return False
            row["used_at"] = utc_now()
            return True

    def create_api_key(self, retailer_id: int | None, analyst_id: int | None, name: str, role: str,
                       key_hash: str, created_by: str | None) -> int:
        with self.transaction():
            return self._insert("api_keys", {"retailer_id": retailer_id, "analyst_id": analyst_id, "name": name,
                                             "role": role, "key_hash": key_hash, "created_at": utc_now(),
                                             "created_by": created_by})

    def set_api_key_hash(self, key_id: int, key_hash: str) -> None:
        with self.transaction():
            if int(key_id) in self._table("api_keys"):
                self._set("api_keys", int(key_id), {"key_hash": key_hash})

    def api_key(self, key_id: int) -> dict | None:
        row = self._table("api_keys").get(int(key_id)) if valid_id(key_id) else None
        return None if row is None else dict(row)

    def api_keys_of(self, retailer_id: int | None = None, analyst_id: int | None = None) -> list[dict]:
        return self._of("api_keys", retailer_id, analyst_id)

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        with self.transaction():
            row = self._table("api_keys").get(int(key_id))
            if row is None or row["revoked_at"]:
                return False
            row["revoked_at"] = at
            return True

    def touch_api_key(self, key_id: int, at: str) -> None:
        with self.transaction():
            row = self._table("api_keys").get(int(key_id))
            if row is not None:
                row["last_used_at"] = at

    def count_sign_in_failure(self, key: str, now: int, window_s: int) -> int:
        with self.transaction():
            row = self._db.failures.setdefault(key, {"failures": 0, "window_start": int(now), "locked_until": 0})
            if row["window_start"] <= int(now) - int(window_s):
                row.update(failures=0, window_start=int(now))
            row["failures"] += 1
            return row["failures"]

    def lock_sign_in(self, key: str, until: int) -> None:
        with self.transaction():
            if key in self._db.failures:
                self._db.failures[key].update(locked_until=int(until), failures=0, window_start=0)

    def sign_in_lock(self, key: str) -> int:
        return self._db.failures.get(key, {}).get("locked_until", 0)

    def clear_sign_in_failures(self, key: str) -> None:
        with self.transaction():
            self._db.failures.pop(key, None)
