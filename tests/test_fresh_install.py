"""What a newcomer meets: the README's first command on a clean machine, and the package on its
own, as the Dockerfile runs it.

The project is copied to a temporary folder and the README's command runs there as written: a new
virtual environment, `pip install .` without the dev extras, `bridgewatch demo`. A package that
only the test environment has (it happened: httpx) fails here. Then the sources are deleted and the
Dockerfile's command serves from another directory, with the migrations, the dashboard and the API
docs coming from the installed package alone.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import empty_postgres
from tests.service import free_port, running

PROJECT = Path(__file__).resolve().parents[1]
# A clean `pip install .` takes about 20 s here with a warm pip cache; a cold one downloads.
INSTALL_SECONDS = 600.0
LOCAL_ONLY = {".git", ".venv", "data", "build", "test-artifacts"}  # at the top level only
BUILT = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache")


def not_sources(folder: str, names: list[str]) -> set[str]:
    """What a fresh clone would not have: this checkout's own environment, data and caches."""
    local = LOCAL_ONLY & set(names) if Path(folder) == PROJECT else set()
    return local | BUILT(folder, names)


def readme_first_command() -> str:
    """The first shell block of the README's Quick start, as a newcomer copies it."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.+?)\n```", quick_start, re.DOTALL)
    assert block is not None, "the README's Quick start has no shell block"
    return block.group(1).strip()


def dockerfile_command() -> list[str]:
    """The image's CMD (exec form)."""
    dockerfile = (PROJECT / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.+\])$", dockerfile, re.MULTILINE)
    assert cmd is not None, "the Dockerfile has no CMD in exec form"
    command: list[str] = json.loads(cmd.group(1))
    return command


