"""The files shipped for operators: alert rules (with their unit tests), Alertmanager and
Prometheus examples, the Grafana dashboard, and the Compose file that runs them all with the
service (checked against the Compose specification's schema: there is no Docker engine here)."""

import json
import re
import shlex
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator

from models.settings import Settings
from tests.prom import DEPLOY, tool

COMPOSE = DEPLOY / "docker-compose.yml"
README = DEPLOY.parent / "README.md"
# ${NAME}, ${NAME:-default}, ${NAME:?message}: Compose's interpolation.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")


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


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return compose


def _compose_schema_errors(document: object) -> list[str]:
    # The Compose specification's schema, as check-jsonschema vendors it (Apache-2.0).
    schema = json.loads(
        (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    )
    validator = Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def _bridgewatch_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return {n: s for n, s in services.items() if s.get("image", "").startswith("bridgewatch:")}


def _interpolated(value: str) -> str:
    """A value as Compose would hand it over, with what an operator puts in deploy/.env."""
    samples = {"BRIDGEWATCH_PUBLIC_URL": "https://bw.tinh.vn", "TURN_HOST": "turn.tinh.vn"}
    return VARIABLE.sub(lambda m: samples.get(m.group(1), f"sample-{m.group(1).lower()}"), value)


def test_compose_file_follows_the_compose_specification() -> None:
    assert _compose_schema_errors(_compose()) == []
    # The schema does refuse a mistake (a misspelt key), so the check above can fail.
    assert _compose_schema_errors({"services": {"api": {"imgae": "bridgewatch:latest"}}})


def test_compose_references_resolve() -> None:
    compose = _compose()
    services: dict[str, dict[str, Any]] = compose["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, f"{name} depends on {needed}, which is not a service"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing"
            else:
                assert source in compose["volumes"], f"{name} mounts undeclared volume {source}"
        if "build" in service:
            context = DEPLOY / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file()
    # Prometheus scrapes the API and every worker, alerts go to Alertmanager, Grafana reads
    # Prometheus: by the names the services have here.
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for c in scrape["scrape_configs"][0]["static_configs"] for t in c["targets"]}
    listening = set()
    for name, service in _bridgewatch_services().items():
        if "--port" in service["command"]:
            listening.add(f"{name}:{service['command'][service['command'].index('--port') + 1]}")
        elif "serve" in service["command"]:
            listening.add(f"{name}:8000")
    assert targets == listening
    alerting = scrape["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert [t.split(":")[0] for t in alerting] == ["alertmanager"]
    provisioning = DEPLOY / "grafana" / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "bridgewatch.yml").read_text())
    assert urlsplit(sources["datasources"][0]["url"]).hostname == "prometheus"
    dashboards = yaml.safe_load((provisioning / "dashboards" / "bridgewatch.yml").read_text())
    folder = Path(dashboards["providers"][0]["options"]["path"])
    assert any(Path(v.split(":")[1]).parent == folder for v in services["grafana"]["volumes"])


def test_compose_settings_are_real_and_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {f"BRIDGEWATCH_{name.upper()}" for name in Settings.model_fields}
    for name, service in _bridgewatch_services().items():
        environment: dict[str, str] = service["environment"]
        unknown = {k for k in environment if k.startswith("BRIDGEWATCH_")} - fields
        assert not unknown, f"{name} sets {unknown}, which are no settings"
        with monkeypatch.context() as env:
            for key, value in environment.items():
                env.setenv(key, _interpolated(value))
            settings = Settings()
        assert settings.scale_out, name
        assert settings.turn is not None, name
        assert settings.turn.secret.get_secret_value() == "sample-turn_secret"
        assert settings.turn.urls == ["turn:turn.tinh.vn:3478?transport=udp"]
    # coturn shares that very secret, and listens where the agents are sent.
    coturn = " ".join(_compose()["services"]["coturn"]["command"])
    assert "--use-auth-secret" in coturn
    assert "--static-auth-secret=${TURN_SECRET" in coturn
    assert "--listening-port=3478" in coturn


def test_compose_commands_are_the_readmes() -> None:
    readme_commands: dict[tuple[str, ...], dict[str, str]] = {}
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    for line in "".join(blocks).splitlines():
        words = shlex.split(line, comments=True)
        assignments = {}
        while words and "=" in words[0] and not words[0].startswith("-"):
            key, _, value = words.pop(0).partition("=")
            assignments[key] = value
        if words[:1] == ["bridgewatch"]:
            readme_commands[tuple(words)] = assignments
    services = _bridgewatch_services()
    for name, service in services.items():
        command = tuple(service["command"])
        assert command in readme_commands, f"{name} runs {shlex.join(command)}, not in the README"
        for key, value in readme_commands[command].items():
            assert key in service["environment"], f"{name} lacks {key} (README: {value})"
            if key == "BRIDGEWATCH_ENGINE":
                assert service["environment"][key] == value
    commands = {tuple(s["command"]) for s in services.values()}
    for needed in ("db upgrade", "serve --host 0.0.0.0", "worker --host 0.0.0.0 --port 9101"):
        assert ("bridgewatch", *needed.split()) in commands
    workers = [n for n, s in services.items() if "worker" in s["command"]]
    assert len(workers) == 3
    for name in workers:  # the API hands push agents' offers to this address
        assert services[name]["environment"]["BRIDGEWATCH_WORKER_URL"] == f"http://{name}:9101"


def test_compose_variables_are_all_in_the_example_env() -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text()))
    example = (DEPLOY / "compose.env.example").read_text()
    listed = {line.split("=")[0] for line in example.splitlines() if re.match(r"^[A-Z_]+=", line)}
    assert used == listed
