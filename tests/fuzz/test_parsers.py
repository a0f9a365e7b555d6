"""Property-based tests (hypothesis) of everything that reads what people type or files they send:
coordinates in every form and coordinate system, opening hours, CSV rows in every encoding,
GeoJSON of any shape. The properties: what is valid is read exactly; what is not is a problem
naming its field (a 4xx, or a row in the import report); nothing ever raises anything else.

Examples are derandomized (the same every run) and bounded, so the module takes seconds.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from o2o.geo import crs
from o2o.geo.distance import haversine_m
from o2o.geo.hours import HoursError, is_open_at, normalise_hours, parse_hours
from o2o.services.validation import FieldProblem, clean_store
from o2o.web.errors import ApiError
from o2o.web.params import NearbyParams, ViewportParams, parse_query

from ..conftest import bearer

FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None)
HTTP = settings(max_examples=100, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Any text a person or a program might send, NUL and lone surrogates aside (they cannot be in a
# text file at all; the parsers' answer to them is tested on its own below).
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
finite = st.floats(allow_nan=False, allow_infinity=False)
anything_numeric = st.one_of(st.floats(), st.integers(), st.booleans(), st.none(), texts,
                             st.lists(st.integers(), max_size=2), st.dictionaries(texts, st.integers(), max_size=1))


# ----------------------------------------------------------------------------------- coordinates
def _decimal_forms(value: float) -> st.SearchStrategy[str]:
    """The ways a number is written in forms and spreadsheets."""
    return st.sampled_from([repr(value), f"{value:.6f}", f"  {value} ", f"+{value}" if value >= 0 else str(value),
                            f"{value:e}", f"{value:.4E}"])


@FAST
@given(lon=st.floats(-180, 180), lat=st.floats(-90, 90), system=st.sampled_from(crs.SYSTEMS))
def test_conversion_is_finite_everywhere_and_round_trips_in_china(lon, lat, system):
    there = crs.from_wgs84(lon, lat, system)
    back = crs.to_wgs84(*there, system)
    assert all(math.isfinite(v) for v in (*there, *back))
    if 73.5 <= lon <= 134.8 and 18.2 <= lat <= 53.5:
        assert haversine_m(lon, lat, *back) < 0.01


@FAST
@given(data=st.data(), lon=st.floats(73.5, 134.8), lat=st.floats(18.2, 53.5),
       system=st.sampled_from([*crs.SYSTEMS, "GCJ-02", "Baidu", "gps", "  WGS84 "]))
def test_coordinates_written_any_usual_way_are_read_exactly(data, lon, lat, system):
    text_lon, text_lat = data.draw(_decimal_forms(lon)), data.draw(_decimal_forms(lat))
    fields = clean_store({"name": "n", "brand": "b", "category": "c", "lat": text_lat, "lon": text_lon,
                          "crs": system}, ())
    expected = crs.to_wgs84(float(text_lon), float(text_lat), system)
    assert (fields["lon"], fields["lat"]) == pytest.approx(expected, abs=1e-7)


@FAST
@given(lat=anything_numeric, lon=anything_numeric, system=st.one_of(st.sampled_from(crs.SYSTEMS), texts))
def test_any_coordinate_is_read_or_a_problem_naming_it(lat, lon, system):
    try:
        fields = clean_store({"name": "n", "brand": "b", "category": "c", "lat": lat, "lon": lon, "crs": system}, ())
    except FieldProblem as problem:
        assert {f for f, _ in problem.problems} <= {"lat", "lon", "crs"}
        return
    assert -90 <= fields["lat"] <= 90 and -180 <= fields["lon"] <= 180


@pytest.mark.parametrize("written", ["31,2304", "31°13′49″N", "N31.2304", "31.2304N", "31 13 49", "３１.２",
                                     "٣١.٢", "3_1.2", "0x1F", "1e999", "nan", "", "  "])
def test_unusual_coordinate_forms_are_problems_naming_lat(written):
    with pytest.raises(FieldProblem) as err:
        clean_store({"name": "n", "brand": "b", "category": "c", "lat": written, "lon": 121.47}, ())
    assert err.value.problems[0][0] == "lat"


@FAST
@given(params=st.dictionaries(st.sampled_from(["lat", "lon", "k", "radius_km", "crs", "q", "brand", "category"]),
                              st.lists(texts, min_size=1, max_size=2), max_size=8))
def test_any_search_query_is_read_or_a_400_naming_a_parameter(params):
    args = MultiDict([(k, v) for k, vs in params.items() for v in vs])
    try:
        p = parse_query(NearbyParams, args)
    except ApiError as err:
        assert err.status == 400 and err.field in NearbyParams.model_fields
        return
    assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180 and 1 <= p.k <= 200
    assert p.radius_km is None or 0 <= p.radius_km <= 100


@FAST
@given(bbox=st.one_of(texts, st.lists(st.one_of(finite.map(repr), texts), min_size=3, max_size=5).map(",".join)),
       zoom=st.one_of(st.none(), texts))
def test_any_viewport_is_read_or_a_400_naming_bbox_or_zoom(bbox, zoom):
    args = MultiDict({"bbox": bbox} | ({} if zoom is None else {"zoom": zoom}))
    try:
        w, s, e, n = parse_query(ViewportParams, args).bounds()
    except ApiError as err:
        assert err.status == 400 and err.field in ("bbox", "zoom")
        return
    assert -180 <= w <= e <= 180 and -90 <= s <= n <= 90


# ----------------------------------------------------------------------------------- hours
DASHES = ["-", "~", "～", "至", "到", "—", " - ", "－"]
SEPARATORS = [",", ";", "、", "，", "；", ", "]


@st.composite
def hours_text(draw):
    """Opening hours as retailers write them, and the canonical form they mean."""
    n = draw(st.integers(1, 6))
    written, canonical = [], []
    for _ in range(n):
        start = draw(st.integers(0, 1439))
        end = draw(st.integers(1, 1440).filter(lambda e: e != start))
        full_width = draw(st.booleans())
        parts = []
        for minute in (start, end):
            h, m = divmod(minute, 60)
            text = f"{h}:{m:02d}" if draw(st.booleans()) else f"{h:02d}:{m:02d}"
            parts.append(text)
        text = draw(st.sampled_from(DASHES)).join(parts)
        if full_width:
            text = text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789:"})
        written.append(text)
        end_txt = end % 1440 if end > 1440 else end
        canonical.append(f"{start // 60:02d}:{start % 60:02d}-{end_txt // 60:02d}:{end_txt % 60:02d}")
    separator = draw(st.sampled_from(SEPARATORS + [" "]))
    return f" {separator.join(written)} ", ",".join(canonical)


@FAST
@given(hours_text())
def test_hours_written_any_accepted_way_normalise_to_their_canonical_form(case):
    written, canonical = case
    assert normalise_hours(written) == canonical
    assert normalise_hours(canonical) == canonical  # idempotent
    assert clean_store({"hours": written}, (), partial=True)["hours"] == canonical


@FAST
@given(st.one_of(texts, st.text(max_size=60),
                 st.lists(st.sampled_from(["10", ":", "00", "-", "22", "24", "60", "至", "，", " ", "h", "小时", "全天"]),
                          max_size=12).map("".join)))
def test_any_hours_text_is_read_or_a_problem_naming_hours(text):
    try:
        ranges = parse_hours(text)
    except HoursError:
        if not text.strip():  # no hours at all: the field is simply empty
            assert clean_store({"hours": text}, (), partial=True)["hours"] is None
            return
        with pytest.raises(FieldProblem) as err:
            clean_store({"hours": text}, (), partial=True)
        assert err.value.problems[0][0] == "hours"
        assert is_open_at(text, datetime(2026, 11, 11, 12, 0)) is None
        return
    assert 1 <= len(ranges) <= 6
    assert all(0 <= start < end <= 2880 for start, end in ranges)


# ----------------------------------------------------------------------------------- CSV import
ENGLISH = ["external_id", "name", "brand", "category", "lat", "lon", "hours", "address"]
CHINESE = ["门店编码", "门店名称", "品牌", "品类", "纬度", "经度", "营业时间", "地址"]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "utf-16"]


VALID_CELLS = (
    st.sampled_from(["A1", "A2", "B1", "门店-1", "=1+1", "0012"]),
    st.sampled_from(["优衣库(测试店)", "<b>x</b>", "店", "=HYPERLINK(\"x\")"]),
    st.sampled_from(["FuzzBrand", "优衣库", "Brand\t2"]),
    st.sampled_from(["Apparel", "服装"]),
    st.floats(31.15, 31.30).map(lambda v: f"{v:.6f}"),
    st.floats(121.35, 121.55).map(lambda v: f"{v:.6f}"),
    st.sampled_from(["10:00-22:00", "９：３０～２１：３０", "24小时", ""]),
    texts,
)
valid_rows = st.tuples(*VALID_CELLS)
mixed_rows = st.tuples(*(st.one_of(cell, texts) for cell in VALID_CELLS))
rows = st.lists(st.one_of(valid_rows, mixed_rows), max_size=8)


@HTTP
@given(rows=rows, encoding=st.sampled_from(ENCODINGS), headers=st.sampled_from([ENGLISH, CHINESE]),
       delimiter=st.sampled_from([",", "\t"]), atomic=st.booleans())
def test_every_csv_row_in_every_encoding_is_stored_or_reported(client, keys, rows, encoding, headers, delimiter, atomic):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    r = client.post(f"/api/v1/stores/import?atomic={str(atomic).lower()}", data=data,
                    headers=bearer(keys["retailer"]), content_type="text/csv")
    assert r.status_code in (200, 422), (r.status_code, r.get_data(as_text=True)[:300])
    report = r.get_json()
    data_rows = [row for row in rows if any(cell.strip() for cell in row)]
    assert report["rows"] == len(data_rows) and report["format"] == "csv"
    accounted = report["inserted"] + report["updated"] + report["unchanged"] + len(report["rejected"])
    if report["stored"]:
        assert accounted == len(data_rows) and r.status_code == 200
    else:
        assert atomic and report["rejected"] and r.status_code == 422 and report["inserted"] == 0
    assert all(isinstance(x["row"], int) and x["errors"] for x in report["rejected"])


@HTTP
@given(data=st.binary(max_size=200), filename=st.sampled_from([None, "x.csv", "x.geojson"]))
def test_any_bytes_uploaded_are_a_report_or_a_400_naming_the_file(client, keys, data, filename):
    kwargs = ({"data": data, "content_type": "text/csv"} if filename is None else
              {"data": {"file": (io.BytesIO(data), filename)}, "content_type": "multipart/form-data"})
    r = client.post("/api/v1/stores/import", headers=bearer(keys["retailer"]), **kwargs)
    assert r.status_code in (200, 400, 422), r.status_code
    if r.status_code == 400:
        assert r.get_json()["error"]["field"] == "file"


# ----------------------------------------------------------------------------------- GeoJSON
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False), texts),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)),
    max_leaves=20)
geometries = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString", "point"]),
                           "coordinates": st.one_of(json_values, st.lists(st.one_of(finite, json_values), max_size=4),
                                                    st.tuples(st.floats(121.35, 121.55), st.floats(31.15, 31.3)))}))
properties = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(["external_id", "门店编码", "name", "brand", "品类", "category", "lat", "lon", "crs",
                                     "hours", "status", "状态", "allow_duplicate", "online_url", "phone", "x"]),
                    json_values, max_size=10))
features = st.one_of(json_values, st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "feature"]), "geometry": geometries, "properties": properties}))
geojson_docs = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": st.lists(features, max_size=6)}),
    features)


@HTTP
@given(doc=geojson_docs)
def test_geojson_of_any_shape_is_a_report_or_a_400_never_a_5xx(client, keys, doc):
    r = client.post("/api/v1/stores/import", data=json.dumps(doc), headers=bearer(keys["retailer"]),
                    content_type="application/geo+json")
    assert r.status_code in (200, 400, 422), (r.status_code, json.dumps(doc)[:300])
    body = r.get_json()
    if r.status_code == 400:
        assert body["error"]["field"] == "file"
    else:
        rejected = len(body["rejected"])
        assert body["inserted"] + body["updated"] + body["unchanged"] + rejected == body["rows"]


@HTTP
@given(body=st.one_of(json_values, features, properties))
def test_a_store_body_of_any_shape_is_never_a_5xx(client, keys, body):
    h = bearer(keys["retailer"])
    for r in (client.post("/api/v1/stores", data=json.dumps(body), headers=h, content_type="application/json"),
              client.patch("/api/v1/stores/1", data=json.dumps(body), headers=h, content_type="application/json")):
        assert r.status_code < 500, (r.status_code, json.dumps(body)[:300])
        if r.status_code >= 400:
            assert r.get_json()["error"]["message"]


def test_lone_surrogates_and_nul_are_problems_not_crashes(client, keys):
    h = bearer(keys["retailer"])
    r = client.post("/api/v1/stores", data='{"name": "\\ud800", "brand": "b", "category": "c", "lat": 31.2, "lon": 121.4}',
                    headers=h, content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "body"
    r = client.post("/api/v1/stores/import", data=b"external_id,lat,lon\nA\x00,31,121\n", headers=h,
                    content_type="text/csv")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "file"
    r = client.post("/api/v1/stores/import", headers=h, content_type="application/geo+json",
                    data='{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, '
                         '"properties": {"external_id": "\\udfff", "lat": 31.2, "lon": 121.4}}]}')
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "file"
    r = client.post("/api/v1/stores", data='{"name": "n", "brand": "b", "category": "c", "crs": "\\udfff"}',
                    headers=h, content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "body"
    r = client.post("/api/v1/stores", data='{"name": "\\ud83d\\ude00 店", "brand": "b", "category": "c", '
                                           '"lat": 31.2, "lon": 121.4}', headers=h, content_type="application/json")
    assert r.status_code == 201  # an escaped surrogate pair is a real character (😀)
