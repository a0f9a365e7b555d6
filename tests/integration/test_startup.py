"""Start-up: a command run while a fresh server seeds waits for it and says so; a failure to build
the app names its cause; create_app reads no command line; processes starting together agree on
one secret key."""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack

import pytest

from o2o import config as config_mod
from o2o.storage import open_repository
from o2o.web import create_app
from o2o.web.startup import WAITING, setup_for

from .. import conftest
from ..servers import ROOT, free_port, kill

pytestmark = pytest.mark.both_backends

SEEDED = 3000  # enough that the seed holds the start-up lock for a while


def _env(url: str, seed_stores: int = 0, **extra) -> dict:
    return dict(os.environ, O2O_DATABASE_URL=url, O2O_SEED_STORES=str(seed_stores), O2O_SEED_SCANS="0",
                O2O_SECRET_KEY="t", O2O_TILES="none", **extra)


def _flask(url: str, *args: str, **extra) -> subprocess.Popen:
    """``flask --app app ARGS…`` in a process of its own, as a user types it in a second terminal."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                            env=_env(url, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _spawn_gunicorn(url: str, seed_stores: int) -> tuple[subprocess.Popen, str]:
    """gunicorn starting on a fresh database (not waited for: the command runs at once)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--no-control-socket",
                             "--bind", f"127.0.0.1:{port}", "app:app"], cwd=ROOT, env=_env(url, seed_stores),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def _healthz(base: str, proc, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            assert proc.poll() is None, "gunicorn exited"
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer /healthz")


@pytest.fixture
def fresh_db(db_url, tmp_path, request):
    """A factory of fresh, empty databases of the test's backend."""
    with ExitStack() as made:
        count = itertools.count()

        def make() -> str:
            if db_url.startswith("sqlite:"):
                return f"sqlite:///{tmp_path / f'fresh{next(count)}.db'}"
            return made.enter_context(conftest.pg_database(request.getfixturevalue("postgis_template")))

        yield make


@pytest.mark.slow
def test_a_command_run_as_a_fresh_server_starts_waits_for_it_and_succeeds(db_url, fresh_db):
    """The newcomer's second terminal, again and again: never "Could not import 'app'", the key
    printed last, the demo stores seeded exactly once."""
    for attempt in range(3):
        url = fresh_db()
        server, base = _spawn_gunicorn(url, SEEDED)
        try:
            command = _flask(url, "retailer", "create", f"Second Terminal {attempt}", "--domain", "second.example")
            out, err = command.communicate(timeout=300)
            assert command.returncode == 0, err
            assert "Could not import" not in err
            assert out.strip().splitlines()[-1].startswith("o2o_r_")
            assert _healthz(base, server)["stores"] == SEEDED
        finally:
            kill(server)
        repo = open_repository(url)
        try:
            assert repo.count_stores() == SEEDED
            assert f"Second Terminal {attempt}" in {r["name"] for r in repo.list_retailers()}
        finally:
            repo.close()


def test_a_command_says_it_waits_while_another_process_sets_up(db_url):
    repo = open_repository(db_url)
    lines: queue.Queue = queue.Queue()
    try:
        with repo.startup_lock():  # as a server seeding a fresh database holds it
            command = _flask(db_url, "retailer", "list")
            reader = threading.Thread(target=lambda: [lines.put(line.strip()) for line in command.stderr], daemon=True)
            reader.start()
            while lines.get(timeout=120) != WAITING:
                pass
            assert command.poll() is None  # still waiting for the lock
        assert command.wait(timeout=120) == 0
        reader.join(timeout=30)
    finally:
        repo.close()
    assert "the app has finished setting up; going on" in list(lines.queue)


def test_a_failure_to_build_the_app_names_its_cause(db_url):
    command = _flask(db_url, "retailer", "list", O2O_DB_BUSY_TIMEOUT_MS="soon")
    _, err = command.communicate(timeout=120)
    assert command.returncode != 0
    assert "o2o: could not build the app: ConfigError: O2O_DB_BUSY_TIMEOUT_MS must be a whole number" in err


def test_create_app_reads_no_command_line(db_url, monkeypatch):
    """What a process prepares is an argument: a server's set-up even under `flask db …` argv."""
    monkeypatch.setattr(sys, "argv", ["flask", "--app", "app", "db", "upgrade"])
    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 7, "SEED_SCANS": 0, "SECRET_KEY": "t"})
    assert "JSON_SORT_KEYS" not in app.config  # dead since Flask 2.3 (app.json.sort_keys)
    repo = open_repository(db_url)
    try:
        assert repo.count_stores() == 7
    finally:
        repo.close()
    assert setup_for(["flask", "--app", "app", "db", "upgrade"]) == "schema"


def test_a_schema_command_leaves_the_database_alone(db_url):
    create_app({"DATABASE_URL": db_url, "SEED_STORES": 7, "SECRET_KEY": "t"}, setup="schema")
    repo = open_repository(db_url)
    try:
        assert repo.schema_version() == 0
    finally:
        repo.close()


def test_processes_starting_together_agree_on_one_secret_key(tmp_path):
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(config_mod.secret_key(tmp_path))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert os.listdir(tmp_path) == ["secret_key"]
