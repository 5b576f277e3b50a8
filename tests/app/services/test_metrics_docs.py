"""docs/grafana-dashboard.json and docs/prometheus-alerts.yml: well formed, and every metric
and label they use is one the endpoint exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.core.events import State, TunnelStatus
from app.services.metrics import metrics_registry

DOCS = Path(__file__).resolve().parents[3] / "docs"
OURS = ("tunnelkeeper_", "process_", "python_")  # prometheus_client's own families too
PROMETHEUS_OWN = {"up"}  # the scrape's own series, made by Prometheus
TARGET_LABELS = {"instance", "job"}  # added by Prometheus to every series
DURATION = re.compile(r"^\d+[smhdwy]$")
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:on|by|without|ignoring)\s*\(([^)]*)\)")


def exported() -> tuple[set[str], set[str]]:
    """Every sample name and label name the endpoint serves, with every figure known."""
    full = TunnelStatus("db", State.CONNECTED, "up", vendor_last_connected=1.0, keepalive_rtt=0.01)
    body = generate_latest(metrics_registry(lambda: [full])).decode()
    names: set[str] = set()
    labels: set[str] = set()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            names.add(sample.name)
            labels.update(sample.labels)
    return names, labels


def used_names(expr: str) -> set[str]:
    return {n for n in NAME.findall(expr) if n.startswith(OURS) or n in PROMETHEUS_OWN}


def used_labels(expr: str) -> set[str]:
    inside = " ".join(re.findall(r"\{([^}]*)\}", expr))
    found = set(MATCHER.findall(inside))
    for group in GROUPING.findall(expr):
        found.update(label.strip() for label in group.split(",") if label.strip())
    return found


def check_exported(exprs: list[str]) -> set[str]:
    names, labels = exported()
    used = set().union(*(used_names(e) for e in exprs))
    assert used, "no metric names found"
    assert used - PROMETHEUS_OWN <= names, f"not exported: {used - names - PROMETHEUS_OWN}"
    label_set = set().union(*(used_labels(e) for e in exprs))
    assert label_set <= labels | TARGET_LABELS, f"no such label: {label_set - labels}"
    return used


# --- the dashboard --------------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DOCS / "grafana-dashboard.json").read_text())
    return loaded


def panels_of(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels_of(board) for t in p["targets"]]
    exprs += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "tunnel", "instance"} <= variables
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h")), panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
    for panel in panels_of(board):
        assert panel["title"] and panel["type"] in {"stat", "timeseries", "state-timeline"}
        assert panel["datasource"]["uid"] == "${datasource}"
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            for var in re.findall(r"\$(\w+)", target["expr"]):
                assert var in variables or var.startswith("__"), (panel["title"], var)


def test_the_dashboard_uses_only_exported_metrics_and_covers_the_tunnel() -> None:
    board = dashboard()
    used = check_exported(dashboard_exprs(board))
    wanted = {
        "tunnelkeeper_tunnel_up",
        "tunnelkeeper_tunnel_state",
        "tunnelkeeper_tunnel_bytes_total",
        "tunnelkeeper_tunnel_connections_active",
        "tunnelkeeper_tunnel_connections_total",
        "tunnelkeeper_tunnel_reconnects_total",
        "tunnelkeeper_tunnel_keepalive_rtt_seconds",
    }
    assert wanted <= used, wanted - used
    throughput = [e for e in dashboard_exprs(board) if "bytes_total" in e]
    assert throughput and all(e.startswith("rate(") for e in throughput)  # a counter: rate()


# --- the alert rules ------------------------------------------------------------------------


def rules() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    assert isinstance(loaded, dict) and isinstance(loaded["groups"], list)
    found: dict[str, dict[str, Any]] = {}
    for group in loaded["groups"]:
        assert isinstance(group["name"], str) and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert rule["alert"] not in found, f"{rule['alert']} twice"
            found[rule["alert"]] = rule
    return found


def test_the_alert_rules_are_prometheus_rules() -> None:
    for name, rule in rules().items():
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert rule["expr"].count("(") == rule["expr"].count(")"), name
        assert "for" not in rule or DURATION.match(rule["for"]), name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_alert_rules_use_only_exported_metrics() -> None:
    check_exported([rule["expr"] for rule in rules().values()])


@pytest.mark.parametrize(
    ("alert", "uses", "wait"),
    [
        ("TunnelDown", "tunnelkeeper_tunnel_up == 0", "2m"),
        ("TunnelFlapping", "changes(tunnelkeeper_tunnel_up", None),
        ("TargetRefusing", "tunnelkeeper_tunnel_target_refusals_total", "5m"),
    ],
)
def test_the_asked_for_alerts_are_there(alert: str, uses: str, wait: str | None) -> None:
    rule = rules()[alert]
    assert uses in rule["expr"]
    assert rule.get("for") == wait
