"""Operations: ``GET /metrics`` (who may read it, what it counts), request ids, the JSON request log,
and the metrics of several gunicorn workers added up."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from o2o import metrics
from o2o.storage import open_repository
from o2o.web import create_app
from tests.conftest import fill
from tests.servers import ROOT, free_port, kill

TOKEN = "s3cret-metrics-token"


def _app(tmp_path_factory, **config):
    path = tmp_path_factory.mktemp("metrics") / "o2o.db"
    repo = open_repository(f"sqlite:///{path}")
    repo.migrate()
    fill(repo)
    repo.close()
    return create_app({"DATABASE_URL": f"sqlite:///{path}", "SEED_STORES": 0, "SECRET_KEY": "test",
                       "TESTING": True, "TILES": "none", **config})


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return _app(tmp_path_factory, METRICS_TOKEN=TOKEN, METRICS_ALLOW="10.1.2.0/24, 192.0.2.9").test_client()


def _count(endpoint: str, method: str = "GET", status: str = "2xx") -> float:
    return metrics.REGISTRY.get_sample_value(
        "o2o_http_request_duration_seconds_count", {"endpoint": endpoint, "method": method, "status": status}) or 0.0


def test_metrics_with_the_token_are_prometheus_text(client):
    client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=3")
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert 'o2o_http_request_duration_seconds_count{endpoint="api.nearby",method="GET",status="2xx"}' in text
    for name in ("o2o_index_revision", "o2o_index_stores", "o2o_feature_cache_entries", "o2o_search_index_ready"):
        assert f"\n{name} " in text or f"\n# TYPE {name} gauge" in text, name


def test_metrics_from_an_allowed_address_need_no_token(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.77"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200


def test_metrics_are_refused_without_token_or_allowed_address(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.3.1"}).status_code == 403


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer " + "x" * 10_000,
    "Bearer \xe9\xff\u00a0", f"Bearer  {TOKEN[:-1]}", "", "bearer",
])
def test_a_bad_token_is_403_never_5xx(client, header):
    r = client.get("/metrics", headers={"Authorization": header}, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert r.status_code == 403


def test_a_bad_remote_address_is_403_not_5xx(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "not-an-ip"}).status_code == 403


def test_metrics_are_not_exposed_unless_configured(tmp_path_factory):
    plain = _app(tmp_path_factory).test_client()
    assert plain.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_each_request_is_counted_by_endpoint_method_and_status_class(client):
    before_ok, before_404 = _count("api.nearby"), _count("api.store", status="4xx")
    errors_before = metrics.REGISTRY.get_sample_value(
        "o2o_http_errors_total", {"endpoint": "api.store", "status": "404"}) or 0.0
    for _ in range(3):
        assert client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=2").status_code == 200
    assert client.get("/api/v1/stores/999999").status_code == 404
    assert _count("api.nearby") - before_ok == 3
    assert _count("api.store", status="4xx") - before_404 == 1
    assert metrics.REGISTRY.get_sample_value(
        "o2o_http_errors_total", {"endpoint": "api.store", "status": "404"}) - errors_before == 1


def test_a_sane_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123.DEF:9"}).headers["X-Request-Id"] == "abc-123.DEF:9"
    for bad in ("has spaces", "x" * 200, "<script>", ""):
        rid = client.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert rid != bad and len(rid) == 32 and int(rid, 16) >= 0
    a, b = (client.get("/healthz").headers["X-Request-Id"] for _ in range(2))
    assert a != b


def test_the_request_log_line_carries_the_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="o2o.request")
    client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=2", headers={"X-Request-Id": "log-me-42"})
    lines = [r for r in caplog.records if r.name == "o2o.request" and getattr(r, "request_id", "") == "log-me-42"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status, line.endpoint) == ("GET", "/api/v1/stores/nearby", 200, "api.nearby")
    assert line.pid == os.getpid() and line.duration_ms >= 0


def test_json_log_lines_are_one_object_per_line():
    from o2o.logs import JsonFormatter

    record = logging.LogRecord("o2o.request", logging.INFO, __file__, 1, "request", None, None)
    record.request_id, record.status = "r1", 200
    data = json.loads(JsonFormatter().format(record))
    assert data["logger"] == "o2o.request" and data["request_id"] == "r1" and data["status"] == 200
    assert data["level"] == "INFO" and data["time"].endswith("Z")


def test_an_import_counts_its_rows():
    from types import SimpleNamespace

    def value(outcome):
        return metrics.REGISTRY.get_sample_value("o2o_import_rows_total", {"outcome": outcome}) or 0.0

    stored, rejected = value("stored"), value("rejected")
    metrics.count_import(SimpleNamespace(dry_run=False, stored=True, inserted=5, updated=2, unchanged=1,
                                         rejected=[{"row": 3}]))
    metrics.count_import(SimpleNamespace(dry_run=True, stored=False, inserted=9, updated=0, unchanged=0,
                                         rejected=[]))
    assert (value("stored") - stored, value("rejected") - rejected) == (7, 1)


# ------------------------------------------------------------------ several gunicorn workers
def _get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read(), dict(r.headers)


def _scrape(base: str) -> dict[str, float]:
    _, body, _ = _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """gunicorn -w 2 from the repository (so with its gunicorn.conf.py), JSON logs into a file."""
    tmp = tmp_path_factory.mktemp("metrics-gunicorn")
    url = f"sqlite:///{tmp / 'o2o.db'}"
    repo = open_repository(url)
    repo.migrate()
    fill(repo)
    repo.close()
    env = dict(os.environ, O2O_DATABASE_URL=url, O2O_SEED_STORES="0", O2O_SEED_SCANS="0", O2O_SECRET_KEY="t",
               O2O_TILES="none", O2O_METRICS_TOKEN=TOKEN, O2O_JSON_LOGS="1",
               PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom"))
    port = free_port()
    log = open(tmp / "gunicorn.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--no-control-socket",
                             "--bind", f"127.0.0.1:{port}", "app:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180   # a loaded machine can take a minute to import the app twice
    while True:
        try:
            if _get(base + "/healthz")[0] == 200:
                break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, (tmp / "gunicorn.log").read_text()[-2000:]
            time.sleep(0.05)
    yield proc, base, tmp / "gunicorn.log"
    if proc.poll() is None:
        kill(proc, signal.SIGTERM)
    log.close()


def test_metrics_of_two_workers_add_up(two_workers):
    proc, base, _log = two_workers
    key = 'o2o_http_request_duration_seconds_count{endpoint="healthz",method="GET",status="2xx"}'
    before = _scrape(base).get(key, 0.0)
    pids, sent = set(), 0
    while len(pids) < 2 or sent < 20:   # until both workers have answered some
        assert sent < 400, f"only worker(s) {pids} answered"
        pids.add(json.loads(_get(base + "/healthz")[1])["worker"])
        sent += 1
    after = _scrape(base)
    assert after[key] - before == sent
    # Every live worker's own gauges, each labelled with its pid.
    index_pids = {name.split('pid="')[1].split('"')[0] for name in after if name.startswith("o2o_index_revision{")}
    assert {str(p) for p in pids} <= index_pids


def test_requests_under_gunicorn_log_json_lines_with_their_id(two_workers):
    proc, base, log = two_workers
    status, _, headers = _get(base + "/healthz", {"X-Request-Id": "gunicorn-line-1"})
    assert status == 200 and headers["X-Request-Id"] == "gunicorn-line-1"
    deadline = time.time() + 20
    while True:   # the worker writes its line as it answers; wait for it to reach the file
        found = [json.loads(line) for line in log.read_text().splitlines()
                 if line.startswith("{") and "gunicorn-line-1" in line]
        if found or time.time() > deadline:
            break
        time.sleep(0.02)
    assert len(found) == 1, log.read_text()[-2000:]
    line = found[0]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert line["pid"] != proc.pid and line["duration_ms"] >= 0 and line["logger"] == "o2o.request"


def test_metrics_can_be_switched_off(tmp_path_factory):
    off = _app(tmp_path_factory, METRICS=False, METRICS_TOKEN=TOKEN).test_client()
    r = off.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404 and "X-Request-Id" not in r.headers


def test_a_scan_redirected_to_the_shop_is_counted(client):
    store = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=1").get_json()["features"][0]
    before = metrics.REGISTRY.get_sample_value("o2o_scans_total", {"outcome": "redirected"}) or 0.0
    r = client.get(f"/go/{store['id']}", headers={"User-Agent": "Mozilla/5.0 (iPhone) metrics-test"})
    assert r.status_code == 302
    assert metrics.REGISTRY.get_sample_value("o2o_scans_total", {"outcome": "redirected"}) - before == 1


def test_the_database_pool_is_reported_on_postgis(pg_url):
    repo = open_repository(pg_url)
    repo.migrate()
    fill(repo)
    repo.close()
    app = create_app({"DATABASE_URL": pg_url, "SEED_STORES": 0, "SECRET_KEY": "test", "TESTING": True,
                      "TILES": "none", "METRICS_TOKEN": TOKEN})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(values["o2o_db_pool_size"]) >= 1 and float(values["o2o_db_pool_max"]) >= float(values["o2o_db_pool_size"])
    assert float(values["o2o_db_pool_in_use"]) >= 0
