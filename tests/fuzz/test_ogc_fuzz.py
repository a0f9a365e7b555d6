"""schemathesis against the OGC API's own OpenAPI 3.0 document (``/ogc/api``), in-process: no
request gets a 5xx, and every answer has a documented status, content type and shape."""

from __future__ import annotations

import os
import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from o2o.storage.sqlite import SqliteRepository
from o2o.web import create_app
from o2o.web.ogc_api import document

from ..conftest import fill

MAX_EXAMPLES = int(os.environ.get("O2O_FUZZ_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
schema = schemathesis.openapi.from_dict(document("http://localhost/ogc"))


@pytest.fixture(scope="module")
def ogc_fuzz_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('ogcfuzz') / 'o2o.db'}"
    repo = SqliteRepository.from_url(url)
    repo.migrate()
    fill(repo)
    repo.close()
    app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "fuzz", "TESTING": True, "TILES": "none"})
    # Every view once, and the background index builds finished, before hypothesis runs: a module
    # imported by another thread while hypothesis walks sys.modules breaks its generation.
    client = app.test_client()
    for path in ("/ogc", "/ogc/api", "/ogc/collections", "/ogc/collections/stores/items?f=html",
                 "/ogc/collections/products/items/1?f=html"):
        client.get(path)
    for thread in threading.enumerate():
        if thread.name.startswith("o2o-") and thread.name.endswith("-build"):
            thread.join(120)
    return app


def test_the_served_document_is_the_one_fuzzed(ogc_fuzz_app):
    assert ogc_fuzz_app.test_client().get("/ogc/api").get_json() == document("http://localhost/ogc")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_ogc_api_never_fails_and_matches_its_description(case, ogc_fuzz_app):
    case.call_and_validate(app=ogc_fuzz_app, headers={"Accept-Encoding": "identity"}, checks=CHECKS)
