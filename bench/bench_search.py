#!/usr/bin/env python
"""Benchmark of the text search (``o2o.search``): build, memory, queries and suggestions.

    .venv/bin/python bench/bench_search.py                  # 30,000 and 300,000 stores (~3 min)
    .venv/bin/python bench/bench_search.py --sizes 30000    # one size
    .venv/bin/python bench/bench_search.py --write-docs     # also rewrite the section in docs/benchmarks.md

At each size N, on a database seeded by ``flask seed --stores N`` (the demo festival's generator,
so the names, addresses, brands and places are the real shapes), in a fresh child process:

* the gazetteer's load (China's provinces, cities and districts with pinyin and centres; once per
  process) and ``SearchIndex.load`` over every open store: wall time, the growth of the process
  RSS per store, and the index's own ``nbytes`` per store;
* ``GET /api/v1/stores/nearby`` through the app in process (Flask's test client, the whole
  request: parsing, index, features, JSON) without ``q`` (the baseline) and with ``q`` for a mix
  of queries as shoppers type them (characters, pinyin, initials, traditional, English, a typo,
  brand + city, brand + district, category words, malls) from 200 shopper positions; the ratio is
  text search ÷ plain nearby, both measured in the same rounds;
* ``GET /api/v1/suggest`` as the shopper types (every prefix of the same words), median and p95;
* the cold start: ``create_app`` on the seeded database until it answers ``/healthz``, and the
  time until the background build makes the first text search answer.

Rounds alternate the case order, and each figure is the median of per-round medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (fmt_bytes, git_state, machine_note, now_text, seed_database,  # noqa: E402
                           write_section)

QUERIES = ["优衣库", "youyiku", "yyk", "優衣庫", "uniqlo", "uniqol", "海尔 上海", "优衣库 杭州", "海尔 徐汇",
           "超市", "家电", "万达广场", "杰克琼斯", "gome", "sephora", "化妆品", "星巴克", "qcs", "361度",
           "hangzhou uniqlo"]
TYPED = ["y", "yo", "you", "youy", "youyi", "优", "优衣", "h", "ha", "hai", "haie", "海", "海尔", "c", "超",
         "hang", "hangz", "杭", "杭州", "wan", "wand", "万达", "x", "xu", "徐汇", "uni", "uniq", "s", "se", "sep"]
ROUNDS = 5


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(db: Path, n_points: int) -> dict:
    """Runs in a child process: everything for one seeded database."""
    import numpy as np

    from o2o.search.index import SearchIndex
    from o2o.search.places import load_gazetteer
    from o2o.storage import open_repository
    from o2o.web import create_app

    out: dict = {}
    repo = open_repository(f"sqlite:///{db}")
    stores = list(repo.iter_stores())
    rng = np.random.default_rng(11)
    pick = rng.integers(0, len(stores), n_points)
    points = [(stores[i]["lon"] + rng.normal(0, 0.02), stores[i]["lat"] + rng.normal(0, 0.02)) for i in pick]

    t = time.perf_counter()
    load_gazetteer()
    out["gazetteer_s"] = time.perf_counter() - t

    builds, growth = [], []
    for _ in range(3 if len(stores) <= 100_000 else 1):
        rss0 = _rss()
        index = SearchIndex()
        t = time.perf_counter()
        index.load(stores)
        builds.append(time.perf_counter() - t)
        growth.append(_rss() - rss0)
        out["nbytes_per_store"] = index.nbytes / len(index)
        del index
    out["build_s"] = statistics.median(builds)
    out["rss_per_store"] = max(growth) / len(stores)
    out["stores"] = len(stores)
    del stores
    repo.close()

    t = time.perf_counter()
    app = create_app({"DATABASE_URL": f"sqlite:///{db}", "SEED_STORES": 0, "SECRET_KEY": "bench",
                      "TILES": "none"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    out["cold_start_s"] = time.perf_counter() - t
    r = client.get("/api/v1/stores/nearby", query_string={"lat": 31.23, "lon": 121.47, "q": "优衣库"})
    assert r.status_code == 200 and r.get_json()["features"]
    out["first_search_s"] = time.perf_counter() - t
    state = app.extensions["o2o"]
    out["background_build_s"] = state.search_sync.built_in_s

    def nearby(lon, lat, q=None):
        qs = {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}
        if q:
            qs["q"] = q
        r = client.get("/api/v1/stores/nearby", query_string=qs)
        assert r.status_code == 200
        return r

    def suggest(lon, lat, q):
        r = client.get("/api/v1/suggest", query_string={"lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "q": q})
        assert r.status_code == 200
        return r

    # warm every path (caches of words, features) before timing
    for (lon, lat), q in zip(points, QUERIES * (len(points) // len(QUERIES) + 1)):
        nearby(lon, lat)
        nearby(lon, lat, q)
    for q in TYPED:
        suggest(*points[0], q)

    cases = {"plain": [], "text": [], "suggest": []}
    ratios = []
    for rnd in range(ROUNDS):
        order = ["plain", "text", "suggest"] if rnd % 2 == 0 else ["suggest", "text", "plain"]
        per = {}
        for case in order:
            times = []
            for i, (lon, lat) in enumerate(points):
                t0 = time.perf_counter()
                if case == "plain":
                    nearby(lon, lat)
                elif case == "text":
                    nearby(lon, lat, QUERIES[i % len(QUERIES)])
                else:
                    suggest(lon, lat, TYPED[i % len(TYPED)])
                times.append(time.perf_counter() - t0)
            per[case] = times
            cases[case].append(statistics.median(times))
        ratios.append(statistics.median(per["text"]) / statistics.median(per["plain"]))
        cases.setdefault("suggest_p95", []).append(sorted(per["suggest"])[int(0.95 * len(per["suggest"]))])
    for case in ("plain", "text", "suggest", "suggest_p95"):
        out[f"{case}_ms"] = statistics.median(cases[case]) * 1000
    out["ratio"] = statistics.median(ratios)
    out["ratio_range"] = (min(ratios), max(ratios))
    # What each query costs in the index alone, for the table.
    index = state.search_sync.index
    per_query = {}
    for q in QUERIES:
        times = []
        for lon, lat in points[:50]:
            t0 = time.perf_counter()
            index.search(lon, lat, q, k=20)
            times.append(time.perf_counter() - t0)
        per_query[q] = statistics.median(times) * 1000
    out["per_query_ms"] = per_query
    return out


def run_child(db: Path, n_points: int) -> dict:
    code = ("import json,sys; sys.path.insert(0, %r); from bench.bench_search import measure; "
            "print('RESULT' + json.dumps(measure(__import__('pathlib').Path(%r), %d)))") % (str(ROOT), str(db), n_points)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def render(results: dict[int, dict], note: str) -> str:
    sizes = sorted(results)
    head = "| | " + " | ".join(f"N = {n:,}" for n in sizes) + " |\n|---|" + "---:|" * len(sizes) + "\n"

    def row(label, fn):
        return f"| {label} | " + " | ".join(fn(results[n]) for n in sizes) + " |\n"

    table = head
    table += row("gazetteer load (once per process)", lambda r: f"{r['gazetteer_s']:.2f} s")
    table += row("`SearchIndex.load` (build)", lambda r: f"{r['build_s']:.2f} s")
    table += row("RSS growth per store", lambda r: fmt_bytes(r["rss_per_store"]))
    table += row("index arrays (`nbytes`) per store", lambda r: fmt_bytes(r["nbytes_per_store"]))
    table += row("cold start (`create_app` → `/healthz`)", lambda r: f"{r['cold_start_s']:.2f} s")
    table += row("first text search answered after", lambda r: f"{r['first_search_s']:.2f} s")
    table += row("background build in the app", lambda r: f"{r['background_build_s']:.2f} s")
    table += row("`nearby` without `q` (baseline), median", lambda r: f"{r['plain_ms']:.2f} ms")
    table += row("`nearby?q=…` text search, median", lambda r: f"{r['text_ms']:.2f} ms")
    table += row("**ratio** text ÷ plain (aim ≤ 3×)",
                 lambda r: f"**{r['ratio']:.2f}×** ({r['ratio_range'][0]:.2f}–{r['ratio_range'][1]:.2f})")
    table += row("`suggest` median (aim < 5 ms) / p95", lambda r: f"{r['suggest_ms']:.2f} ms / {r['suggest_p95_ms']:.2f} ms")
    per = "\n| query | " + " | ".join(f"N = {n:,}" for n in sizes) + " |\n|---|" + "---:|" * len(sizes) + "\n"
    for q in QUERIES:
        per += f"| `{q}` | " + " | ".join(f"{results[n]['per_query_ms'][q]:.2f} ms" for n in sizes) + " |\n"
    return (
        "## Text search (Chinese-aware)\n\n"
        f"Measured {now_text()} on {note}; {git_state()}. `bench/bench_search.py` (rerun: "
        "`.venv/bin/python bench/bench_search.py --write-docs`). Databases seeded by `flask seed --stores N`; "
        "every request through the app in process (Flask's test client); 200 shopper positions near the "
        f"stores; {ROUNDS} rounds alternating the case order, medians of per-round medians.\n\n"
        + table +
        "\nThe cold start does not wait for the search index: `create_app` loads the spatial index "
        "and starts a thread that builds the text index (gazetteer, values, pinyin, n-grams) and then "
        "loads jieba's dictionary; a text search that arrives before it is ready waits for it. "
        "Searching is the index's work alone below (`SearchIndex.search`, k = 20, median over 50 "
        "positions); a typo costs most the first time it is seen (Damerau–Levenshtein over the "
        "index's Latin terms of similar length), then it is cached until the index changes.\n"
        + per
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="30000,300000")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--workdir", default=None, help="where the seeded databases are kept (reused if there)")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="o2o-bench-search-"))
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        db = work / f"search_{n}.db"
        if not db.exists():
            print(f"seeding {n:,} stores …", flush=True)
            seed_database(db, n)
        print(f"measuring N = {n:,} …", flush=True)
        results[n] = run_child(db, args.points)
        print(json.dumps(results[n], indent=1, ensure_ascii=False), flush=True)
    body = render(results, machine_note())
    print(body)
    if args.write_docs:
        write_section("bench_search", body)


if __name__ == "__main__":
    main()
