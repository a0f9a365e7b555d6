"""Shared helpers of the benchmarks in ``bench/`` (not a benchmark itself).

Seeding a throw-away database (and copying it into PostGIS), a fresh database ready for a store
import, starting and stopping servers on free loopback ports, running ``wrk`` with the Lua reporter
its scripts end with, whether a browser part can run, timing in-process requests, medians, the
machine note, the command line a report quotes, keeping or removing the temp directory, and
rewriting one marked section of ``docs/benchmarks.md`` (and only that).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
GUNICORN = str(VENV_BIN / "gunicorn")
FLASK = str(VENV_BIN / "flask")
DOCS = ROOT / "docs" / "benchmarks.md"
HOST = "127.0.0.1"  # load only ever targets loopback


def bench_env(db_path: str | Path, **extra: str) -> dict:
    """The environment every benchmarked o2o process gets: a temp database, no demo scans,
    the offline basemap, a fixed secret (so nothing is written to ``instance/``)."""
    env = dict(os.environ)
    env.update({
        "O2O_DATABASE_URL": f"sqlite:///{Path(db_path).resolve()}",
        "O2O_SEED_STORES": "30000",
        "O2O_SEED_SCANS": "0",
        "O2O_TILES": "none",
        "O2O_SECRET_KEY": "bench-not-secret",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop("O2O_PUBLIC_URL", None)
    env.update(extra)
    return env


def seed_database(db_path: str | Path, stores: int = 30000, quiet: bool = False) -> float:
    """``flask --app app seed --stores N`` into ``db_path`` (created); returns the wall time (s)."""
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    env = bench_env(db_path, O2O_SEED_STORES=str(stores))
    t0 = time.perf_counter()
    out = subprocess.run([FLASK, "--app", "app", "seed", "--stores", str(stores), "--scans", "0"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"seeding failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    if not quiet:
        print(f"  {out.stdout.strip()} in {elapsed:.1f} s", flush=True)
    return elapsed


def copy_into_postgis(admin_url: str, sqlite_db: Path, name: str) -> tuple[str, str]:
    """A fresh PostGIS database ``name`` (dropped first if there) holding the seeded SQLite
    database's data (``flask migrate-data``); returns its URL and what the copy printed."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rpartition("/")[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    out = subprocess.run([PYTHON, "-m", "flask", "--app", "app", "migrate-data", "--to", url],
                         cwd=ROOT, env=bench_env(sqlite_db), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"copying into PostGIS failed:\n{out.stdout}\n{out.stderr}")
    return url, out.stdout


def drop_pg_database(admin_url: str, url: str) -> None:
    """Drop the database ``url`` names, even with sessions still on it."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rpartition('/')[2]} WITH (FORCE)")


def import_setup(db_path: str | Path):
    """What a store import needs, on a fresh SQLite database at ``db_path``: the migrated repository,
    one retailer ("Bench Co", bench.tmall.com) signed in as its principal, and the loaded index sync.
    Returns ``(repo, retailer_id, principal, sync)``; the caller closes ``repo``."""
    from o2o.services import accounts
    from o2o.services.index_sync import IndexSync
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.connect(str(db_path))
    repo.migrate()
    rid, _ = accounts.create_retailer(repo, "Bench Co", ["bench.tmall.com"])
    principal = accounts.Principal("retailer", rid, "Bench Co", ("bench.tmall.com",))
    sync = IndexSync()
    sync.load(repo)
    return repo, rid, principal, sync


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes, dict]:
    """(status, body, headers) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


# The end of every wrk Lua script here: one ``BENCHJSON {...}`` line that :func:`run_wrk` reads.
# Its ``%`` are doubled because the scripts' templates it is appended to are filled with ``%``.
WRK_DONE_LUA = r"""function done(s, latency, requests)
  io.write(string.format(
    'BENCHJSON {"requests":%%d,"duration_us":%%.0f,"bytes":%%.0f,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%.0f,"p90_us":%%.0f,"p99_us":%%.0f,' ..
    '"mean_us":%%.1f,"max_us":%%.0f}\n',
    s.requests, s.duration, s.bytes, s.errors.connect, s.errors.read, s.errors.write,
    s.errors.status, s.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
"""


def run_wrk(base: str, lua: Path, path: str, extra: str, seconds: float, threads: int, conns: int) -> dict:
    """One wrk run of the script ``lua`` (ending with :data:`WRK_DONE_LUA`) against ``base``;
    ``path`` and ``extra`` are the script's arguments. Returns its numbers plus rps and socket errors."""
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(lua), base + "/", "--", path, extra]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            r = json.loads(line[len("BENCHJSON "):])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
            r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
            return r
    raise RuntimeError(f"wrk gave no result ({out.returncode}):\n{out.stdout}\n{out.stderr}")


