"""The app's Prometheus metrics: defined once per process, exposed by ``GET /metrics``.

Under gunicorn every worker is a process of its own, so the metrics run in prometheus_client's
multiprocess mode: each process writes its values to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered by any one worker, adds up the files of all of
them (``gunicorn.conf.py`` makes that directory and tells the library when a worker dies). Without
that variable (``flask run``, the tests, a ``flask`` command) the values live in this process only.

The variable is read when :mod:`prometheus_client` is first imported, so it must be set before
this module is: gunicorn's config file runs before the app is loaded.

What is measured, and what it costs a request:

- one histogram observation per request (endpoint, method, status class), which carries both the
  request rate (its ``_count``) and the latency; a counter more only for an error answer;
- the state of the process's indexes and database pool, sampled at most once a second by the
  request hook and at every scrape, never by a query of its own (it must keep answering while the
  database is down);
- scans and imported rows, counted where they happen.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Single-process mode: this registry holds the metrics (not the library's global one, which a test
# run would share with everything else imported). Multiprocess mode: the values go to the files,
# and a scrape reads them through a registry made for it.
REGISTRY = CollectorRegistry(auto_describe=True)

# From 2.5 ms (a cached nearby) to 10 s (an import of 200,000 rows).
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Histogram(
    "o2o_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint, method and status class (its _count is the request count).",
    ("endpoint", "method", "status"), buckets=LATENCY_BUCKETS, registry=REGISTRY)
ERRORS = Counter(
    "o2o_http_errors",
    "Answers with a 4xx or 5xx status, by Flask endpoint and exact status.",
    ("endpoint", "status"), registry=REGISTRY)


def _gauge(name: str, documentation: str, multiprocess_mode: str = "liveall") -> Gauge:
    """A gauge of this registry; ``multiprocess_mode`` says how a scrape joins the workers' values."""
    return Gauge(name, documentation, registry=REGISTRY, multiprocess_mode=multiprocess_mode)


# Per process ("liveall": a series per live worker, labelled with its pid): the dashboard takes the
# min / max over workers.
INDEX_REVISION = _gauge("o2o_index_revision", "Database revision the process's store index reflects.")
INDEX_CHECKED = _gauge(
    "o2o_index_checked_timestamp_seconds",
    "Unix time the process last learned its store index was current (a revision check or a change notice).")
INDEX_LAG = _gauge(
    "o2o_index_lag_seconds",
    "How stale the process's store index may be, in seconds, at the time of sampling.")
INDEX_STORES = _gauge("o2o_index_stores", "Open stores in the process's spatial index.")
INDEX_RELOADS = _gauge("o2o_index_generation", "Full reloads of the process's store index since it started.")
SEARCH_REVISION = _gauge(
    "o2o_search_index_revision", "Database revision the process's text-search index reflects (-1: not built).")
SEARCH_READY = _gauge("o2o_search_index_ready", "1 once the process's text-search index is built.")
SEARCH_BUILD = _gauge(
    "o2o_search_index_build_seconds", "How long the process's last text-search index build took.")
FEATURE_CACHE = _gauge("o2o_feature_cache_entries", "Store Features serialised and cached by the process.")

FEED_CONNECTED = _gauge(
    "o2o_change_feed_connected",
    "1 while the process hears of database changes by notification (LISTEN, or SQLite's data_version watcher).")
DB_UNREACHABLE = _gauge(
    "o2o_db_unreachable", "1 while the process's circuit breaker for the database is open (answering from memory).")
DB_TRIPS = _gauge(
    "o2o_db_breaker_trips", "Times the process's database circuit breaker opened since it started.")

# The database pool (PostGIS; SQLite has none): summed over the live workers.
POOL_SIZE = _gauge("o2o_db_pool_size", "Connections open in the processes' database pools.", "livesum")
POOL_IN_USE = _gauge(
    "o2o_db_pool_in_use", "Connections of the pools lent out to a request at the time of sampling.", "livesum")
POOL_MAX = _gauge("o2o_db_pool_max", "The pools' size limit.", "livesum")
POOL_WAITING = _gauge(
    "o2o_db_pool_waiting", "Requests waiting for a pooled connection at the time of sampling.", "livesum")

SCANS = Counter(
    "o2o_scans", "QR scans answered with a redirect to the shop (stored at once, or spooled while the "
    "database was unreachable: see o2o_scan_spool_*).", ("outcome",), registry=REGISTRY)
# The local scan spool (o2o/services/spool.py): per process counts, kept after a worker exits ("sum").
SPOOL_KEPT = _gauge(
    "o2o_scan_spool_kept", "Scans written to the local spool because the database could not take them.", "sum")
SPOOL_REPLAYED = _gauge("o2o_scan_spool_replayed", "Spooled scans stored in the database by a replay.", "sum")
SPOOL_DROPPED = _gauge(
    "o2o_scan_spool_dropped",
    "Scans not kept because the spool was full (the shopper was redirected all the same).", "sum")
SPOOL_PENDING = _gauge("o2o_scan_spool_pending_bytes", "Bytes of spooled scans not replayed yet.", "livesum")
IMPORT_ROWS = Counter(
    "o2o_import_rows", "Rows of store imports, by what became of them (stored: added or updated; "
    "unchanged; rejected).", ("outcome",), registry=REGISTRY)
IMPORTS = Counter(
    "o2o_imports", "Store imports run (dry runs not counted), by whether they stored anything.",
    ("result",), registry=REGISTRY)


def count_import(report) -> None:
    """Count an import's rows (an :class:`o2o.services.importer.Report`); a dry run is not counted."""
    if getattr(report, "dry_run", False):
        return
    stored = (report.inserted + report.updated) if report.stored else 0
    if stored:
        IMPORT_ROWS.labels("stored").inc(stored)
    if report.unchanged:
        IMPORT_ROWS.labels("unchanged").inc(report.unchanged)
    if report.rejected:
        IMPORT_ROWS.labels("rejected").inc(len(report.rejected))
    IMPORTS.labels("stored" if report.stored else "nothing_stored").inc()


def exposition() -> bytes:
    """Every metric in Prometheus' text format: all processes' in multiprocess mode."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead(pid: int) -> None:
    """For gunicorn's ``child_exit``: drop a dead worker's live gauges."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)
