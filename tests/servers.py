"""Real gunicorn servers for the tests that need processes: several workers, a kill -9."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, workers: int = 1, timeout_s: int = 120, seed_stores: int = 0, threads: int = 1,
                   **env_extra):
    """gunicorn serving the app on ``url``'s database on a free loopback port, in its own process
    group (so :func:`kill` takes the master and every worker), with ``threads`` threads per worker.
    Returns ``(process, base URL)``."""
    env = dict(os.environ, O2O_DATABASE_URL=url, O2O_SEED_STORES=str(seed_stores), O2O_SEED_SCANS="0",
               O2O_SECRET_KEY="t", O2O_TILES="none", **env_extra)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
                             "--timeout", str(timeout_s),
                             "--no-control-socket", "--bind", f"127.0.0.1:{port}", "app:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    kill(proc, signal.SIGKILL)
    pytest.fail("gunicorn did not start: " + proc.stderr.read().decode(errors="replace")[-2000:])


def kill(proc, sig=signal.SIGTERM, wait_s: float = 15) -> None:
    """Signal the server's whole process group and wait for the master. A graceful stop that takes
    longer than ``wait_s`` (gunicorn itself allows its workers 30 s; on a loaded machine a worker
    can take that long to finish and exit) ends with SIGKILL, and a warning says so."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        if sig == signal.SIGKILL:
            raise
        import warnings

        warnings.warn(f"the server did not stop within {wait_s:.0f} s of signal {sig}: killed")
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(wait_s)
