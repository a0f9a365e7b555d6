"""schemathesis against the OpenAPI document, in-process through the WSGI app: no request, valid
or not, gets a 5xx, and every answer (errors included) has a documented status, content type and
shape.

Each operation gets ``MAX_EXAMPLES`` generated requests (positive and negative ones, plus
schemathesis' own coverage cases) from a fixed seed (``derandomize``), so a run is repeatable and
takes well under a minute. Retailer and analyst operations are sent with a valid key of the right
kind, so generated requests reach the code behind the authentication.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from o2o.services import accounts
from o2o.storage.sqlite import SqliteRepository
from o2o.web import create_app, docs

from ..conftest import fill

MAX_EXAMPLES = int(os.environ.get("O2O_FUZZ_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The document the app serves at /api/openapi.json (the first test checks they are the same),
# loaded without an app so that collecting the tests builds nothing.
schema = schemathesis.openapi.from_dict(docs.spec())


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'o2o.db'}"
    repo = SqliteRepository.from_url(url)
    repo.migrate()
    fill(repo)
    _, retailer_key = accounts.create_retailer(repo, "Fuzz Co", ["test.tmall.com"])
    _, analyst_key = accounts.create_analyst(repo, "Fuzz Analyst")
    repo.close()
    # Scan and write limits high enough that generated requests are never turned away.
    app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "fuzz", "TESTING": True,
                      "TILES": "none", "SCANS_PER_MINUTE": 1_000_000, "WRITES_PER_MINUTE": 1_000_000})
    app.config["FUZZ_KEYS"] = {"retailer": retailer_key, "analyst": analyst_key}
    return app


def test_the_served_document_is_the_one_fuzzed(fuzz_app):
    assert fuzz_app.test_client().get("/api/openapi.json").get_json() == docs.spec()


def _auth_for(case, keys: dict) -> dict:
    if case.operation.path.startswith("/api/v1/analytics/"):
        return {"Authorization": f"Bearer {keys['analyst']}"}
    if case.operation.definition.raw.get("security"):
        return {"Authorization": f"Bearer {keys['retailer']}"}
    return {}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_description(case, fuzz_app):
    # schemathesis calls the app through WSGI, which decodes no Content-Encoding: ask for the bytes
    # as they are (compression is tested on its own in tests/integration/test_wire.py)
    headers = {"Accept-Encoding": "identity", **_auth_for(case, fuzz_app.config["FUZZ_KEYS"])}
    if "Authorization" in headers and case.headers:
        case.headers.pop("Authorization", None)  # a generated key would only ever get a 401
    case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS)
