"""docs/grafana-o2o.json: valid JSON Grafana 10+ imports, on a data-source variable, about metrics that exist."""

import json
import re
from pathlib import Path

from o2o import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-o2o.json"


def _exprs(dash):
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_the_dashboard_uses_a_datasource_variable_in_every_panel():
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dash["schemaVersion"] >= 36 and dash["uid"] and dash["title"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in dash["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
    assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])


def test_the_dashboard_only_asks_for_metrics_the_app_exports():
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exported = set()
    for metric in metrics.REGISTRY.collect():
        suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",)}.get(metric.type, ("",))
        exported.update(metric.name + suffix for suffix in suffixes)
    asked = {m for e in _exprs(dash) for m in re.findall(r"\bo2o_[a-z_]+", e)}
    assert asked and asked <= exported, asked - exported
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("request rate", "p50", "p99", "error", "lag", "pool", "scans", "import"):
        assert topic in titles, topic
