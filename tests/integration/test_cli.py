"""The command line: seed and export, as the contract names them."""

import csv
import io
import json
import re
from pathlib import Path

import pytest

from o2o.cli import COMMANDS
from o2o.storage import open_repository
from o2o.storage.base import STORE_FIELDS
from o2o.storage.sqlite import SqliteRepository
from o2o.web import create_app

pytestmark = pytest.mark.both_backends

README = Path(__file__).resolve().parents[2] / "README.md"


def test_export_csv_has_every_store_and_field(runner, tmp_path):
    out = tmp_path / "stores.csv"
    result = runner.invoke(args=["export", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0].keys()) == list(STORE_FIELDS)
    assert len(rows) == 9
    assert {r["status"] for r in rows} == {"open", "closed"}


def test_export_geojson_to_stdout(runner):
    result = runner.invoke(args=["export", "--format", "geojson"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 9
    props = data["features"][0]["properties"]
    assert set(STORE_FIELDS) <= set(props)


def test_export_rejects_unknown_format(runner):
    result = runner.invoke(args=["export", "--format", "xml"])
    assert result.exit_code != 0 and "xml" in result.output


def test_csv_export_escapes_formulas(tmp_path):
    from o2o.services.export import write_csv

    buf = io.StringIO()
    write_csv([{f: None for f in STORE_FIELDS} | {"name": "=HYPERLINK(\"x\")", "lon": -1.5}], buf)
    row = list(csv.DictReader(io.StringIO(buf.getvalue())))[0]
    assert row["name"].startswith("'=") and row["lon"] == "-1.5"


def test_seed_is_deterministic_and_replaces(tmp_path):
    def seeded(seed):
        url = f"sqlite:///{tmp_path / f'db{seed}.db'}"
        app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "t"})
        from o2o.cli import register_commands

        register_commands(app)
        runner = app.test_cli_runner()
        result = runner.invoke(args=["seed", "--stores", "300", "--scans", "0", "--random-seed", str(seed)])
        assert result.exit_code == 0, result.output
        assert "seeded 300 stores" in result.output
        again = runner.invoke(args=["seed", "--stores", "300", "--scans", "0", "--random-seed", str(seed)])
        assert again.exit_code == 0
        repo = SqliteRepository.from_url(url)
        rows = [(s["id"], s["name"], s["lon"], s["lat"]) for s in repo.iter_stores()]
        repo.close()
        return rows

    a = seeded(5)
    assert len(a) == 300
    tmp_b = seeded(5)
    assert a == tmp_b


def test_the_same_seed_gives_the_same_stores_on_both_backends(tmp_path, pg_url):
    from o2o.cli import register_commands

    got = []
    for url in (f"sqlite:///{tmp_path / 'seed.db'}", pg_url.replace("postgresql://", "postgresql+psycopg://")):
        app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "t"})
        register_commands(app)
        for _ in range(2):  # the second run replaces the first: ids start again
            result = app.test_cli_runner().invoke(args=["seed", "--stores", "400", "--scans", "2000",
                                                        "--random-seed", "7"])
            assert result.exit_code == 0, result.output
        repo = open_repository(url)
        got.append(([(s["id"], s["external_id"], s["name"], s["lon"], s["lat"], s["province"], s["district"])
                     for s in repo.iter_stores()], repo.count_scans(), repo.count_scans(counted_only=True)))
        repo.close()
    assert got[0] == got[1] and len(got[0][0]) == 400 and got[0][1] == 2000


def test_first_start_seeds_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app({"DATABASE_URL": url, "SEED_STORES": 120, "SEED_SCANS": 0, "SECRET_KEY": "t"})
    assert app.test_client().get("/healthz").get_json()["stores"] == 120
    # A second start finds the stores there and adds none.
    app = create_app({"DATABASE_URL": url, "SEED_STORES": 120, "SEED_SCANS": 0, "SECRET_KEY": "t"})
    assert app.test_client().get("/healthz").get_json()["stores"] == 120


def test_every_cli_command_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    for command in COMMANDS:
        assert re.search(rf"flask --app app {command.name}\b", text), command.name
