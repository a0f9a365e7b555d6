"""The point of the campaign: a QR scan in a store sends the shopper to the brand's online shop,
and the sale is credited to that store.

A scan is recorded before the redirect is answered (one short transaction), so every 302 has
its row even if the process dies the moment after. Clients are told apart by a salted hash of
their address and browser: the raw IP address is never stored. A client scanning the same store
again within 30 minutes, and bots, are recorded but not counted.
"""

from __future__ import annotations

import functools
import hashlib
import re
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .validation import check_online_url

DEDUP_WINDOW_S = 30 * 60
CAMPAIGN = {"utm_source": "o2o", "utm_medium": "qr", "utm_campaign": "double11-2026"}


class UnsafeRedirect(ValueError):
    """The store's online link is not on its retailer's domains: refuse to send anyone there."""


# The clear cases, decided in a microsecond; anything else goes to the full parser (ua-parser's
# regex database, ~0.5 ms a string, so it is cached). Bots first: many claim to be browsers too.
_BOT = re.compile(r"bot\b|bot/|crawl|spider|slurp|curl/|wget/|python-|python/|httpclient|java/|go-http|"
                  r"headless|scrapy|okhttp|axios|node-fetch|libwww|monitor|preview", re.I)
_PHONE = re.compile(r"iPhone|iPad|iPod|Android|Mobile|MicroMessenger|AlipayClient|HarmonyOS|Windows Phone", re.I)
_DESKTOP = re.compile(r"Windows NT|Macintosh|X11; (Linux|Ubuntu|Fedora)|CrOS", re.I)


def client_kind(user_agent: str | None) -> str:
    """``phone``, ``desktop`` or ``bot`` from a User-Agent (tools such as curl count as bots)."""
    if not user_agent or not user_agent.strip():
        return "bot"
    user_agent = user_agent[:512]
    if _BOT.search(user_agent):
        return "bot"
    if _PHONE.search(user_agent):
        return "phone"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return _parsed_kind(user_agent)


@functools.lru_cache(maxsize=4096)
def _parsed_kind(user_agent: str) -> str:
    from user_agents import parse as parse_ua  # ~90 ms to import: only when a User-Agent is unusual

    ua = parse_ua(user_agent)
    if ua.is_bot:
        return "bot"
    if ua.is_mobile or ua.is_tablet:
        return "phone"
    if ua.is_pc:
        return "desktop"
    return "bot"


def client_hash(secret: str, address: str | None, user_agent: str | None) -> str:
    """A salted, keyed hash of the client (address + browser): stable for de-duplication only."""
    msg = f"{address or ''}|{user_agent or ''}".encode("utf-8", "replace")
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()[:32]


def redirect_url(store: dict, domains: list[str] | tuple[str, ...], url: str | None = None) -> str:
    """The store's online_url (or ``url``: a product's page) with ``o2o_store`` and campaign
    parameters added, its own query kept.

    Raises :class:`UnsafeRedirect` unless the URL is https on one of the retailer's domains.
    """
    url = url or store.get("online_url")
    if not url:
        raise UnsafeRedirect("the store has no online shop link")
    reason = check_online_url(url, domains)
    if reason:
        raise UnsafeRedirect(reason)
    parts = urlsplit(url)
    own = parse_qsl(parts.query, keep_blank_values=True)
    own_keys = {k for k, _ in own}
    query = [(k, v) for k, v in own if k != "o2o_store"] + [("o2o_store", str(store["id"]))]
    query += [(k, v) for k, v in CAMPAIGN.items() if k not in own_keys]  # the retailer's own win
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


class StoreClosed(Exception):
    """The store has closed: no redirect, no scan."""

    def __init__(self, store: dict):
        super().__init__(f"{store['name']} has closed; find another store at /")
        self.store = store


class UnknownProduct(LookupError):
    """``/go/{store}?product=`` names no product of the store's retailer."""


def record(repo, store_id: int, user_agent: str | None, address: str | None, secret: str,
           scanned_at: int, product_id: int | None = None, spool=None) -> str:
    """A shopper scanned a store's QR code: record the scan and return where to send them.

    The redirect is worked out from a read; the scan is one short write that itself checks the
    store is still open (a store closed in between gets no row and no redirect), so the 302 that
    follows always has its row, and SQLite's write lock is held for microseconds. Raises
    :class:`~o2o.services.registry.NotFound` (no such store), :class:`StoreClosed` and
    :class:`UnsafeRedirect` (nothing recorded then).

    With ``product_id`` (a product of the store's retailer, else :class:`UnknownProduct`), the scan
    is recorded with the product and the shopper lands on the product's page (the store's shop
    when the product has no link of its own).

    With ``spool`` (a :class:`~o2o.services.spool.ScanSpool`), a scan the database cannot take
    (:class:`~o2o.storage.errors.Unavailable`: unreachable, or locked too long) is kept there and the
    shopper is still sent on (the store and its retailer read from memory then, see
    :mod:`o2o.services.memory_reads`); the spool stores it once when the database is back."""
    from ..storage.errors import Unavailable
    from .registry import NotFound

    store = repo.get_store(store_id)
    if store is None:
        raise NotFound(f"no store with id {store_id}")
    if store["status"] != "open":
        raise StoreClosed(store)
    retailer = repo.get_retailer(store["retailer_id"]) or {"domains": []}
    kind, who = client_kind(user_agent), client_hash(secret, address, user_agent)
    target = None
    try:
        if product_id is None:
            target = redirect_url(store, retailer["domains"])
            counted = repo.record_scan(store, scanned_at, kind, who, DEDUP_WINDOW_S)
        else:
            product = repo.get_product(product_id)
            if product is None or product["retailer_id"] != store["retailer_id"]:
                raise UnknownProduct(f"no product with id {product_id} in this store's catalogue")
            target = redirect_url(store, retailer["domains"], product.get("online_url"))
            counted = repo.record_product_scan(store, product["id"], scanned_at, kind, who, DEDUP_WINDOW_S)
    except Unavailable:
        if spool is None:
            raise
        if target is None:  # the product could not be read: the store's shop
            target = redirect_url(store, retailer["domains"])
        spool.keep(store["id"], scanned_at, kind, who, product_id)  # full: redirected all the same, counted
        return target
    if counted is None:
        raise StoreClosed(store)
    return target
