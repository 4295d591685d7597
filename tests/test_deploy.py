"""The files shipped for operators: alert rules (with their unit tests), Alertmanager and
Prometheus examples, the Grafana dashboard."""

import json
import subprocess

import pytest

from tests.prom import DEPLOY, tool


@pytest.mark.parametrize(
    "command",
    [
        ["promtool", "check", "rules", "prometheus/alerts.yml"],
        ["promtool", "test", "rules", "prometheus/alerts_test.yml"],
        ["promtool", "check", "config", "prometheus/prometheus.yml"],
        ["amtool", "check-config", "alertmanager/alertmanager.yml"],
    ],
)
def test_operator_files_pass_their_own_tools(command: list[str]) -> None:
    done = subprocess.run(
        [tool(command[0]), *command[1:]],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_dashboard_is_self_contained() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "bridgewatch.json").read_text())
    assert dashboard["uid"] == "bridgewatch"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "site"}
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    titles = " ".join(p["title"] for p in dashboard["panels"])
    for needed in ("RTT", "loss", "Jitter", "MOS", "district", "Down"):
        assert needed in titles
