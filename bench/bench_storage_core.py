"""Storage hot paths in process, for comparing two checkouts of o2o (the storage core's before/after).

Run: ``TREE=/path/to/checkout .venv/bin/python bench/bench_storage_core.py`` (default: this checkout);
prints one JSON line of medians. Seeds a 30,000-store SQLite database in a temporary folder, then
times the repository's reads (``get_stores`` of 20 ids, ``get_store``, ``sync_marks``), a scan
(``record_scan``), an import of 3,000 new rows and of the same rows again, and ``nearby`` and
``/go`` through the app's test client. Alternate two checkouts a few times on a quiet machine and
compare medians (docs/benchmarks.md, "Storage core").
"""
import json, os, statistics, sys, tempfile, time, random
TREE = os.environ.get("TREE") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TREE)
os.chdir(TREE)
from o2o.storage import open_repository
from o2o.services.seeding import seed
from o2o.services import accounts, importer
from o2o.services.index_sync import IndexSync
from o2o.regions import load_regions

def med(f, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e6

url = os.environ.get("URL")
tmp = tempfile.mkdtemp()
url = url or f"sqlite:///{tmp}/b.db"
repo = open_repository(url); repo.migrate()
if repo.count_stores() == 0:
    seed(repo, 30000, 0, 7)
ids = [s for s, *_ in repo.index_rows(0)]
rng = random.Random(1)
out = {}
out["get_stores_20_us"] = med(lambda: repo.get_stores(rng.sample(ids, 20)), 2000)
out["get_store_us"] = med(lambda: repo.get_store(rng.choice(ids)), 2000)
out["sync_marks_us"] = med(repo.sync_marks, 3000)
store = repo.get_store(ids[0])
t = [1_762_790_400]
def scan():
    t[0] += 1; repo.record_scan(store, t[0], "phone", f"h{t[0] % 50}", 1800)
out["record_scan_us"] = med(scan, 2000)
regions = load_regions()
rid, key = accounts.create_retailer(repo, f"Bench {time.time()}", ["bench.tmall.com"])
who = accounts.authenticate(repo, key)
sync = IndexSync(); sync.load(repo)
lines = ["external_id,name,brand,category,lon,lat,address"]
for i in range(3000):
    lines.append(f"B{i},店{i},BenchBrand{i % 7},Apparel,{116.0 + (i % 60) * 0.01:.5f},{39.5 + (i // 60) * 0.01:.5f},路{i}号")
data = ("\n".join(lines) + "\n").encode()
def imp():
    parsed = importer.parse(data, "x.csv")
    rows = parsed.rows if hasattr(parsed, "rows") else parsed[0]  # the reader changed shape in issue 14
    importer.import_rows(repo, regions, sync.refresh(repo), who, rows)
t0 = time.perf_counter(); imp(); out["import_3000_new_s"] = time.perf_counter() - t0
t0 = time.perf_counter(); imp(); out["import_3000_unchanged_s"] = time.perf_counter() - t0
from o2o.web import create_app
app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True, "TILES": "none"})
c = app.test_client()
pts = [(rng.uniform(30, 40), rng.uniform(110, 121)) for _ in range(300)]
i = [0]
def nearby():
    lat, lon = pts[i[0] % 300]; i[0] += 1
    assert c.get(f"/api/v1/stores/nearby?lat={lat}&lon={lon}&k=20").status_code == 200
nearby()
out["nearby_in_process_us"] = med(nearby, 600)
def go():
    r = c.get(f"/go/{rng.choice(ids)}", headers={"User-Agent": f"Mozilla/5.0 (iPhone) Mobile/{rng.random()}"})
    assert r.status_code in (302, 410), r.status_code
app.config["RATELIMIT_ENABLED"] = False
out["go_in_process_us"] = med(go, 600)
print(json.dumps(out))
