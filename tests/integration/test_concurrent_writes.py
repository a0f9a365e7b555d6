"""Concurrent writes of the same store codes, for real: threads against gunicorn (2 workers × 4 threads).

Each use case that writes is one unit of work: the look-up of the code and the write are one
transaction, and a unique-key clash with a concurrent writer turns into an update. So however the
requests interleave, no answer is a 5xx and every code ends with exactly one store.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from o2o.services import accounts
from o2o.storage import open_repository

from .. import conftest
from ..servers import kill, start_gunicorn

pytestmark = pytest.mark.both_backends

CODES = 10
SAME_TIME = 8


@pytest.fixture
def server(db_url):
    repo = open_repository(db_url)
    repo.migrate()
    rid, key = accounts.create_retailer(repo, "Race Co", ["race.tmall.com"])
    repo.close()
    proc, base = start_gunicorn(db_url, workers=2, threads=4, O2O_WRITES_PER_MINUTE="0")
    try:
        yield base, key, rid
    finally:
        try:
            kill(proc)
        except subprocess.TimeoutExpired:  # a loaded machine: don't wait for a graceful stop
            kill(proc, signal.SIGKILL)


def _request(url: str, key: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _position(n: int) -> tuple[float, float]:
    """Store n's place in Shanghai: 200 m apart, so no two codes look like duplicates."""
    return 121.40 + (n % 40) * 0.002, 31.15 + (n // 40) * 0.002


def _codes_in_db(db_url: str) -> dict[str, int]:
    return dict(conftest.sql(db_url, "SELECT external_id, count(*) FROM stores GROUP BY external_id"))


def test_the_same_code_posted_eight_times_at_once_makes_one_store(server, db_url):
    base, key, _ = server
    barrier = threading.Barrier(SAME_TIME)

    def post(code: int) -> int:
        lon, lat = _position(code)
        body = json.dumps({"external_id": f"R{code}", "name": f"竞速店{code}", "brand": "RaceBrand",
                           "category": "Apparel", "lon": lon, "lat": lat}).encode()
        barrier.wait(30)
        return _request(base + "/api/v1/stores", key, body, "application/json")

    answers = []
    with ThreadPoolExecutor(SAME_TIME) as pool:
        for code in range(CODES):
            answers += list(pool.map(post, [code] * SAME_TIME))
    statuses = [status for status, _ in answers]
    refused = [raw[:300] for status, raw in answers if status not in (200, 201)]
    assert not [s for s in statuses if s >= 500], (statuses, refused)
    assert statuses.count(201) == CODES and set(statuses) == {200, 201}, (statuses, refused)
    assert _codes_in_db(db_url) == {f"R{code}": 1 for code in range(CODES)}


def _csv(codes: range) -> bytes:
    lines = ["external_id,name,brand,category,lon,lat"]
    for n in codes:
        lon, lat = _position(n)
        lines.append(f"I{n},导入店{n},RaceBrand,Apparel,{lon:.6f},{lat:.6f}")
    return ("\n".join(lines) + "\n").encode()


def _import_all_at_once(base: str, key: str, files: list[bytes]) -> list[tuple[int, dict]]:
    """Every CSV posted to the store import at the same moment (one thread each, a barrier);
    ``(status, report)`` of each, in order."""
    barrier = threading.Barrier(len(files))

    def upload(body: bytes) -> tuple[int, dict]:
        barrier.wait(30)
        status, raw = _request(base + "/api/v1/stores/import", key, body, "text/csv")
        return status, json.loads(raw)

    with ThreadPoolExecutor(len(files)) as pool:
        return list(pool.map(upload, files))


def test_concurrent_imports_of_overlapping_codes_store_each_code_once(server, db_url):
    base, key, _ = server
    files = [_csv(range(start, start + 60)) for start in range(0, 8 * 20, 20)]  # each overlaps the next by 40
    results = _import_all_at_once(base, key, files)
    assert [s for s, _ in results] == [200] * len(files), results
    assert all(report["rejected"] == [] for _, report in results)
    wanted = {f"I{n}": 1 for n in range(0, 7 * 20 + 60)}
    assert _codes_in_db(db_url) == wanted
    assert sum(report["inserted"] for _, report in results) == len(wanted)


def test_concurrent_bulk_imports_each_refresh_the_statistics_and_all_succeed(server, db_url):
    """Imports big enough to ANALYZE afterwards (importer.BULK_ROWS rows each), all at once: the
    analyses overlap (PostgreSQL refuses two of one table at once), and every import still answers
    200 with all its rows stored."""
    from o2o.services.importer import BULK_ROWS

    base, key, _ = server
    size = BULK_ROWS + 50
    files = [_csv(range(i * size, (i + 1) * size)) for i in range(4)]
    results = _import_all_at_once(base, key, files)
    assert [s for s, _ in results] == [200] * len(files), [r for _, r in results if "error" in r][:1]
    assert all(report["rejected"] == [] and report["inserted"] == size for _, report in results)
    assert _codes_in_db(db_url) == {f"I{n}": 1 for n in range(4 * size)}
