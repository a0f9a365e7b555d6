"""The scan lake: export to partitioned GeoParquet, and Dask/one-process aggregations that agree
with the SQL analytics path on the same database."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import shapely

from o2o.lake import layout, query
from o2o.lake.export import export_scans
from o2o.lake.generate import generate_lake
from o2o.services import analytics
from o2o.services.seeding import seed
from o2o.services.windows import Filter, Window, parse_time
from o2o.storage.base import SCAN_FIELDS
from o2o.storage.sqlite import SqliteRepository

# dask's own parquet reader (the "read_parquet" engine) calls a pandas API pandas 3.1 deprecates
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                                        "ignore:The inplace keyword")

H = 3600
ELEVENTH = parse_time("2026-11-11T00:00:00+08:00")   # the festival day, Beijing time


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    """A seeded database: 1,500 stores and 60,000 scans (about 8 % of them not counted)."""
    path = tmp_path_factory.mktemp("lake-db") / "o2o.db"
    repo = SqliteRepository.connect(str(path))
    repo.migrate()
    seed(repo, 1500, 60_000, 1111)
    repo.close()
    return path


@pytest.fixture(scope="module")
def db(db_path):
    repo = SqliteRepository.connect(str(db_path))
    yield repo
    repo.close()


@pytest.fixture(scope="module")
def lake(db, tmp_path_factory):
    out = tmp_path_factory.mktemp("lake") / "scans"
    summary = export_scans(db, out, batch_size=7_000, row_group_rows=4_096)
    return out, summary


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two in-process workers (threads): fast to start for tests."""
    with query.dask_client("local", n_workers=2, threads_per_worker=1, processes=False) as c:
        yield c


def db_scans(repo) -> pd.DataFrame:
    rows = [r for batch in repo.scan_batches() for r in batch]
    return pd.DataFrame(rows, columns=list(SCAN_FIELDS))


def lake_table(out) -> pd.DataFrame:
    part = ds.partitioning(pa_schema(), flavor="hive")
    return ds.dataset(str(out), format="parquet", partitioning=part).to_table().to_pandas()


def pa_schema():
    import pyarrow as pa

    return pa.schema([("day", pa.string()), ("province", pa.string())])