class Server:
    """A gunicorn (or any) server process on a loopback port, stopped by its own pid only."""

    def __init__(self, argv: list[str], port: int, env: dict, log: Path, cwd: Path = ROOT):
        self.argv, self.port, self.env, self.log, self.cwd = argv, port, env, log, cwd
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    @classmethod
    def gunicorn(cls, app: str, workers: int, env: dict, log: Path, chdir: Path = ROOT,
                 port: int | None = None, extra: list[str] | None = None) -> "Server":
        port = port or free_port()
        argv = [GUNICORN, "--workers", str(workers), "--worker-class", "sync",
                "--bind", f"{HOST}:{port}", "--timeout", "120", "--chdir", str(chdir),
                *(extra or []), app]
        return cls(argv, port, env, log)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "Server":
        self._log = open(self.log, "ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, path: str = "/healthz", timeout: float = 60.0, poll_s: float = 0.01) -> float:
        """Poll ``path`` until it answers 200; returns seconds since :meth:`start`."""
        deadline = self.started + timeout
        url = self.base + path
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        r.read()
                        return time.perf_counter() - self.started
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{url} not ready after {timeout} s; see {self.log}")
            time.sleep(poll_s)

    def stop(self) -> None:
        """SIGTERM to the process group this server leads (its gunicorn workers), then wait."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def browser_missing(chromium: str) -> str | None:
    """Why a benchmark's browser part cannot run here (no Playwright in the venv, no Chromium at
    ``chromium``), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed in .venv (pip install -r requirements-dev.txt)"
    if not Path(chromium).exists():
        return f"no Chromium at {chromium} (apt-get install chromium)"
    return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo``, or None where it cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def memory_gb() -> float | None:
    """Total memory in GiB from ``/proc/meminfo``, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def warm_and_time(client, path, calls: int) -> float:
    """Median µs of ``calls`` in-process GETs of ``path(i)`` (i = 0, 1, …) through a Flask test
    client, after 20 unmeasured ones (features cached, as in steady service)."""
    for i in range(20):
        client.get(path(i))
    times = []
    for i in range(calls):
        t0 = time.perf_counter()
        client.get(path(i))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def section_heading(title: str) -> str:
    """A docs section's heading and its first line: when, which code, on which machine."""
    return f"## {title}\n\n{now_text()}, {git_state()}; {machine_note()}.\n\n"


def machine_note() -> str:
    cpu = cpu_model() or "unknown CPU"
    gb = memory_gb()
    mem = "" if gb is None else f", {gb:.0f} GB RAM"
    load = os.getloadavg()[0]
    return (f"Python {platform.python_version()}, Linux {platform.release()}; {cpu}, "
            f"{os.cpu_count()} cores{mem}, load average {load:.2f} at the start")


def git_state() -> str:
    """``abc1234`` or ``abc1234 + uncommitted changes to the app``: which code was measured."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "o2o", "app.py", "templates", "static",
                                "requirements.txt"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown revision"
    return f"commit {rev}" + (" + uncommitted changes to the app" if dirty else "") if rev else "unknown revision"


def bench_command(script: str, argv: list[str] | None) -> str:
    """The command line a report quotes: ``.venv/bin/python bench/<script>`` and its arguments."""
    return f".venv/bin/python bench/{script}" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))


def keep_or_remove(tmp: Path, keep: bool) -> None:
    """The end of a run: the temp directory is kept (and named) with ``--keep``, else removed."""
    if keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def now_text() -> str:
    return _dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def write_section(name: str, body: str, docs: Path = DOCS) -> None:
    """Replace the ``<!-- name:start -->`` … ``<!-- name:end -->`` section of the docs (or append
    it); every other section is left byte for byte as it was."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = docs.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, docs)
    print(f"wrote section {name!r} of {docs.relative_to(ROOT)}")


def show_section(name: str, body: str, write: bool) -> None:
    """Print a run's docs section; with ``--write-docs`` also write it (see :func:`write_section`)."""
    print()
    print(body)
    if write:
        write_section(name, body)


def fmt_int(v: float) -> str:
    return "–" if v != v else f"{v:,.0f}"


def fmt_bytes(n: float) -> str:
    if n != n:
        return "–"
    """Decimal units (1 kB = 1,000 B, 1 MB = 1,000,000 B), as the page-weight target is read."""
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} MB"
    if n >= 1_000:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def dump_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def which_or_none(name: str) -> str | None:
    return shutil.which(name)
