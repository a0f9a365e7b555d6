"""The contract tests' shared fixture: a migrated repository on the backend ``db_url`` names."""

from __future__ import annotations

import pytest

from o2o.storage import open_repository


@pytest.fixture
def repo(db_url):
    """A migrated repository of the test's backend (SQLite, PostGIS or the fake), closed afterwards."""
    repo = open_repository(db_url)
    repo.migrate()
    yield repo
    repo.close()
