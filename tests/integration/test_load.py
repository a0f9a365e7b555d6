"""A short mixed load (bench/bench_load.py) on each backend: no 5xx, and no success lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .. import conftest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite", "postgis"])
def test_mixed_load_loses_nothing(backend, request):
    if backend == "postgis":
        request.getfixturevalue("postgis_template")  # skips, saying why, without PostGIS
    env = dict(os.environ, O2O_BENCH_POSTGRES=conftest.PG_ADMIN_URL)
    out = subprocess.run([sys.executable, "bench/bench_load.py", "--backend", backend, "--seconds", "8",
                          "--users", "8", "--stores", "2000"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Every check passed." in out.stdout
    assert "| 5xx (or no response) | 0 | 0 |" in out.stdout
