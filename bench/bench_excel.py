"""Importing stores from Excel against the same rows from CSV, in the same runs.

Run: ``.venv/bin/python bench/bench_excel.py [--rows 30000] [--runs 3] [--write-docs]``

One file of N stores (Chinese headers, Amap/GCJ-02 coordinates, a title row over the header, codes
as text) is written as a GBK CSV and as an ``.xlsx``. Measured, each into a fresh SQLite database:
reading alone (python-calamine, which the importer uses, against openpyxl's read-only mode, the
classic pure-Python reader), the whole import of each file, and a dry run of the ``.xlsx``
(every check, nothing stored). Aim (issue 14): the ``.xlsx`` import at most 3× the CSV's and
under 10 s for 30,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time

from _common import ROOT, import_setup, machine_note, median, now_text, write_section

sys.path.insert(0, str(ROOT))

from o2o.geo import crs  # noqa: E402
from o2o.regions import load_regions  # noqa: E402
from o2o.seed.stores import generate  # noqa: E402
from o2o.services import importer, sheets  # noqa: E402

HEADER = ["门店编码", "门店名称", "品牌", "品类", "经度", "纬度", "坐标系", "门店地址", "营业时间", "门店电话", "线上链接"]


def make_rows(n: int) -> list[list]:
    stores = generate(n, 4242).stores
    g_lon, g_lat = crs.wgs84_to_gcj02(stores["lon"].to_numpy(), stores["lat"].to_numpy())
    return [[row.external_id, row.name, row.brand, row.category, round(float(g_lon[i]), 7), round(float(g_lat[i]), 7),
             "高德", row.address, row.hours, row.phone, f"https://bench.tmall.com/store/{row.external_id}"]
            for i, row in enumerate(stores.itertuples())]


def as_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


def as_xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("门店")
    sheet.append(["2026 双11 参与门店清单"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read_openpyxl(data: bytes) -> int:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return n


def import_once(data: bytes, name: str, regions, dry_run: bool = False) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        repo, rid, principal, sync = import_setup(f"{tmp}/o2o.db")
        t0 = time.perf_counter()
        parsed = importer.parse(data, name)
        report = importer.import_rows(repo, regions, sync.refresh(repo), principal, parsed.rows, dry_run=dry_run)
        elapsed = time.perf_counter() - t0
        stored = len(repo.stores_of_retailer(rid))
        repo.close()
    return elapsed, {"inserted": report.inserted, "rejected": len(report.rejected), "stored": stored,
                     "unknown": parsed.unknown_columns}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=30_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    rows = make_rows(args.rows)
    csv_data, xlsx_data = as_csv(rows), as_xlsx(rows)
    regions = load_regions()
    regions.locate([116.4], [39.9])  # warm
    t: dict[str, list[float]] = {}
    checks = {}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        sheets.read_spreadsheet(xlsx_data, "xlsx", 10 ** 7)
        t.setdefault("read_calamine", []).append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read_openpyxl(xlsx_data)
        t.setdefault("read_openpyxl", []).append(time.perf_counter() - t0)
        for key, data, name, dry in (("csv", csv_data, "stores.csv", False), ("xlsx", xlsx_data, "stores.xlsx", False),
                                     ("xlsx_dry", xlsx_data, "stores.xlsx", True)):
            elapsed, info = import_once(data, name, regions, dry)
            t.setdefault(key, []).append(elapsed)
            checks[key] = info
    assert checks["csv"]["inserted"] == checks["xlsx"]["inserted"] == args.rows, checks
    assert checks["xlsx_dry"]["stored"] == 0 and checks["xlsx_dry"]["inserted"] == args.rows, checks
    med = {k: median(v) for k, v in t.items()}
    ratio = med["xlsx"] / med["csv"]
    body = "\n".join([
        f"{args.rows:,} stores (Chinese headers, GCJ-02, title row), {args.runs} runs, medians; "
        f"CSV (GBK) {len(csv_data) / 1e6:.1f} MB, `.xlsx` {len(xlsx_data) / 1e6:.1f} MB. "
        f"{now_text()}; {machine_note()}.",
        "",
        "| step | median s | × CSV import |",
        "|---|---:|---:|",
        f"| read the `.xlsx` alone: python-calamine (used) | {med['read_calamine']:.2f} | {med['read_calamine'] / med['csv']:.2f}× |",
        f"| read the `.xlsx` alone: openpyxl read-only | {med['read_openpyxl']:.2f} | {med['read_openpyxl'] / med['csv']:.2f}× |",
        f"| import the GBK CSV (baseline) | {med['csv']:.2f} | 1.00× |",
        f"| import the `.xlsx` | {med['xlsx']:.2f} | {ratio:.2f}× |",
        f"| dry run of the `.xlsx` (nothing stored) | {med['xlsx_dry']:.2f} | {med['xlsx_dry'] / med['csv']:.2f}× |",
        "",
        f"Aim: `.xlsx` at most 3× the CSV and under 10 s — {'met' if ratio <= 3 and med['xlsx'] < 10 else 'NOT met'}. "
        f"calamine reads the workbook {med['read_openpyxl'] / med['read_calamine']:.1f}× faster than openpyxl.",
    ])
    print(body)
    if args.write_docs:
        write_section("bench_excel", "## Import from Excel\n\nRun with `.venv/bin/python bench/bench_excel.py "
                      "--write-docs`.\n\n" + body)


if __name__ == "__main__":
    main()