# --------------------------------------------------------------------------- export
def test_export_writes_every_scan_once_in_its_day_and_province(db, lake):
    out, summary = lake
    src = db_scans(db).set_index("id").sort_index()
    got = lake_table(out).set_index("scan_id").sort_index()
    assert summary["rows"] == len(got) == len(src) == db.count_scans() == 60_000
    assert int(got["counted"].sum()) == db.count_scans(counted_only=True) < 60_000
    assert got.index.is_unique and (got.index == src.index).all()
    assert summary["max_scan_id"] == int(src.index.max())
    # Every column as the database has it (times as UTC instants; retailer as its name).
    seconds = (got["scanned_at"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    assert seconds.tolist() == src["scanned_at"].tolist()
    for col in ("store_id", "retailer_id", "lon", "lat"):
        assert got[col].tolist() == src[col].tolist(), col
    for col in ("brand", "category", "city", "client_kind", "province"):
        assert got[col].astype(object).tolist() == src[col].tolist(), col
    assert got["counted"].tolist() == (src["counted"] == 1).tolist()
    names = {r["id"]: r["name"] for r in db.list_retailers()}
    assert got["retailer"].astype(object).tolist() == [names[r] for r in src["retailer_id"]]
    # The day directory is the Beijing calendar day of the scan.
    beijing = pd.to_datetime(src["scanned_at"], unit="s", utc=True).dt.tz_convert("Asia/Shanghai")
    assert got["day"].tolist() == beijing.dt.strftime("%Y-%m-%d").tolist()


def test_export_layout_is_hive_day_then_province(db, lake):
    out, summary = lake
    days = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert days == [f"day=2026-11-{d:02d}" for d in range(1, 13)]
    provinces = {p.name.split("=", 1)[1] for p in out.glob("day=*/province=*")}
    assert provinces == set(db_scans(db)["province"])
    files = sorted(out.glob("day=*/province=*/part-*.parquet"))
    assert len(files) == summary["files"] and summary["partitions"] == len({f.parent for f in files})
    assert summary["bytes"] == sum(f.stat().st_size for f in files)
    manifest = json.loads((out / "_lake.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "o2o-scans-lake" and manifest["rows"] == 60_000
    assert manifest["partitioning"] == ["day", "province"]


def test_files_are_geoparquet_points_in_wgs84_without_client_hash(lake):
    out, _ = lake
    files = sorted(out.glob("day=2026-11-11/province=*/part-*.parquet"))
    assert files
    for f in files[:5]:
        meta = json.loads(pq.read_schema(f).metadata[b"geo"])
        assert meta["primary_column"] == "geometry"
        assert meta["columns"]["geometry"]["encoding"] == "WKB"
        assert meta["columns"]["geometry"]["geometry_types"] == ["Point"]
        g = gpd.read_parquet(f)
        assert g.crs.to_epsg() == 4326
        assert isinstance(g, gpd.GeoDataFrame) and g.geometry.name == "geometry"
        assert (g.geometry.geom_type == "Point").all()
        assert np.array_equal(shapely.get_x(g.geometry.values), g["lon"].to_numpy())
        assert np.array_equal(shapely.get_y(g.geometry.values), g["lat"].to_numpy())
        assert "client_hash" not in g.columns
        assert g["scanned_at"].is_monotonic_increasing  # rows in time order within a file
    whole = gpd.read_parquet(out)
    assert len(whole) == 60_000 and whole.crs.to_epsg() == 4326


def test_export_streams_in_batches_of_the_size_asked(db, tmp_path):
    sizes = []

    class Watching:
        def __getattr__(self, name):
            return getattr(db, name)

        def scan_batches(self, batch_size=500_000):
            for batch in db.scan_batches(batch_size):
                sizes.append(len(batch))
                yield batch

    seen = []
    summary = export_scans(Watching(), tmp_path / "lake", batch_size=5_000, progress=seen.append)
    assert max(sizes) == 5_000 and len(sizes) == 12 and sum(sizes) == 60_000
    assert seen == sizes and summary["rows"] == 60_000


def test_export_replaces_the_lake_and_leaves_nothing_behind(db, tmp_path):
    out = tmp_path / "lake"
    first = export_scans(db, out, batch_size=20_000)
    (out / "day=2026-11-11" / "province=上海市" / "stale.parquet").write_bytes(b"old")
    second = export_scans(db, out, batch_size=60_000)
    assert first["rows"] == second["rows"] == 60_000
    assert not list(out.rglob("stale.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]  # no temporary or old directories
    assert len(lake_table(out)) == 60_000


def test_export_refuses_to_replace_a_directory_that_is_not_a_lake(db, tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a scan lake"):
        export_scans(db, precious)
    assert (precious / "thesis.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


class FakeRepo:
    """Just what export_scans reads: retailers and scan batches."""

    def __init__(self, rows):
        self.rows = rows

    def list_retailers(self):
        return [{"id": 1, "name": "Fast Retailing"}]

    def scan_batches(self, batch_size=500_000, after_id=0):
        rows = [r for r in self.rows if r[0] > after_id]
        for i in range(0, len(rows), batch_size):
            yield rows[i:i + batch_size]


def _scan(i, province, city, t, lon=121.47, lat=31.23, counted=1, brand="Uniqlo"):
    return (i, 10 + i % 3, 1, brand, "Apparel", lon, lat, province, city, t, "phone", "f" * 32, counted)


def test_missing_and_awkward_provinces_round_trip(tmp_path):
    t = ELEVENTH + 5
    rows = [_scan(1, None, None, t), _scan(2, "A/B%省", "甲市", t), _scan(3, "上海市", "上海市", t),
            _scan(4, "上海市", "上海市", t, counted=0), _scan(5, "上海市", "上海市", ELEVENTH - 1)]
    summary = export_scans(FakeRepo(rows), tmp_path / "lake")
    out = tmp_path / "lake"
    assert summary["rows"] == 5
    assert (out / "day=2026-11-11" / "province=__HIVE_DEFAULT_PARTITION__").is_dir()
    assert (out / "day=2026-11-11" / "province=A%2FB%25省").is_dir()
    assert (out / "day=2026-11-10" / "province=上海市").is_dir()   # one second before midnight, Beijing
    got = lake_table(out).set_index("scan_id").sort_index()
    assert pd.isna(got["province"].iloc[0])
    assert got["province"].iloc[1:].tolist() == ["A/B%省", "上海市", "上海市", "上海市"]
    for fn in (lambda **k: query.regions(out, **k), lambda **k: query.regions_local(out, **k)):
        reg = fn()
        assert dict(zip(reg["province"], reg["scans"])) == {"上海市": 2, "A/B%省": 1}  # no region → none
        assert dict(zip(*[fn(provinces=["A/B%省"])[c] for c in ("province", "scans")])) == {"A/B%省": 1}
    for fn in (query.heatmap, query.heatmap_local):
        cells, total = fn(out, 7)
        assert total == 4 and cells["count"].sum() == 4          # the null province still counts
        assert fn(out, 7, since=ELEVENTH)[1] == 3


def test_incremental_export_adds_only_new_scans(tmp_path):
    rows = [_scan(i, "上海市" if i % 2 else "江苏省", "某市", ELEVENTH + 60 * i) for i in range(1, 101)]
    repo = FakeRepo(rows[:60])
    out = tmp_path / "lake"
    assert export_scans(repo, out, incremental=True)["rows"] == 60      # no lake yet: a full export
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    repo.rows = rows
    added = export_scans(repo, out, incremental=True, batch_size=25)
    assert added["rows"] == 40 and added["max_scan_id"] == 100
    assert {p: p.stat().st_mtime_ns for p in before} == before          # nothing rewritten
    assert len(list(out.rglob("*.parquet"))) == len(before) + added["files"]
    assert sorted(lake_table(out)["scan_id"]) == list(range(1, 101))
    manifest = layout.read_manifest(out)
    assert manifest["rows"] == 100 and manifest["max_scan_id"] == 100 and len(manifest["exports"]) == 2
    assert export_scans(repo, out, incremental=True)["rows"] == 0
    assert len(lake_table(out)) == 100 and layout.read_manifest(out)["rows"] == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]

    class Skipping(FakeRepo):
        asked = None

        def scan_batches(self, batch_size=500_000, after_id=0):
            Skipping.asked = after_id
            yield from FakeRepo(self.rows[after_id:]).scan_batches(batch_size)

    more = rows + [_scan(i, "上海市", "某市", ELEVENTH + 60 * i) for i in range(101, 111)]
    assert export_scans(Skipping(more), out, incremental=True)["rows"] == 10 and Skipping.asked == 100
    assert sorted(lake_table(out)["scan_id"]) == list(range(1, 111))


def test_partition_writer_bounds_files_and_row_groups(tmp_path):
    rows = [_scan(i, "上海市", "上海市", ELEVENTH + i) for i in range(1, 2_501)]
    from o2o.lake.export import batch_table, write_partitioned

    writer = layout.PartitionWriter(tmp_path, row_group_rows=300, max_file_rows=1_000, max_buffered_rows=700)
    for i in range(0, 2_500, 250):
        write_partitioned(writer, *batch_table(rows[i:i + 250], {1: "Fast Retailing"}))
    summary = writer.close()
    files = sorted(tmp_path.glob("day=2026-11-11/province=上海市/part-*.parquet"))
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    counts = [pq.ParquetFile(f).metadata.num_rows for f in files]
    assert counts == [1_000, 1_000, 500] and summary["rows"] == 2_500
    assert max(pq.ParquetFile(f).metadata.row_group(i).num_rows
               for f in files for i in range(pq.ParquetFile(f).num_row_groups)) <= 300
    ids = pd.concat([pq.read_table(f).to_pandas() for f in files])["scan_id"].tolist()
    assert ids == list(range(1, 2_501))


# --------------------------------------------------------------------------- the same answers as SQL
ALL, MIDNIGHT = (None, None), (ELEVENTH, ELEVENTH + H)     # everything; the midnight surge
ODD = (ELEVENTH - 3 * 86400 + 1234, ELEVENTH + 7 * H)      # odd edges across days
AFTER = (ELEVENTH + 86400 * 5, None)                        # after the last scan: nothing
CASES = {
    "all": (ALL, Filter()),
    "midnight": (MIDNIGHT, Filter()),
    "odd-uniqlo": (ODD, Filter(brands=("Uniqlo",))),
    "odd-two-brands-apparel": (ODD, Filter(brands=("Uniqlo", "Haier"), categories=("Apparel",))),
    "retailer": (ALL, Filter(retailers=("Fast Retailing",))),
    "after-uniqlo": (AFTER, Filter(brands=("Uniqlo",))),
}


def _kw(window: Window, flt: Filter) -> dict:
    return dict(since=window.since, until=window.until, brands=flt.brands, retailers=flt.retailers,
                categories=flt.categories)


@pytest.mark.parametrize("case", list(CASES))
def test_heatmap_equals_the_sql_path(db, lake, client, case):
    out, _ = lake
    (since, until), flt = CASES[case]
    window = Window(since, until)
    want, want_total = analytics.heatmap(db, "scans", 7, window, flt)
    dask_cells, dask_total = query.heatmap(out, 7, client=client, **_kw(window, flt))
    local_cells, local_total = query.heatmap_local(out, 7, **_kw(window, flt))
    pd.testing.assert_frame_equal(dask_cells, want, check_dtype=False)
    pd.testing.assert_frame_equal(local_cells, want, check_dtype=False)
    assert dask_total == local_total == want_total
    if case == "after-uniqlo":
        assert want_total == 0
    elif case == "all":
        assert want_total == db.count_scans(counted_only=True)
    else:
        assert 0 < want_total < db.count_scans(counted_only=True)


def test_heatmap_with_a_bbox_and_other_resolutions_equals_the_sql_path(db, lake, client):
    out, _ = lake
    shanghai = (120.8, 30.6, 122.0, 31.9)
    for res in (4, 6, 9):
        want, total = analytics.heatmap(db, "scans", res, Window(ELEVENTH, ELEVENTH + 86400), bbox=shanghai)
        got, got_total = query.heatmap(out, res, since=ELEVENTH, until=ELEVENTH + 86400, bbox=shanghai,
                                       client=client)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert got_total == total and 0 < total < db.count_scans(counted_only=True) / 4


@pytest.mark.parametrize("level", ["province", "city"])
@pytest.mark.parametrize("since,until,flt", [
    (None, None, Filter()),
    (ELEVENTH, ELEVENTH + 2 * H, Filter()),
    (ELEVENTH - 86400, ELEVENTH + 86400, Filter(brands=("Uniqlo",))),
], ids=["all", "midnight", "uniqlo-two-days"])
def test_regions_equal_the_sql_path(db, lake, client, level, since, until, flt):
    out, _ = lake
    keys = ["province"] if level == "province" else ["province", "city"]
    sql = analytics.regions(db, level, Window(since, until), flt)
    sql = sql[sql["scans"] > 0].sort_values(keys).reset_index(drop=True)
    for got in (query.regions(out, level, client=client, **_kw(Window(since, until), flt)),
                query.regions_local(out, level, **_kw(Window(since, until), flt))):
        assert got["scans"].is_monotonic_decreasing
        got = got.sort_values(keys).reset_index(drop=True)
        assert got[keys].astype(object).values.tolist() == sql[keys].values.tolist()
        assert got["scans"].tolist() == sql["scans"].tolist()
        assert got["top_brand"].tolist() == sql["top_brand"].tolist()
        assert abs(got["share"].sum() - 1) < 0.01
    assert len(sql) > 1


def test_regions_count_distinct_stores_and_top_brand_scans(db, lake):
    out, _ = lake
    got = query.regions_local(out, "province", brands=["Uniqlo", "Haier"]).set_index("province")
    src = db_scans(db)
    src = src[(src["counted"] == 1) & src["brand"].isin(["Uniqlo", "Haier"])]
    assert got["stores_scanned"].to_dict() == src.groupby("province")["store_id"].nunique().to_dict()
    per_brand = src.groupby(["province", "brand"]).size()
    for province, row in got.iterrows():
        assert row["top_brand_scans"] == per_brand.loc[province].max()
        assert row["top_brand_scans"] == per_brand.loc[(province, row["top_brand"])]


def test_a_time_window_opens_only_its_days(lake):
    out, _ = lake
    files = query.lake_files(out, query.scan_filter(since=ELEVENTH, until=ELEVENTH + H))
    assert files and {v["day"] for _, v, _ in files} == {"2026-11-11"}
    files = query.lake_files(out, query.scan_filter(since=ELEVENTH - 1, until=ELEVENTH + 1))
    assert {v["day"] for _, v, _ in files} == {"2026-11-10", "2026-11-11"}
    files = query.lake_files(out, query.scan_filter(provinces=["广东省"]))
    assert files and {v["province"] for _, v, _ in files} == {"广东省"}
    assert len(query.lake_files(out)) == len(list(out.glob("day=*/province=*/*.parquet")))


def test_no_lake_is_an_error(tmp_path, client):
    with pytest.raises(FileNotFoundError):
        query.heatmap_local(tmp_path / "nowhere", 7)
    with pytest.raises(FileNotFoundError):
        query.heatmap(tmp_path / "nowhere", 7, client=client)


# --------------------------------------------------------------------------- Dask vs one process
@pytest.fixture(scope="module")
def generated(db, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "scans"
    stores = pd.DataFrame(list(db.iter_stores()))
    summary = generate_lake(out, 150_000, random_seed=7, stores=stores, chunk_rows=40_000)
    return out, summary, stores


def lake_arrow(out):
    part = ds.partitioning(pa_schema(), flavor="hive")
    return ds.dataset(str(out), format="parquet", partitioning=part).to_table().sort_by("scan_id")


def test_generated_lake_is_deterministic_and_festival_shaped(generated, tmp_path):
    out, summary, stores = generated
    assert summary["rows"] == 150_000 and summary["max_scan_id"] == 150_000
    again = generate_lake(tmp_path / "again", 150_000, random_seed=7, stores=stores, chunk_rows=40_000)
    generate_lake(tmp_path / "other", 150_000, random_seed=8, stores=stores, chunk_rows=40_000)
    first, second, other = (lake_arrow(p) for p in (out, tmp_path / "again", tmp_path / "other"))
    assert first.equals(second) and again["bytes"] == summary["bytes"]
    assert not first.select(["store_id", "scanned_at"]).equals(other.select(["store_id", "scanned_at"]))
    a = first.drop_columns(["geometry"]).to_pandas()
    assert a["scan_id"].tolist() == list(range(1, 150_001))
    per_day = a.groupby("day").size()
    assert per_day.idxmax() == "2026-11-11" and per_day.loc["2026-11-11"] > 0.4 * len(a)
    assert 0.88 < a["counted"].mean() < 0.93
    assert not a.loc[a["client_kind"].astype(object) == "bot", "counted"].any()
    # each scan is at its store, in the store's province and city
    s = stores.set_index("id")
    assert (a["lon"].to_numpy() == s.loc[a["store_id"], "lon"].to_numpy()).all()
    assert (a["province"].to_numpy() == s.loc[a["store_id"], "province"].to_numpy()).all()
    assert (a["retailer"].astype(object).to_numpy() == s.loc[a["store_id"], "retailer"].to_numpy()).all()
    assert set(s.loc[a["store_id"].unique(), "status"]) == {"open"}


@pytest.mark.parametrize("engine", query.ENGINES)
def test_dask_equals_one_process_on_a_generated_lake(generated, client, engine):
    out, _, _ = generated
    # dask's read_parquet opens every file of the plan: kept to three provinces to stay fast
    some = {"provinces": ["上海市", "广东省", "北京市"]} if engine == "read_parquet" else {}
    kw = dict(since=ELEVENTH - 2 * 86400, until=ELEVENTH + 3 * H, brands=["Uniqlo", "Anta", "Haier"])
    for args in (some, {**kw, **some}):
        a, ta = query.heatmap(out, 6, client=client, engine=engine, task_bytes=1_000_000, **args)
        b, tb = query.heatmap_local(out, 6, **args)
        pd.testing.assert_frame_equal(a, b)
        assert ta == tb > 0
        pd.testing.assert_frame_equal(query.regions(out, "city", client=client, engine=engine, **args),
                                      query.regions_local(out, "city", **args))
    # and both equal a plain count of the rows
    rows = lake_table(out)
    rows = rows[rows["counted"]]
    assert query.heatmap_local(out, 6)[1] == len(rows)
    assert query.regions_local(out)["scans"].tolist() == rows.groupby("province").size().sort_values(
        ascending=False, kind="stable").tolist()


def test_dedupe_changes_nothing_but_speed(generated):
    out, _, _ = generated
    a = query.heatmap_local(out, 8, dedupe=True)
    b = query.heatmap_local(out, 8, dedupe=False)
    pd.testing.assert_frame_equal(a[0], b[0])


def test_partial_counts_against_a_plain_groupby():
    rng = np.random.default_rng(3)
    n = 20_000
    df = pd.DataFrame({
        "province": rng.choice(np.array(["甲省", "乙省", None], dtype=object), n),
        "city": rng.choice(np.array(["一市", "二市"], dtype=object), n),
        "brand": rng.choice(np.array(["A", "B", "C"], dtype=object), n),
        "store_id": rng.integers(1, 50, n),
        "lon": rng.choice(np.round(rng.uniform(100, 120, 300), 5), n),
        "lat": rng.choice(np.round(rng.uniform(20, 40, 300), 5), n),
    })
    got = query.store_counts(df).set_index(query.STORE_KEYS)["count"].sort_index()
    want = df.groupby(query.STORE_KEYS, dropna=False).size().sort_index()
    assert got.to_dict() == want.to_dict()
    cells = query.cell_counts(df, 7).set_index("cell")["count"].sort_index()
    import h3

    plain = pd.Series([int(h3.latlng_to_cell(y, x, 7), 16) for x, y in zip(df["lon"], df["lat"])]).value_counts()
    assert cells.to_dict() == plain.sort_index().to_dict()


# --------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def runner(db_path):
    from o2o.cli import register_commands
    from o2o.web import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{db_path}", "SEED_STORES": 0, "SECRET_KEY": "t",
                      "TILES": "none", "TESTING": True})
    register_commands(app)
    return app.test_cli_runner()


def test_cli_export_heatmap_and_regions(runner, db, tmp_path):
    lake_dir = tmp_path / "lake"
    result = runner.invoke(args=["scans", "export", "--to", str(lake_dir), "--batch-size", "25000"])
    assert result.exit_code == 0, result.output
    assert "exported 60,000 scans" in result.output and "exporting scans" in result.output  # the bar
    assert len(lake_table(lake_dir)) == 60_000
    result = runner.invoke(args=["scans", "export", "--to", str(lake_dir), "--incremental"])
    assert result.exit_code == 0 and "added 0 scans" in result.output, result.output

    since, until = "2026-11-10T20:00:00+08:00", "2026-11-11T02:00:00+08:00"
    window = Window(parse_time(since), parse_time(until))
    want, total = analytics.heatmap(db, "scans", 6, window, Filter(brands=("Uniqlo", "Anta")))
    want_rows = [[format(int(c), "x"), str(n)] for c, n in zip(want["cell"], want["count"])]
    common = ["scans", "heatmap", str(lake_dir), "--res", "6", "--since", since, "--until", until,
              "--brand", "Uniqlo", "--brand", "Anta", "--scheduler", "none"]
    result = runner.invoke(args=common)
    assert result.exit_code == 0, result.output
    lines = [line.split(",") for line in result.stdout.strip().splitlines()]
    assert lines[0] == ["h3", "count"] and lines[1:] == want_rows and total > 0

    out = tmp_path / "heat.geojson"
    result = runner.invoke(args=common + ["--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and data["total"] == total and data["res"] == 6
    assert [[f["properties"]["h3"], str(f["properties"]["count"])] for f in data["features"]] == want_rows
    assert data["features"][0]["geometry"]["type"] == "Polygon"

    out = tmp_path / "regions.json"
    result = runner.invoke(args=["scans", "regions", str(lake_dir), "--level", "city", "--since", since,
                                 "--until", until, "--scheduler", "none", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    sql = analytics.regions(db, "city", window)
    sql = sql[sql["scans"] > 0]
    assert {(r["province"], r["city"]): r["scans"] for r in rows} == \
        {(p, c): n for p, c, n in zip(sql["province"], sql["city"], sql["scans"])}


def test_cli_runs_on_a_local_cluster_of_worker_processes(runner, lake, tmp_path):
    """Real worker processes (functions and filters pickled to them), as on a cluster."""
    out, _ = lake
    since, until = ELEVENTH, ELEVENTH + 86400
    csv_out = tmp_path / "heat.csv"
    result = runner.invoke(args=["scans", "heatmap", str(out), "--res", "7", "--since", "2026-11-11T00:00:00+08:00",
                                 "--until", "2026-11-12T00:00:00+08:00", "--scheduler", "local", "--workers", "1",
                                 "--threads", "2", "--output", str(csv_out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(csv_out, dtype={"h3": str})
    want, _ = query.heatmap_local(out, 7, since=since, until=until)
    assert got["h3"].tolist() == [format(int(c), "x") for c in want["cell"]]
    assert got["count"].tolist() == want["count"].tolist()


def test_cli_generate(runner, tmp_path):
    result = runner.invoke(args=["scans", "generate", str(tmp_path / "g"), "--count", "20000", "--stores", "300",
                                 "--random-seed", "5"])
    assert result.exit_code == 0, result.output
    assert "generated 20,000 scans" in result.output
    assert len(lake_table(tmp_path / "g")) == 20_000


@pytest.mark.parametrize("args,message", [
    (["scans", "heatmap", "/nonexistent/lake", "--scheduler", "none"], "no scan lake"),
    (["scans", "heatmap", ".", "--since", "yesterday"], "not an ISO 8601"),
    (["scans", "heatmap", ".", "--scheduler", "yarn"], "scheduler address"),
    (["scans", "regions", ".", "--bbox", "1,2,3"], "minLon,minLat,maxLon,maxLat"),
    (["scans", "regions", ".", "--level", "district"], "district"),
])
def test_cli_rejects_bad_input(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output


def test_postgis_exports_the_same_lake(db_path, lake, tmp_path, request):
    """The lake does not depend on the backend: a PostGIS copy of the database exports the same rows."""
    from o2o.services.migration import migrate_data
    from o2o.storage import open_repository

    pg_url = request.getfixturevalue("pg_url")
    migrate_data(f"sqlite:///{db_path}", pg_url)
    pg = open_repository(pg_url)
    summary = export_scans(pg, tmp_path / "pg-lake", batch_size=9_000)
    pg.close()
    out, _ = lake
    key = ["scan_id"]
    want = lake_table(out).sort_values(key).reset_index(drop=True)
    got = lake_table(tmp_path / "pg-lake").sort_values(key).reset_index(drop=True)
    assert summary["rows"] == len(want) == 60_000
    pd.testing.assert_frame_equal(got[sorted(got.columns)], want[sorted(want.columns)], check_categorical=False)


def test_export_leaves_the_last_minutes_for_the_next_run(tmp_path):
    """A scan still being written may hold a lower id than one already committed: the export
    stops short of the settling period, and the next incremental run takes the rest."""
    t = 1_762_790_400
    rows = [_scan(i, "上海市", "上海市", t + i * 60) for i in range(1, 11)]
    repo = FakeRepo(rows)
    first = export_scans(repo, tmp_path / "lake", now=t + 6 * 60 + 300, settle_s=300)
    assert first["rows"] == 5 and first["max_scan_id"] == 5  # scans 6-10 are within 300 s of "now"
    again = export_scans(repo, tmp_path / "lake", incremental=True, now=t + 3600, settle_s=300)
    assert again["rows"] == 5 and again["max_scan_id"] == 10
