"""Sign-in cost: the Argon2id password hash (verify) at the app's parameters and at others, and
a whole ``POST /login`` (right, wrong and unknown e-mail) against ``GET /login`` as the baseline,
all in one run. Writes the "Sign-in" section of docs/benchmarks.md.

    .venv/bin/python bench/bench_signin.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import git_state, machine_note, median, now_text, write_section  # noqa: E402

from o2o.config import DEFAULTS  # noqa: E402
from o2o.services import accounts, people  # noqa: E402

PASSWORD = "plum blossom 1111"
PARAMETERS = [  # (memory KiB, passes, lanes, what)
    (DEFAULTS["PASSWORD_MEMORY_KIB"], DEFAULTS["PASSWORD_TIME_COST"], DEFAULTS["PASSWORD_PARALLELISM"],
     "the app's default (OWASP minimum)"),
    (47_104, 1, 1, "OWASP alternative"),
    (65_536, 3, 4, "RFC 9106 second recommendation; argon2-cffi's default"),
]


def timed(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    rows = []
    for memory, passes, lanes, what in PARAMETERS:
        hasher = people.make_hasher(memory, passes, lanes)
        stored = hasher.hash(PASSWORD)
        rows.append((memory, passes, lanes, what, timed(lambda: hasher.verify(stored, PASSWORD), args.rounds)))
    base_ms = rows[0][4]

    from o2o.storage import open_repository
    from o2o.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/signin.db"  # noqa: F841 (read by login())
        app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "bench", "TILES": "none"})
        repo = open_repository(url)
        rid, _ = accounts.create_retailer(repo, "Bench Co", ["bench.tmall.com"])
        path = people.invite(repo, "lin@bench.example", people.Organisation("retailer", rid), "editor")[1]
        repo.close()
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))[1]
        client.post(path, data={"password": PASSWORD, "password2": PASSWORD, "csrf_token": token})
        app.extensions["o2o_limits"].hit = lambda *a: (True, 0)  # measure the work, not the rate limit
        app.extensions["o2o_limits"].exhausted = lambda *a: 0

        def login(email, password):
            def run():
                c = app.test_client()
                t = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True))[1]
                r = open_repository(url)
                r.clear_sign_in_failures(people._lock_key(email))  # never locked: every attempt is verified
                r.close()
                start = time.perf_counter()
                c.post("/login", data={"email": email, "password": password, "csrf_token": t})
                return time.perf_counter() - start
            return run

        def page():
            start = time.perf_counter()
            app.test_client().get("/login")
            return time.perf_counter() - start

        def many(fn):
            return median([fn() for _ in range(args.rounds)]) * 1000

        get_ms = many(page)
        right_ms = many(login("lin@bench.example", PASSWORD))
        wrong_ms = many(login("lin@bench.example", "wrong password 0"))
        unknown_ms = many(login("nobody@bench.example", "wrong password 0"))

    lines = [
        "## Sign-in (staff accounts)", "",
        f"{now_text()}, {git_state()}; {machine_note()}. `bench/bench_signin.py --rounds {args.rounds}`: medians.", "",
        "Passwords are hashed with **Argon2id** (argon2-cffi). Verifying one password:", "",
        "| memory | passes | lanes | parameters | verify, ms | × the app's |", "|---:|---:|---:|---|---:|---:|",
    ]
    for memory, passes, lanes, what, ms in rows:
        lines.append(f"| {memory / 1024:.0f} MiB | {passes} | {lanes} | {what} | {ms:.1f} | {ms / base_ms:.2f} |")
    lines += ["", "A whole sign-in in process (Flask test client, SQLite), against the sign-in page as the baseline "
              "(failures are cleared before each attempt, so none meets the lock-out, and the rate limit is "
              "switched off: the work itself is measured):", "",
              "| request | median, ms | × `GET /login` |", "|---|---:|---:|",
              f"| `GET /login` (baseline) | {get_ms:.1f} | 1.00 |",
              f"| `POST /login`, right password | {right_ms:.1f} | {right_ms / get_ms:.1f} |",
              f"| `POST /login`, wrong password | {wrong_ms:.1f} | {wrong_ms / get_ms:.1f} |",
              f"| `POST /login`, unknown e-mail | {unknown_ms:.1f} | {unknown_ms / get_ms:.1f} |", "",
              "An unknown e-mail costs one hash of a dummy password, so its time matches a wrong password's and "
              "does not tell who has an account. At the default parameters one core verifies about "
              f"{1000 / base_ms:.0f} passwords a second, with 19 MiB of memory each; the sign-in limits "
              "(10 a minute per address, 5 failures per e-mail) keep guessing far below that."]
    write_section("signin", "\n".join(lines))


if __name__ == "__main__":
    main()
