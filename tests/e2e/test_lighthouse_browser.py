"""Lighthouse's deterministic categories (accessibility, best practices, SEO), mobile profile, on
the finder and a store page: every audit passes (score 1) or does not apply. The performance score
depends on the machine: it is a benchmark (bench/bench_lighthouse.py), never asserted here.

Lighthouse is npm ``lighthouse@12.2.3`` in bench/lighthouse/, installed by ``scripts/setup.sh --test``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.browser

LIGHTHOUSE = Path(__file__).resolve().parents[2] / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ["accessibility", "best-practices", "seo"]


def _start_lighthouse(url: str, out: Path) -> subprocess.Popen:
    argv = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
            "--only-categories=" + ",".join(CATEGORIES),
            # No simulated slow network or CPU: these audits read the page, not its speed.
            "--throttling-method=provided", "--disable-full-page-screenshot",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --lang=zh-CN",
            "--extra-headers", json.dumps({"Accept-Language": "zh-CN,zh;q=0.9"})]
    return subprocess.Popen(argv, env=dict(os.environ, CHROME_PATH=CHROMIUM), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _report(run: subprocess.Popen, out: Path) -> dict:
    _, stderr = run.communicate(timeout=240)
    assert run.returncode == 0, stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not report.get("runtimeError"), report["runtimeError"]
    return report


def _not_passing(report: dict) -> list[str]:
    failing = []
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if audit["score"] is not None and audit["score"] < 1:
                items = (audit.get("details") or {}).get("items") or []
                where = [(i.get("node") or {}).get("snippet") or i.get("url") or "" for i in items[:3]]
                failing.append(f"[{name}] {ref['id']}: {audit['title']} {audit.get('displayValue') or ''} {where}")
    return failing


@pytest.mark.skipif(not LIGHTHOUSE.exists(), reason="no Lighthouse: scripts/setup.sh --test installs it in bench/lighthouse")
def test_lighthouse_accessibility_best_practices_and_seo_audits_all_pass(live_server):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    ARTIFACTS.mkdir(exist_ok=True)
    with urllib.request.urlopen(f"{live_server}/api/v1/stores/nearby?lat=31.2304&lon=121.4737&k=1", timeout=30) as r:
        nearby = json.load(r)
    store = f"/stores/{nearby['features'][0]['id']}"
    pages = {"/": ARTIFACTS / "lighthouse-home.json", store: ARTIFACTS / "lighthouse-store.json"}
    runs = {path: _start_lighthouse(live_server + path, out) for path, out in pages.items()}  # side by side: ~25 s each
    failing = {}
    try:
        for path, out in pages.items():
            report = _report(runs[path], out)
            assert report["configSettings"]["formFactor"] == "mobile"
            assert all(report["categories"][c]["score"] is not None for c in CATEGORIES)
            if bad := _not_passing(report):
                failing[path] = bad
    finally:
        for run in runs.values():  # this test's own Lighthouse and the Chromium it started, if left
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    assert not failing, "Lighthouse audits that did not pass:\n" + "\n".join(
        f"{path}: {line}" for path, lines in failing.items() for line in lines)
