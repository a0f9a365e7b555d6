#!/usr/bin/env python
"""Where a ``/api/v1/stores/nearby`` request spends its time, in one process.

    .venv/bin/python bench/profile_nearby.py                 # seeds its own 30,000-store temp database
    .venv/bin/python bench/profile_nearby.py --db /tmp/x/o2o.db --n 300

``bench_http.py`` runs it when nearby is under 70 % of the ceiling. It uses the Flask test client
(no sockets, no gunicorn), over the same shopper positions as the HTTP benchmark, and reports:

* the whole request, for nearby and for the ceiling app, median µs;
* the request's stages, each timed alone in a request context, in the order ``api.nearby``
  runs them: query-string validation, the index freshness check (one SQL read), the index
  query, fetching the 20 rows, building the 20 GeoJSON Features, JSON encoding; and, inside
  the Features, the pieces of ``geojson.store_feature`` (GCJ-02 navigation links, ``url_for``,
  ``go_url``, the brand slug, the open-now check), each timed for the same 20 stores;
* the functions with the most own time under cProfile.

Nothing here changes o2o: it only calls its functions.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH, ROOT, median, seed_database  # noqa: E402

sys.path.insert(0, str(ROOT))


def timed(fn, *a, **kw):
    t0 = time.perf_counter_ns()
    out = fn(*a, **kw)
    return (time.perf_counter_ns() - t0) / 1000.0, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="an already seeded SQLite database (default: seed a temp one)")
    ap.add_argument("--n", type=int, default=200, help="requests per pass (shopper positions)")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="also print a PROFILEJSON line")
    args = ap.parse_args(argv)

    tmp = None
    if args.db:
        db = Path(args.db)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="o2o-profile-")
        db = Path(tmp.name) / "o2o.db"
        seed_database(db, 30000)

    from bench_http import shopper_points

    points = shopper_points(db, n=args.n)
    os.environ["O2O_TILES"] = "none"

    from flask import request

    from o2o.geo import crs as crs_mod
    from o2o.geo.hours import is_open_at, now_beijing
    from o2o.services import finder
    from o2o.web import api, create_app, geojson
    from o2o.web import state as state_mod
    from o2o.web.params import NearbyParams, parse_query

    import ceiling_app
    from o2o.storage.sqlite import _SELECT_STORE as _SELECT

    app = create_app({"DATABASE_URL": f"sqlite:///{db.resolve()}", "SEED_STORES": 0, "SEED_SCANS": 0,
                      "TILES": "none", "SECRET_KEY": "bench-not-secret"})
    client = app.test_client()
    ceiling = ceiling_app.app.test_client()
    urls = [f"/api/v1/stores/nearby?lat={lat:.6f}&lon={lon:.6f}&k=20" for lat, lon in points]
    for u in urls[:20]:  # warm-up
        assert client.get(u).status_code == 200
        assert ceiling.get(u).status_code == 200

    stage_names = [
        ("parse", "validate the query string (`parse_query(NearbyParams, …)`, pydantic)"),
        ("refresh", "index freshness check (`state.index()`: one SQL read of `meta`)"),
        ("nearest", "index query (`StoreIndex.nearest`, k=20)"),
        ("rows", "fetch the 20 rows (`repo.get_stores`, SQL `IN (…)` + join, dicts)"),
        ("rowdict", "↳ of which `dict(sqlite3.Row)` × 20"),
        ("features", "build the 20 Features (`geojson.store_feature` × 20)"),
        ("nav", "↳ `nav_links` × 20 (GCJ-02 via numpy on scalars, 3 URLs, `quote`)"),
        ("gcj", "  ↳ of which `wgs84_to_gcj02` × 20"),
        ("url_for", "↳ `url_for('pages.store_page')` × 20"),
        ("go_url", "↳ `go_url` × 20 (`request.host_url` each time)"),
        ("slug", "↳ `brand_slug` × 20 (python-slugify)"),
        ("open_now", "↳ `is_open_at(hours, now_beijing())` × 20 (re-parses the hours)"),
        ("encode", "JSON-encode the body and build the response (`jsonify`)"),
    ]
    sub = {"rowdict", "nav", "gcj", "url_for", "go_url", "slug", "open_now"}
    body_bytes, nav_bytes, hooks = [], [], []
    per_pass = {k: [] for k, _ in stage_names}
    req_pass, ceil_pass = [], []

    for _ in range(args.passes):
        samples = {k: [] for k, _ in stage_names}
        req, ceil = [], []
        for u in urls:
            t, r = timed(client.get, u)
            assert r.status_code == 200
            req.append(t)
            t, r = timed(ceiling.get, u)
            ceil.append(t)
            with app.test_request_context(u):
                t, p = timed(parse_query, NearbyParams, request.args)
                samples["parse"].append(t)
                lon, lat = crs_mod.to_wgs84(p.lon, p.lat, p.crs)
                t, idx = timed(state_mod.index)
                samples["refresh"].append(t)
                t, (ids, dist) = timed(idx.nearest, lon, lat, k=p.k, radius_m=None, filters=api._filters(p))
                samples["nearest"].append(t)
                t, stores = timed(finder._with_distance, state_mod.repo(), ids, dist)
                samples["rows"].append(t)
                raw = state_mod.repo().conn.execute(
                    _SELECT + f" WHERE s.id IN ({','.join('?' * len(ids))})", ids.tolist()).fetchall()
                samples["rowdict"].append(timed(lambda: [dict(r) for r in raw])[0])
                t, feats = timed(lambda: [geojson.store_feature(s, p.crs) for s in stores])
                samples["features"].append(t)
                samples["nav"].append(timed(lambda: [geojson.nav_links(s) for s in stores])[0])
                samples["gcj"].append(timed(lambda: [crs_mod.wgs84_to_gcj02(s["lon"], s["lat"])
                                                     for s in stores])[0])
                from flask import url_for
                samples["url_for"].append(timed(lambda: [url_for("pages.store_page", store_id=s["id"])
                                                         for s in stores])[0])
                samples["go_url"].append(timed(lambda: [geojson.go_url(s["id"]) for s in stores])[0])
                samples["slug"].append(timed(lambda: [finder.brand_slug(s["brand"]) for s in stores])[0])
                samples["open_now"].append(timed(lambda: [is_open_at(s.get("hours"), now_beijing())
                                                          for s in stores])[0])
                hooks.append(timed(app.preprocess_request)[0])
                t, data = timed(lambda: api._geojson_response(geojson.collection(feats, p.crs)).get_data())
                samples["encode"].append(t)
                body_bytes.append(len(data))
                nav_bytes.append(sum(len(json.dumps({"nav": f["properties"]["nav"]}, ensure_ascii=False,
                                                    separators=(",", ":")).encode()) for f in feats))
        for k in per_pass:
            per_pass[k].append(median(samples[k]))
        req_pass.append(median(req))
        ceil_pass.append(median(ceil))

    stages = [{"key": k, "label": label, "us": median(per_pass[k]), "share": True} for k, label in stage_names]
    request_us = median(req_pass)
    top_sum = sum(s["us"] for s in stages if s["key"] not in sub)
    stages.append({"key": "rest", "label": "the rest: Flask/Werkzeug request and response objects, routing, "
                   "after_request headers, test client (whole request − the stages above)",
                   "us": request_us - top_sum, "share": True})
    stages.append({"key": "hooks", "label": "↳ of which the `before_request` hooks (`app.preprocess_request()`: "
                   "Flask-Limiter's check, though no limit applies to nearby)", "us": median(hooks), "share": True})

    prof = cProfile.Profile()
    prof.enable()
    for u in urls:
        client.get(u)
    prof.disable()
    st = pstats.Stats(prof)
    top = []
    for (file, line, func), (cc, nc, tt, ct, _callers) in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:15]:
        short = file
        for prefix in (str(ROOT) + "/.venv/lib/python3.11/site-packages/", str(ROOT) + "/"):
            short = short.replace(prefix, "")
        short = short.split("/lib/python3.11/")[-1]
        top.append({"func": f"{short}:{line}({func})", "calls_per_req": round(nc / len(urls), 2),
                    "tottime_ms_100": tt * 1000 / len(urls) * 100, "cumtime_ms_100": ct * 1000 / len(urls) * 100})

    result = {"calls": len(urls) * args.passes, "request_us": request_us, "ceiling_us": median(ceil_pass),
              "stages": stages, "top": top, "body_bytes": median(body_bytes),
              "nav_share": sum(nav_bytes) / max(sum(body_bytes), 1)}
    w = max(len(s["label"]) for s in stages)
    print(f"median µs per request over {len(urls)} shopper positions × {args.passes} passes")
    for s in stages:
        print(f"  {s['label']:<{w}}  {s['us']:8.0f}  {s['us'] / request_us * 100:5.1f} %")
    print(f"  {'whole nearby request (test client)':<{w}}  {request_us:8.0f}")
    print(f"  {'whole ceiling request (test client)':<{w}}  {result['ceiling_us']:8.0f}")
    print(f"  body {result['body_bytes']:,.0f} B, of which the `nav` links {result['nav_share'] * 100:.0f} %")
    print("top functions by own time (cProfile):")
    for f in top[:12]:
        print(f"  {f['tottime_ms_100']:7.1f} ms/100 req own  {f['cumtime_ms_100']:7.1f} cum  "
              f"{f['calls_per_req']:6g}/req  {f['func']}")
    if args.json:
        print("PROFILEJSON " + json.dumps(result))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
