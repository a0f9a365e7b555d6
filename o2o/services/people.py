"""Staff accounts: people of a retailer (or an analysts' organisation) with an e-mail, a password and
a role, their one-time set-up links, signing in with a lock-out, and the organisation's named API keys.

Roles, each including the one below: ``viewer`` reads; ``editor`` also registers, changes, closes
and imports stores; ``owner`` also invites people, changes their roles, disables them and manages
the API keys.

Passwords are hashed with Argon2id (argon2-cffi), which is memory-hard: by default 19 MiB, 2
passes, 1 lane (OWASP's recommended minimum; ``O2O_PASSWORD_MEMORY_KIB``, ``O2O_PASSWORD_TIME_COST``
and ``O2O_PASSWORD_PARALLELISM`` raise it; a hash made with other parameters is upgraded at the next
sign-in). Set-up links carry 256 random bits, of which only a SHA-256 hash is stored (like API keys,
they are random, so a fast hash suffices); they last 72 hours and work once.

Every function takes the repository and plain values, as the other services do; the web layer and
the ``flask user`` command call the same ones.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..storage.base import StoreRepository
from ..storage.errors import Conflict
from .accounts import Principal, hash_key

ROLES = ("viewer", "editor", "owner")
ANALYST_ROLES = ("viewer", "owner")       # analysts only read: an editor would be a viewer
KEY_ROLES = ("viewer", "editor")          # a script's key never manages people or keys
SETUP_LINK_TTL_S = 72 * 3600
MIN_PASSWORD = 10
MAX_PASSWORD = 200                        # longer proves nothing and costs hashing time
MAX_FAILURES = 5                          # wrong passwords per account …
FAILURE_WINDOW_S = 15 * 60                # … within this window lock it …
LOCK_S = 15 * 60                          # … for this long
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?)+$")
_SETUP_PATH = "/account/setup/"
_KEY = re.compile(r"^o2o_k_(\d{1,12})_([A-Za-z0-9_-]{20,100})$")


def make_hasher(memory_kib: int = 19_456, time_cost: int = 2, parallelism: int = 1) -> PasswordHasher:
    """The Argon2id hasher (see the module's description for the defaults)."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


DEFAULT_HASHER = make_hasher()


class PeopleError(Exception):
    """A request about people that cannot be done; ``code`` names why, ``field`` the input at fault."""

    code = "invalid"
    status = 400

    def __init__(self, code: str, field: str | None = None, status: int | None = None, **details):
        super().__init__(code)
        self.code, self.field, self.details = code, field, details
        if status is not None:
            self.status = status


class PasswordRejected(PeopleError):
    """codes: too_short, too_long, common, like_email, mismatch."""


class LinkUnusable(PeopleError):
    """A set-up link that is unknown (404), used or expired (410)."""


class SignInFailed(PeopleError):
    """Wrong e-mail or password (the same answer for an unknown e-mail), or ``locked``."""

    status = 401


@dataclass(frozen=True)
class Organisation:
    """Whose people and keys: a retailer or an analysts' organisation."""

    kind: str   # "retailer" or "analyst"
    id: int

    @property
    def columns(self) -> tuple[int | None, int | None]:
        return (self.id, None) if self.kind == "retailer" else (None, self.id)

    def roles(self) -> tuple[str, ...]:
        return ROLES if self.kind == "retailer" else ANALYST_ROLES


def of(user_or_key: dict) -> Organisation:
    if user_or_key.get("retailer_id"):
        return Organisation("retailer", int(user_or_key["retailer_id"]))
    return Organisation("analyst", int(user_or_key["analyst_id"]))


# ----------------------------------------------------------------------------- passwords
@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_password(password: str, email: str, password2: str | None = None) -> None:
    """Raise :class:`PasswordRejected` unless the password is acceptable for ``email``."""
    field = "password"
    if len(password) < MIN_PASSWORD:
        raise PasswordRejected("too_short", field, minimum=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise PasswordRejected("too_long", field, maximum=MAX_PASSWORD)
    folded = password.strip().lower()
    if folded in common_passwords() or len(set(folded)) <= 2:
        raise PasswordRejected("common", field)
    local = email.lower().split("@", 1)[0]
    if folded == email.lower() or (len(local) >= 4 and local in folded):
        raise PasswordRejected("like_email", field)
    if password2 is not None and not hmac.compare_digest(password.encode(), password2.encode()):
        raise PasswordRejected("mismatch", "password2")


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    return hasher.hash(password)


def _verify(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def fingerprint(password_hash: str | None) -> str:
    """Ties a web session to the password it signed in with: a new password ends the others."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- people
def normalise_email(email: str) -> str:
    email = (email or "").strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise PeopleError("bad_email", "email")
    return email.lower()


def invite(repo: StoreRepository, email: str, org: Organisation, role: str,
           now: float | None = None) -> tuple[int, str]:
    """A new person (no password yet) and their one-time set-up path ``/account/setup/TOKEN``.

    Inviting an e-mail that was invited but never set a password sends a fresh link (the role may
    change); an e-mail already in use otherwise is a :class:`PeopleError` ``email_taken`` (409)."""
    email = normalise_email(email)
    if role not in org.roles():
        raise PeopleError("bad_role", "role", roles=org.roles())
    with repo.transaction():
        existing = repo.user_by_email(email)
        if existing is not None:
            if existing["password_hash"] or of(existing) != org:
                raise PeopleError("email_taken", "email", status=409)
            repo.update_user(existing["id"], {"role": role})
            user_id = existing["id"]
        else:
            retailer_id, analyst_id = org.columns
            try:
                user_id = repo.create_user(email, role, retailer_id, analyst_id)
            except Conflict:
                raise PeopleError("email_taken", "email", status=409) from None
        return user_id, setup_link(repo, user_id, now)


def setup_link(repo: StoreRepository, user_id: int, now: float | None = None) -> str:
    """A new set-up link for a person (valid 72 h, once); the path to give them."""
    token = secrets.token_urlsafe(32)
    now = time.time() if now is None else now
    repo.add_setup_token(user_id, hash_key(token), int(now) + SETUP_LINK_TTL_S)
    return _SETUP_PATH + token


def link_user(repo: StoreRepository, token: str, now: float | None = None) -> tuple[dict, dict]:
    """The person a set-up link is for, and the link's row; :class:`LinkUnusable` otherwise."""
    now = time.time() if now is None else now
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,100}", token or ""):
        raise LinkUnusable("unknown", "token", status=404)
    row = repo.setup_token(hash_key(token))
    if row is None:
        raise LinkUnusable("unknown", "token", status=404)
    if row["used_at"]:
        raise LinkUnusable("used", "token", status=410)
    if row["valid_until"] <= now:
        raise LinkUnusable("expired", "token", status=410)
    user = repo.get_user(row["user_id"])
    if user is None or user["disabled_at"]:
        raise LinkUnusable("unknown", "token", status=404)
    return user, row


def complete_setup(repo: StoreRepository, token: str, password: str, password2: str,
                   hasher: PasswordHasher = DEFAULT_HASHER, now: float | None = None) -> dict:
    """Set the password of a set-up link's person; the link is used up. Returns the person."""
    user, _ = link_user(repo, token, now)
    check_password(password, user["email"], password2)
    hashed = hash_password(password, hasher)  # before the transaction: it takes tens of ms
    with repo.transaction():
        user, row = link_user(repo, token, now)
        if not repo.use_setup_token(row["id"]):  # someone else used it a moment ago
            raise LinkUnusable("used", "token", status=410)
        repo.update_user(user["id"], {"password_hash": hashed})
    return repo.get_user(user["id"])


def _lock_key(email: str) -> str:
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def sign_in(repo: StoreRepository, email: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER,
            now: float | None = None) -> dict:
    """The person with this e-mail and password, their sign-in recorded; else :class:`SignInFailed`.

    An unknown e-mail costs the same hash and gets the same answer as a wrong password, and counts
    towards a lock-out the same way, so neither the answer nor its time tells whether an account
    exists. ``MAX_FAILURES`` wrong passwords within ``FAILURE_WINDOW_S`` lock the e-mail for ``LOCK_S``
    (``code`` ``locked``, ``retry_s``); a right password during the lock is refused too."""
    now = time.time() if now is None else now
    key = _lock_key(email or "")
    locked_until = repo.sign_in_lock(key)
    if locked_until > now:
        raise SignInFailed("locked", "email", status=429, retry_s=int(locked_until - now) + 1)
    user = repo.user_by_email((email or "").strip().lower()) if len(email or "") <= 254 else None
    stored = user["password_hash"] if user else None
    ok = _verify(hasher, stored or _dummy_hash(hasher), (password or "")[:MAX_PASSWORD]) and bool(stored)
    if not ok or user["disabled_at"]:
        failures = repo.count_sign_in_failure(key, int(now), FAILURE_WINDOW_S)
        if failures >= MAX_FAILURES:
            repo.lock_sign_in(key, int(now) + LOCK_S)
            raise SignInFailed("locked", "email", status=429, retry_s=LOCK_S)
        raise SignInFailed("wrong", "email", remaining=MAX_FAILURES - failures)
    changes = {"last_sign_in_at": _iso(now)}
    if hasher.check_needs_rehash(stored):
        changes["password_hash"] = hash_password(password, hasher)
    repo.clear_sign_in_failures(key)
    repo.update_user(user["id"], changes)
    return repo.get_user(user["id"])


def change_password(repo: StoreRepository, user_id: int, current: str, new: str, new2: str,
                    hasher: PasswordHasher = DEFAULT_HASHER) -> dict:
    """A new password for a signed-in person who knows the current one."""
    user = repo.get_user(user_id)
    if user is None or not _verify(hasher, user["password_hash"], current or ""):
        raise PasswordRejected("wrong_current", "current_password", status=403)
    check_password(new, user["email"], new2)
    if _verify(hasher, user["password_hash"], new):
        raise PasswordRejected("unchanged", "password")
    repo.update_user(user_id, {"password_hash": hash_password(new, hasher)})
    return repo.get_user(user_id)


def principal_for(repo: StoreRepository, user: dict) -> Principal | None:
    """The retailer or analyst a person acts for, as a :class:`Principal` with their role."""
    org = of(user)
    row = repo.principal_by_id("retailers" if org.kind == "retailer" else "analysts", org.id)
    if row is None or user["disabled_at"]:
        return None
    return Principal(kind=org.kind, id=org.id, name=row["name"], domains=tuple(row.get("domains") or ()),
                     role=user["role"], actor=user["email"], user_id=user["id"])


def people(repo: StoreRepository, org: Organisation) -> list[dict]:
    """Everyone of an organisation, without password hashes: id, email, role, created_at,
    last_sign_in_at, disabled (bool), pending (invited, no password yet)."""
    return [_public_user(u) for u in repo.users_of(*org.columns)]


def _public_user(user: dict) -> dict:
    return {"id": user["id"], "email": user["email"], "role": user["role"], "created_at": user["created_at"],
            "last_sign_in_at": user["last_sign_in_at"], "disabled": bool(user["disabled_at"]),
            "pending": not user["password_hash"]}


def _member(repo: StoreRepository, org: Organisation, user_id: int) -> dict:
    user = repo.get_user(user_id)
    if user is None or of(user) != org:
        raise PeopleError("unknown_user", "id", status=404)
    return user


def _keeps_an_owner(repo: StoreRepository, org: Organisation, user: dict, role: str, disabled: bool) -> None:
    """Refuse to leave the organisation without an active owner (``last_owner``, 409)."""
    if user["role"] != "owner" or (role == "owner" and not disabled):
        return
    others = [u for u in repo.users_of(*org.columns)
              if u["role"] == "owner" and not u["disabled_at"] and u["id"] != user["id"]]
    if not others:
        raise PeopleError("last_owner", "role", status=409)


def change_person(repo: StoreRepository, org: Organisation, user_id: int, role: str | None = None,
                  disabled: bool | None = None, now: float | None = None) -> dict:
    """An owner changes someone's role or disables (or re-enables) them; a disabled person's
    sessions stop at their next request. The last active owner stays one."""
    if role is not None and role not in org.roles():
        raise PeopleError("bad_role", "role", roles=org.roles())
    with repo.transaction():
        user = _member(repo, org, user_id)
        new_role = role or user["role"]
        new_disabled = bool(user["disabled_at"]) if disabled is None else disabled
        _keeps_an_owner(repo, org, user, new_role, new_disabled)
        changes = {"role": new_role}
        if disabled is not None:
            changes["disabled_at"] = _iso(time.time() if now is None else now) if disabled else None
        repo.update_user(user_id, changes)
        return _public_user(repo.get_user(user_id))


# ----------------------------------------------------------------------------- named API keys
def create_key(repo: StoreRepository, org: Organisation, name: str, role: str, created_by: str) -> tuple[dict, str]:
    """A named key for scripts (shown once: only its hash is kept); returns (its listing, the key)."""
    name = (name or "").strip()
    if not name or len(name) > 60 or any(ord(c) < 32 for c in name):
        raise PeopleError("bad_key_name", "name")
    if role not in KEY_ROLES:
        raise PeopleError("bad_role", "role", roles=KEY_ROLES)
    placeholder = hash_key(secrets.token_hex(16))
    with repo.transaction():
        if any(k["name"] == name and not k["revoked_at"] for k in repo.api_keys_of(*org.columns)):
            raise PeopleError("key_name_taken", "name", status=409)
        key_id = repo.create_api_key(*org.columns, name, role, placeholder, created_by)
        key = f"o2o_k_{key_id}_{secrets.token_urlsafe(32)}"
        repo.set_api_key_hash(key_id, hash_key(key))
        return _public_key(repo.api_key(key_id)), key


def keys(repo: StoreRepository, org: Organisation) -> list[dict]:
    """The organisation's named keys, revoked ones too: id, name, role, created_at, created_by,
    last_used_at, revoked_at."""
    return [_public_key(k) for k in repo.api_keys_of(*org.columns)]


def _public_key(row: dict) -> dict:
    return {k: row[k] for k in ("id", "name", "role", "created_at", "created_by", "last_used_at", "revoked_at")}


def revoke_key(repo: StoreRepository, org: Organisation, key_id: int) -> dict:
    with repo.transaction():
        row = repo.api_key(key_id)
        if row is None or of(row) != org:
            raise PeopleError("unknown_key", "id", status=404)
        repo.revoke_api_key(key_id, _iso(time.time()))
        return _public_key(repo.api_key(key_id))


def authenticate_key(repo: StoreRepository, key: str) -> Principal | None:
    """The organisation a named key (``o2o_k_<id>_<secret>``) acts for, or None; notes its use
    (at most once a minute, so a busy script does not write on every request)."""
    match = _KEY.match(key.strip())
    if not match:
        return None
    row = repo.api_key(int(match[1]))
    given = hash_key(key.strip())
    stored = (row or {}).get("key_hash") or ""
    if not hmac.compare_digest(given, stored.ljust(len(given), "0")) or not row or row["revoked_at"]:
        return None
    org = of(row)
    owner = repo.principal_by_id("retailers" if org.kind == "retailer" else "analysts", org.id)
    if owner is None:
        return None
    now = _iso(time.time())
    if (row["last_used_at"] or "")[:16] != now[:16]:
        repo.touch_api_key(row["id"], now)
    return Principal(kind=org.kind, id=org.id, name=owner["name"], domains=tuple(owner.get("domains") or ()),
                     key_fingerprint=given[:16], role=row["role"], actor=row["name"], key_id=row["id"])


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
