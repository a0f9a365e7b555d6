#!/usr/bin/env python
"""Where a ``/api/v1/stores/nearby`` request spends its time, in one process.

    .venv/bin/python bench/profile_nearby.py                 # seeds its own 30,000-store temp database
    .venv/bin/python bench/profile_nearby.py --db /tmp/x/o2o.db --n 300
    .venv/bin/python bench/profile_nearby.py --query "&brand=Uniqlo"

``bench_http.py`` runs it when nearby is under 70 % of the ceiling. It calls the apps' WSGI
callables directly (no sockets, no gunicorn, no test client) over the same shopper positions as the
HTTP benchmark, and follows whatever code path the app takes today:

* timed without a profiler, median µs per request: the whole request through the app's WSGI
  callable (the WSGI-level path of ``o2o/web/fastpath.py`` when it answers; the share it answered
  is printed), the same request through Flask alone (as with ``O2O_FAST_NEARBY=0``), and the
  ceiling app; and, for Flask's path, the view function alone (``app.view_functions``, in a
  request context, building its response), the ``before_request`` hooks
  (``app.preprocess_request()``), opening the session and ``process_response``;
* under cProfile, the call tree below the WSGI-level path's ``_answer`` (or, when Flask answers, the view): every function the view calls, and what they
  call, down to a few levels, with its share of the view's time (cProfile slows small calls more
  than big ones, so read the shares as a map of where the time goes, not as exact figures);
* the functions with the most own time;
* the body size, and the share of it taken by each top-level property of the features.

Nothing here changes o2o: it only calls it.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, median, seed_database  # noqa: E402

sys.path.insert(0, str(ROOT))


def _ns(fn, *a, **kw):
    t0 = time.perf_counter_ns()
    out = fn(*a, **kw)
    return (time.perf_counter_ns() - t0) / 1000.0, out


def _short(key) -> str:
    file, line, func = key
    if file == "~":
        return func
    for prefix in (str(ROOT) + "/.venv/lib/python3.11/site-packages/", str(ROOT) + "/"):
        file = file.replace(prefix, "")
    file = file.split("/lib/python3.11/")[-1]
    return f"{file}:{line}({func})"


def _key_of(fn):
    fn = inspect.unwrap(fn)
    code = fn.__code__
    return (code.co_filename, code.co_firstlineno, code.co_name)


def call_tree(st: pstats.Stats, root, n_requests: int, min_share=0.04, depth=3) -> list[dict]:
    """Rows (depth, function, share of root, µs/request under cProfile) below ``root``.

    cProfile records caller → callee edges, not whole stacks, so a function called from several
    places gets its callees' time from all of them. Time is therefore handed down in proportion:
    a callee gets (its time from this caller) × (the caller's time in this branch / the caller's
    total time), so a branch never holds more than its parent.
    """
    st.calc_callees()
    total = st.stats[root][3]
    rows = []

    def walk(key, in_branch, level, seen):
        if level > depth:
            return
        own_total = st.stats[key][3] or 1e-12
        kids = []
        for callee, val in st.all_callees.get(key, {}).items():
            ct = val[3] if isinstance(val, tuple) and len(val) >= 4 else 0.0
            t = ct * in_branch / own_total
            if t / total >= min_share and callee not in seen:
                kids.append((t, callee))
        for t, callee in sorted(kids, key=lambda x: -x[0]):
            rows.append({"depth": level, "func": _short(callee), "share": t / total, "us": t * 1e6 / n_requests})
            walk(callee, t, level + 1, seen | {callee})

    walk(root, total, 1, {root})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="an already seeded SQLite database (default: seed a temp one)")
    ap.add_argument("--n", type=int, default=200, help="requests per pass (shopper positions)")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--query", default="", help="extra query string, e.g. '&radius_km=3'")
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

    from o2o.web import create_app

    import ceiling_app
    from werkzeug.test import EnvironBuilder

    app = create_app({"DATABASE_URL": f"sqlite:///{db.resolve()}", "SEED_STORES": 0, "SEED_SCANS": 0,
                      "TILES": "none", "SECRET_KEY": "bench-not-secret"})
    view = app.view_functions["api.nearby"]
    client = app.test_client()
    fast = app.wsgi_app                          # o2o/web/fastpath.py in front of Flask, when on
    flask_wsgi = getattr(fast, "flask", fast)    # Flask's own WSGI callable
    ceiling_wsgi = ceiling_app.app.wsgi_app
    urls = [f"/api/v1/stores/nearby?lat={lat:.6f}&lon={lon:.6f}&k=20{args.query}" for lat, lon in points]
    environs = {u: EnvironBuilder(u, base_url="http://127.0.0.1:8000").get_environ() for u in urls}

    def call(wsgi, u):
        """One request straight into a WSGI callable (no test client), its body read."""
        got = []
        body = b"".join(wsgi(dict(environs[u]), lambda status, headers, exc=None: got.append(status)))
        assert got[0].startswith("200"), (u, got)
        return body

    for u in urls[:20]:  # warm-up: caches, brand subtrees
        assert client.get(u).status_code == 200
        call(ceiling_wsgi, u)
    for u in urls:
        call(flask_wsgi, u)   # every store of the answers in the Feature cache
    search = app.extensions["o2o"].search_sync
    search.ensure_started()
    search._ready.wait(120)   # the text index's background build must not compete with the timings
    if search.thread is not None:
        search.thread.join(120)
    answered_before = getattr(fast, "answered", 0)

    from flask import request

    req_p, flask_p, ceil_p, view_p, hook_p, sess_p, post_p = [], [], [], [], [], [], []
    for _ in range(args.passes):
        req, fl, ceil, vw, hk, se, po = [], [], [], [], [], [], []
        for u in urls:
            req.append(_ns(call, fast, u)[0])
            fl.append(_ns(call, flask_wsgi, u)[0])
            ceil.append(_ns(call, ceiling_wsgi, u)[0])
            with app.test_request_context(u):
                se.append(_ns(app.session_interface.open_session, app, request)[0])
                hk.append(_ns(app.preprocess_request)[0])
                t, rv = _ns(lambda: app.make_response(view()))
                vw.append(t)
                po.append(_ns(app.process_response, rv)[0])
        req_p.append(median(req))
        flask_p.append(median(fl))
        ceil_p.append(median(ceil))
        view_p.append(median(vw))
        hook_p.append(median(hk))
        sess_p.append(median(se))
        post_p.append(median(po))
    request_us, flask_us, ceiling_us, view_us, hooks_us = (median(req_p), median(flask_p), median(ceil_p),
                                                          median(view_p), median(hook_p))
    session_us, process_us = median(sess_p), median(post_p)
    answered = getattr(fast, "answered", 0) - answered_before
    fast_share = answered / (len(urls) * args.passes)

    # Body: size, and bytes per top-level property of the features (what a lighter payload would save).
    sizes, prop_bytes = [], {}
    for u in urls[:50]:
        body = client.get(u).get_data()
        sizes.append(len(body))
        for f in json.loads(body).get("features", []):
            for k, v in f.get("properties", {}).items():
                prop_bytes[k] = prop_bytes.get(k, 0) + len(json.dumps({k: v}, ensure_ascii=False,
                                                                      separators=(",", ":")).encode()) - 2
    total_bytes = sum(sizes) or 1
    props = sorted(({"prop": k, "share": v / total_bytes} for k, v in prop_bytes.items()), key=lambda r: -r["share"])

    prof = cProfile.Profile()
    prof.enable()
    for u in urls:
        call(fast, u)
    prof.disable()
    st = pstats.Stats(prof)
    answer = getattr(type(fast), "_answer", None)
    root = _key_of(answer) if fast_share > 0.5 and answer is not None else _key_of(view)
    if root not in st.stats:  # a wrapper we could not see through: use the outermost view
        root = (view.__code__.co_filename, view.__code__.co_firstlineno, view.__code__.co_name)
    tree = call_tree(st, root, len(urls))
    top = []
    for key, (cc, nc, tt, ct, _callers) in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:15]:
        top.append({"func": _short(key), "calls_per_req": round(nc / len(urls), 2),
                    "tottime_ms_100": tt * 1000 / len(urls) * 100, "cumtime_ms_100": ct * 1000 / len(urls) * 100})

    result = {"calls": len(urls) * args.passes, "query": args.query, "request_us": request_us,
              "flask_us": flask_us, "fast_share": fast_share,
              "ceiling_us": ceiling_us, "view_us": view_us, "hooks_us": hooks_us,
              "rest_us": flask_us - view_us - hooks_us, "session_us": session_us, "process_us": process_us,
              "view": _short(root), "tree": tree, "top": top,
              "body_bytes": median(sizes), "props": props}

    print(f"median µs per request over {len(urls)} shopper positions × {args.passes} passes (no profiler)")
    print(f"  whole nearby request (the app's WSGI callable)  {request_us:8.0f}   "
          f"{fast_share * 100:.0f} % answered below Flask (o2o/web/fastpath.py)")
    print(f"  the same through Flask alone (O2O_FAST_NEARBY=0) {flask_us:8.0f}")
    print(f"  ↳ the view alone, with its response  {view_us:8.0f}")
    print(f"  ↳ before_request hooks               {hooks_us:8.0f}")
    print(f"  ↳ opening the session                {session_us:8.0f}")
    print(f"  ↳ process_response (after_request, session save) {process_us:5.0f}")
    print(f"  whole ceiling request (WSGI)         {ceiling_us:8.0f}")
    print(f"call tree under {result['view']} (cProfile; share of the view's time):")
    for r in tree:
        print(f"  {'  ' * (r['depth'] - 1)}{r['share'] * 100:5.1f} %  {r['func']}")
    print(f"body {result['body_bytes']:,.0f} B; bytes by feature property: "
          + ", ".join(f"{p['prop']} {p['share'] * 100:.0f} %" for p in props[:6]))
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