def clean_environment(**extra: str) -> dict[str, str]:
    """This machine's environment without anything that points into the test's own Python."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BRIDGEWATCH_", "PYTHON", "VIRTUAL_ENV", "PIP_"))
    }
    test_bin = str(Path(sys.executable).parent)
    keep["PATH"] = os.pathsep.join(
        p for p in keep.get("PATH", "").split(os.pathsep) if p != test_bin
    )
    return {**keep, **extra}


@dataclass
class DemoRun:
    venv: Path
    sites: dict[str, Any]
    hoa_an: dict[str, Any]
    refused: int
    summary: dict[str, Any]
    dump: dict[str, Any]
    cli: "NextToTheDemo"
    log_lines: list[str]
    fleet_gone: bool
    demo_database: bool
    conferences: dict[str, Any]


@pytest.fixture(scope="module")
def readme_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """The README's first command in a copy of the project, stopped with SIGTERM (as Docker,
    systemd or `timeout` do) once it has been looked at."""
    source = tmp_path_factory.mktemp("fresh") / "bridgewatch"
    shutil.copytree(PROJECT, source, ignore=not_sources)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = source.parent / "demo.log"
    with log_path.open("w") as log:
        shell = subprocess.Popen(
            ["/bin/sh", "-c", readme_first_command()],
            cwd=source,
            env=clean_environment(BRIDGEWATCH_PORT=str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(shell, base, log_path)
            demo = child_of(shell.pid)
            run = observe_demo(base, demo, log_path, source)
            os.kill(demo, signal.SIGTERM)
            fleet = int(Path(f"/proc/{demo}/task/{demo}/children").read_text() or 0)
            shell.wait(timeout=30)
        finally:
            if shell.poll() is None:
                shell.kill()
                shell.wait(timeout=15)
    run.fleet_gone = wait_gone(fleet) if fleet else True
    run.log_lines = log_path.read_text().splitlines()
    run.demo_database = (source / "data" / "demo.db").exists()
    # From here on the package has to stand on its own: no sources beside it.
    for entry in source.iterdir():
        if entry.name != ".venv":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    yield run


def observe_demo(base: str, demo: int, log_path: Path, source: Path) -> DemoRun:
    sites = httpx.get(f"{base}/api/v1/sites", timeout=10).json()
    hoa_an = httpx.get(f"{base}/api/v1/sites", params={"q": "hoa an"}, timeout=10).json()
    refused = httpx.post(f"{base}/api/v1/sites", json={}, timeout=10).status_code
    cli = next_to_the_demo(base, source, demo, log_path)
    summary = wait_for_fleet(base)
    os.kill(demo, signal.SIGUSR1)  # an operator asks where the tasks wait
    dump = wait_for_log(log_path, "asyncio tasks, by where they wait")
    conferences = httpx.get(f"{base}/api/v1/conferences", timeout=10).json()
    return DemoRun(
        source / ".venv", sites, hoa_an, refused, summary, dump, cli, [], False, False, conferences
    )


@dataclass(frozen=True)
class NextToTheDemo:
    """The CLI in a second terminal while the demo runs, as a newcomer would use it."""

    plain_export_hint: str  # `sites export` without --demo: what it says on stderr
    demo_export: str  # `--demo sites export`
    token_status: int  # a token from `--demo tokens create --role operator`, used on the demo


def next_to_the_demo(base: str, source: Path, demo: int, log_path: Path) -> NextToTheDemo:
    def bridgewatch(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(
            [str(source / ".venv" / "bin" / "bridgewatch"), *args],
            cwd=source,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    plain = bridgewatch("sites", "export")
    created = bridgewatch("--demo", "tokens", "create", "--role", "operator")
    assert created.returncode == 0, created.stderr[-3000:]
    exported = bridgewatch("--demo", "sites", "export").stdout
    try:
        tokens = httpx.get(
            f"{base}/api/v1/tokens",
            headers={"Authorization": f"Bearer {created.stdout.strip()}"},
            timeout=10,
        )
    except httpx.TimeoutException as e:  # say where the demo's tasks waited instead
        os.kill(demo, signal.SIGUSR1)
        raise AssertionError(wait_for_log(log_path, "asyncio tasks, by where they wait")) from e
    return NextToTheDemo(plain.stderr, exported, tokens.status_code)


def wait_until_ready(shell: "subprocess.Popen[bytes]", base: str, log_path: Path) -> None:
    deadline = time.monotonic() + INSTALL_SECONDS
    while time.monotonic() < deadline:
        if shell.poll() is not None:
            raise AssertionError(f"the README's command ended: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the demo did not answer: {log_path.read_text()[-3000:]}")


def child_of(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, f"expected the demo under the shell, found {children}"
    return int(children[0])


def test_the_readme_demo_answers_with_the_172_cao_bang_sites(readme_demo: DemoRun) -> None:
    assert readme_demo.sites["total"] == 172
    assert readme_demo.hoa_an["items"][0]["name"] == "Huyện Hòa An"
    assert readme_demo.refused == 401  # anonymous reads in the demo, never anonymous writes
    # The simulated fleet answers: nearly every site answers and the scripted poor links show.
    counts = readme_demo.summary["by_status"]
    assert counts["up"] + counts["degraded"] >= 150 and counts["degraded"] >= 1, counts
    assert readme_demo.demo_database
    # A conference about to begin, with every probed site: its board has something to show.
    (conference,) = readme_demo.conferences["items"]
    assert conference["phase"] == "preflight" and len(conference["sites"]) == 171


def test_the_demo_logs_structured_lines_and_where_its_tasks_wait(readme_demo: DemoRun) -> None:
    service_lines = [line for line in readme_demo.log_lines if line.startswith("{")]
    assert service_lines and all(json.loads(line)["message"] for line in service_lines)
    # The 171 site monitors wait in a few places, each told once with its count.
    counts = [int(place.split(" x ")[0]) for place in readme_demo.dump["places"]]
    assert readme_demo.dump["tasks"] > 171 and max(counts) >= 171, readme_demo.dump


def test_the_fleet_ends_with_the_demo(readme_demo: DemoRun) -> None:
    assert readme_demo.fleet_gone, "the simulated fleet outlived the demo"


def test_every_module_of_the_sources_is_installed(readme_demo: DemoRun) -> None:
    site_packages = next(readme_demo.venv.glob("lib/python3*/site-packages"))
    installed = {p.relative_to(site_packages) for p in site_packages.rglob("*.py")}
    wanted = {
        p.relative_to(PROJECT)
        for package in ("app", "monitor", "models")
        for p in (PROJECT / package).rglob("*.py")
    }
    wanted |= {
        Path("models/migration_scripts") / p.relative_to(PROJECT / "alembic")
        for p in (PROJECT / "alembic").rglob("*.py")
    }
    assert wanted - installed == set()


def test_the_package_alone_serves_as_the_dockerfile_runs_it(
    readme_demo: DemoRun, tmp_path: Path
) -> None:
    """The image's CMD (`db upgrade`, then `serve`) from an empty directory, sources deleted."""
    port = free_port()
    env = clean_environment(
        PATH=f"{readme_demo.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        BRIDGEWATCH_PORT=str(port),
        BRIDGEWATCH_DATA_DIR=str(tmp_path),
        BRIDGEWATCH_ANONYMOUS_READ="true",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        service = subprocess.Popen(
            dockerfile_command(), cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_ready(service, base, log_path)
            total = httpx.get(f"{base}/api/v1/summary", timeout=10).json()["total"]
            docs = httpx.get(f"{base}/docs", timeout=10)
            script = httpx.get(f"{base}/docs/assets/swagger-ui-bundle.js", timeout=10)
            dashboard = httpx.get(f"{base}/", timeout=10)
            with ThreadPoolExecutor(1) as pool:  # a wall screen left open while it stops
                watching = pool.submit(read_stream, f"{base}/api/v1/stream")
                time.sleep(2)
                service.terminate()
                streamed = watching.result(timeout=30)
        finally:
            service.terminate()
            service.wait(timeout=30)
    assert "event: snapshot" in streamed  # and it ended when the service stopped
    assert total == 172  # migrated and seeded from the package's own files
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert dashboard.status_code == 200 and "<html" in dashboard.text.lower()
    # Stopped as Docker stops it: uvicorn ends by re-raising the SIGTERM, and logs no error.
    assert service.returncode in (0, -signal.SIGTERM), log_path.read_text()[-3000:]
    lines = log_path.read_text().splitlines()
    levels = {json.loads(line)["level"] for line in lines if line.startswith("{")}
    assert levels <= {"debug", "info", "warning"}, log_path.read_text()[-3000:]


def read_stream(url: str) -> str:
    """The live stream, read until the server ends it."""
    with httpx.stream("GET", url, timeout=30) as response:
        return "".join(response.iter_text())


def wait_gone(pid: int) -> bool:
    """The process has exited (gone, or a zombie nobody reaped yet) within 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.5)
    return False


def wait_for_log(path: Path, message: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            if not line.startswith("{"):
                continue
            entry: dict[str, Any] = json.loads(line)
            if entry["message"] == message:
                return entry
        time.sleep(0.5)
    raise AssertionError(f"not logged within 30 s: {message}")


def wait_for_fleet(base: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        summary: dict[str, Any] = httpx.get(f"{base}/api/v1/summary", timeout=10).json()
        counts = summary["by_status"]
        answering = counts["up"] + counts["degraded"]
        if (answering >= 150 and counts["degraded"] >= 1) or time.monotonic() > deadline:
            return summary
        time.sleep(1)


async def test_serve_migrates_and_seeds_an_empty_postgresql(tmp_path: Path) -> None:
    async with empty_postgres() as url:
        env = {"BRIDGEWATCH_DATABASE_URL": url, "BRIDGEWATCH_ANONYMOUS_READ": "true"}
        async with httpx.AsyncClient(timeout=10) as client:
            with running(["serve"], env, tmp_path) as base:
                summary = (await client.get(f"{base}/api/v1/summary")).json()
            # A restart on the same database neither fails nor seeds twice.
            with running(["serve"], env, tmp_path) as base:
                again = (await client.get(f"{base}/api/v1/summary")).json()
    assert summary["total"] == again["total"] == 172


def test_the_cli_next_to_the_demo_works_on_the_demo_data(readme_demo: DemoRun) -> None:
    """`bridgewatch --demo ...` reaches the demo's database; without it, the CLI says where the
    demo's data is instead of silently using another, empty database."""
    cli = readme_demo.cli
    assert "--demo" in cli.plain_export_hint and "demo.db" in cli.plain_export_hint
    assert len(cli.demo_export.splitlines()) == 173  # a header and the 172 sites
    assert cli.token_status == 403  # the demo knows the token: an operator, not an admin
