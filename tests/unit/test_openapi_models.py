"""The OpenAPI document comes from the pydantic models; pydantic errors read the same everywhere;
the heatmap answer has one builder."""

from pathlib import Path

from pydantic import ValidationError

from o2o.geo import h3agg
from o2o.services.validation import StoreFields, field_problems
from o2o.web import docs, schemas
from o2o.web.params import NearbyParams

ROOT = Path(__file__).resolve().parents[2]


def test_every_schema_of_the_document_is_generated_from_a_model():
    spec = docs.spec()
    names = set(spec["components"]["schemas"])
    assert {m.__name__ for m in schemas.DOCUMENTED} <= names
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/components/schemas/"):
                refs.add(node["$ref"].rsplit("/", 1)[1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs <= names  # nothing points at a schema typed by hand elsewhere


def test_the_coordinate_systems_are_named_once():
    """The crs enum is the Literal in o2o/geo/crs.py; the document and the parameters take it from there."""
    for path in ("o2o/web/docs.py", "o2o/web/schemas.py", "o2o/web/params.py", "o2o/services/validation.py"):
        assert '"gcj02"' not in (ROOT / path).read_text(encoding="utf-8"), path  # prose may name it
    spec = docs.spec()
    nearby = {p["name"]: p for p in spec["paths"]["/api/v1/stores/nearby"]["get"]["parameters"]}
    assert nearby["crs"]["schema"]["enum"] == ["wgs84", "gcj02", "bd09"]
    assert spec["components"]["schemas"]["StoreInput"]["properties"]["crs"]["anyOf"][0]["enum"] == \
        ["wgs84", "gcj02", "bd09"]


def test_a_pydantic_error_reads_the_same_in_a_query_and_in_a_store_body():
    problems = []
    for model, data in ((NearbyParams, {"lat": "91", "lon": "0", "crs": "mars"}),
                        (StoreFields, {"lat": 91, "crs": "mars"})):
        try:
            model.model_validate(data)
        except ValidationError as exc:
            problems.append(dict(field_problems(model, exc)))
    query, body = problems
    assert query["lat"] == body["lat"] == "lat must be between -90 and 90"
    assert query["crs"] == body["crs"] and query["crs"].startswith("crs unknown coordinate system")


def test_a_literal_field_names_its_choices():
    try:
        StoreFields.model_validate({"status": "gone"})
    except ValidationError as exc:
        assert field_problems(StoreFields, exc) == [("status", "status must be open or closed")]


def test_the_heatmap_collection_matches_its_documented_model():
    cells = h3agg.aggregate([121.47, 121.4701, 116.40], [31.23, 31.2301, 39.90], 7)
    body = h3agg.heatmap_collection(cells, 3, layer="scans", res=7)
    schemas.Heatmap.model_validate(body)
    assert [f["properties"]["count"] for f in body["features"]] == [2, 1]
    assert body["max"] == 2 and body["total"] == 3
    assert h3agg.heatmap_rows(cells) == [f["properties"] for f in body["features"]]
