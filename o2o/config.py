"""Settings from ``O2O_*`` environment variables, overridable by a mapping given to create_app."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULTS = {
    "DATABASE_URL": "sqlite:///instance/o2o.db",
    "READ_DATABASE_URL": None,  # a read replica for the public reads (see o2o/storage/replica.py)
    "SEED_STORES": 30_000,
    "SEED_SCANS": 200_000,
    "SEED_PRODUCTS": "auto",    # each brand's products and every store's stock: true, false, or auto (5,000+ stores)
    "SECRET_KEY": None,
    "TILES": DEFAULT_TILES,
    "TILES_CRS": None,          # wgs84 or gcj02; guessed from TILES when unset
    "TILES_ATTRIBUTION": None,
    "PUBLIC_URL": None,
    "SITEMAP_URLS_PER_FILE": 50_000,  # /sitemap.xml becomes an index of parts past this (the protocol's limit)
    "RANDOM_SEED": 1111,
    "MAX_UPLOAD_MB": 20,
    "RATELIMIT_STORAGE": None,  # memory:// per process, or redis://…
    "SCANS_PER_MINUTE": 30,     # per client (address + browser) on /go
    "DB_BUSY_TIMEOUT_MS": 5000,  # SQLite: how long a write waits for another writer before a 503
    "WRITES_PER_MINUTE": 600,   # per retailer: POST/PATCH/DELETE of stores and imports; 0 = no limit
    "SIGN_INS_PER_MINUTE": 10,  # sign-in attempts a minute per address (offices behind one NAT: raise it)
    # Argon2id for people's passwords (o2o/services/people.py): OWASP's minimum, ~25 ms a hash here.
    "PASSWORD_MEMORY_KIB": 19_456,
    "PASSWORD_TIME_COST": 2,
    "PASSWORD_PARALLELISM": 1,
    # Shoppers' searches (o2o/services/search_log.py): kept this many days (0: not kept at all),
    # and how many demo searches the seed adds.
    "DEMAND_RETENTION_DAYS": 365,
    "SEED_SEARCHES": 100_000,
    # Operations (o2o/web/observability.py): who may read GET /metrics, and JSON logs on stderr.
    "METRICS_TOKEN": None,      # Authorization: Bearer <token>
    "METRICS_ALLOW": None,      # comma-separated addresses / CIDR blocks, e.g. 127.0.0.1,10.0.0.0/8
    "JSON_LOGS": False,         # one JSON line per request (and gunicorn's own lines as JSON)
    "FAST_NEARBY": True,        # plain nearby searches answered below Flask (o2o/web/fastpath.py)
    "METRICS": True,            # false: no request hooks at all (no metrics, request ids or request log)
}
_INTS = {"SEED_STORES", "SEED_SCANS", "RANDOM_SEED", "MAX_UPLOAD_MB", "SCANS_PER_MINUTE", "DB_BUSY_TIMEOUT_MS",
         "WRITES_PER_MINUTE", "PASSWORD_MEMORY_KIB", "SITEMAP_URLS_PER_FILE", "PASSWORD_TIME_COST", "PASSWORD_PARALLELISM",
         "DEMAND_RETENTION_DAYS", "SEED_SEARCHES", "SIGN_INS_PER_MINUTE"}
GCJ02_TILE_HOSTS = ("autonavi.com", "amap.com", "gtimg.com", "qq.com")


class ConfigError(ValueError):
    """A setting with a value the app cannot use."""


def load(overrides: dict | None = None, environ=os.environ) -> dict:
    """Effective settings: defaults ← ``O2O_NAME`` environment variables ← ``overrides``."""
    cfg = dict(DEFAULTS)
    for name in DEFAULTS:
        value = environ.get(f"O2O_{name}")
        if value is not None and value != "":
            cfg[name] = value
    for name, value in (overrides or {}).items():
        cfg[name[4:] if name.startswith("O2O_") else name] = value
    for name in _INTS:
        try:
            cfg[name] = int(cfg[name])
        except (TypeError, ValueError):
            raise ConfigError(f"O2O_{name} must be a whole number, not {cfg[name]!r}") from None
        if cfg[name] < 0:
            raise ConfigError(f"O2O_{name} must not be negative")
    cfg["JSON_LOGS"] = _flag("JSON_LOGS", cfg["JSON_LOGS"])
    cfg["METRICS"] = _flag("METRICS", cfg["METRICS"])
    cfg["FAST_NEARBY"] = _flag("FAST_NEARBY", cfg["FAST_NEARBY"])
    if cfg["METRICS_ALLOW"]:
        networks(cfg["METRICS_ALLOW"])  # a bad entry stops the start, naming it
    if cfg["TILES_CRS"] is None:
        tiles = str(cfg["TILES"]).lower()
        cfg["TILES_CRS"] = "gcj02" if any(h in tiles for h in GCJ02_TILE_HOSTS) else "wgs84"
    if str(cfg["TILES"]).lower() == "none":
        cfg["TILES"] = "none"
    return cfg


def networks(value) -> tuple:
    """``"10.0.0.0/8, 127.0.0.1"`` (or a list) → IP networks, for ``O2O_METRICS_ALLOW``."""
    import ipaddress

    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"O2O_METRICS_ALLOW: {item!r} is not an IP address or CIDR block") from None
    return tuple(out)


def _flag(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"O2O_{name} must be 1 or 0 (true or false), not {value!r}")


def secret_key(instance_dir: str | Path) -> str:
    """The key kept in ``instance/secret_key``, generated on first use (readable by us only).

    Processes starting together (gunicorn's workers, a command in another terminal) agree on one
    key: the file appears whole or not at all (written aside, then linked into place), so nobody
    reads it empty halfway through its writing.
    """
    path = Path(instance_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # fails if another process was first: use theirs
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_text().strip()
