"""API keys of retailers and analysts: made once, stored only as a hash, checked in constant time.

A key reads ``o2o_r_<id>_<secret>`` (retailer) or ``o2o_a_<id>_<secret>`` (analyst); the secret is
256 random bits. Because keys are random, not chosen by people, a SHA-256 hash is enough to
store them (no slow password hash is needed), and the id in the key finds the row without a
search, so the only comparison made is one ``hmac.compare_digest`` of two hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..storage.base import StoreRepository

KINDS = {"r": "retailers", "a": "analysts"}
PRIMARY_KEY = "primary key"  # the actor recorded for changes made with the organisation's first key
ROLE_RANK = {"viewer": 0, "editor": 1, "owner": 2}
_KEY = re.compile(r"^o2o_([ra])_(\d{1,12})_([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class Principal:
    kind: str          # "retailer" or "analyst"
    id: int
    name: str
    domains: tuple[str, ...] = ()
    key_fingerprint: str = ""   # ties a web session to the key it signed in with
    role: str = "owner"         # viewer, editor or owner (o2o.services.people); the primary key: owner
    actor: str = PRIMARY_KEY    # who a change is recorded as: a person's e-mail or a key's name
    user_id: int | None = None  # a person signed in (o2o.services.people)
    key_id: int | None = None   # a named API key

    def can(self, role: str) -> bool:
        """Whether this caller's role includes ``role`` (viewer < editor < owner)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key(kind: str, principal_id: int) -> str:
    return f"o2o_{kind}_{principal_id}_{secrets.token_urlsafe(32)}"


def normalise_domain(host: str) -> str:
    """A bare lower-case host name: ``https://Shop.Tmall.com/x`` → ``shop.tmall.com``."""
    host = host.strip().lower()
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].split(":", 1)[0].rstrip(".")
    if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", host):
        raise ValueError(f"{host!r} is not a host name")
    return host


def create_retailer(repo: StoreRepository, name: str, domains: list[str]) -> tuple[int, str]:
    """A new retailer and its key (returned once; only its hash is kept), in one transaction.

    A name already taken raises :class:`~o2o.storage.errors.Conflict`."""
    name = name.strip()
    if not name:
        raise ValueError("the name must not be empty")
    clean = [normalise_domain(d) for d in domains]
    if not clean:
        raise ValueError("give at least one --domain")
    with repo.transaction():  # a retailer is never left without its key
        retailer_id = repo.create_retailer(name, clean)
        return retailer_id, rotate_key(repo, "r", retailer_id)


def create_analyst(repo: StoreRepository, name: str) -> tuple[int, str]:
    if not name.strip():
        raise ValueError("the name must not be empty")
    placeholder = hash_key(secrets.token_hex(16))
    with repo.transaction():
        analyst_id = repo.create_analyst(name.strip(), placeholder)
        return analyst_id, rotate_key(repo, "a", analyst_id)


def rotate_key(repo: StoreRepository, kind: str, principal_id: int) -> str:
    """A new key for the principal; the old one stops working at once."""
    key = new_key(kind, principal_id)
    if not repo.set_key_hash(KINDS[kind], principal_id, hash_key(key)):
        raise LookupError(f"no {KINDS[kind][:-1]} with id {principal_id}")
    return key


def revoke_key(repo: StoreRepository, kind: str, principal_id: int) -> None:
    if not repo.set_key_hash(KINDS[kind], principal_id, None):
        raise LookupError(f"no {KINDS[kind][:-1]} with id {principal_id}")


def authenticate(repo: StoreRepository, key: str | None) -> Principal | None:
    """The retailer or analyst a key belongs to, or None (malformed, unknown, revoked).

    Besides the organisation's primary key (``o2o_r_…``, ``o2o_a_…``), a named key made by an
    owner (``o2o_k_…``, :mod:`o2o.services.people`) acts for it with that key's role."""
    if not key:
        return None
    if key.strip().startswith("o2o_k_"):
        from .people import authenticate_key

        return authenticate_key(repo, key)
    match = _KEY.match(key.strip())
    if not match:
        hmac.compare_digest(hash_key(key), hash_key("o2o"))  # same work either way
        return None
    kind, principal_id = match[1], int(match[2])
    row = repo.principal_by_id(KINDS[kind], principal_id)
    stored = (row or {}).get("key_hash") or ""
    given = hash_key(key.strip())
    if not hmac.compare_digest(given, stored.ljust(len(given), "0")) or not row or not stored:
        return None
    return Principal(kind="retailer" if kind == "r" else "analyst", id=principal_id, name=row["name"],
                     domains=tuple(row.get("domains") or ()), key_fingerprint=given[:16])
