"""Fixtures: a fresh real database per test (SQLite and PostgreSQL), the app, tokens per role."""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis.configuration import set_hypothesis_home_dir
from playwright.async_api import Browser, async_playwright

from app.main import create_app
from models.auth import Role, issue_token
from models.db import SessionMaker, open_database
from models.settings import Settings
from models.topology.builtin import seed_if_empty
from monitor.wire.ice import restrict_host_addresses
from tests.browser import launch
from tests.databases import PostgresDatabases, SqliteDatabases

BACKENDS = ["sqlite", "postgresql"]

# Modules whose tests judge no live peer, browser or process against the clock: the API, the
# stores and the rules. ./scripts/test runs them (`-m parallel`) in one process per core, and
# the others one at a time, so that no test measures another test's load as a slow link.
PARALLEL_MODULES = {
    "test_api_auth",
    "test_api_conferences",
    "test_api_incidents",
    "test_api_maintenance",
    "test_api_notifications",
    "test_api_sites",
    "test_bad_input",
    "test_cli_maintenance",
    "test_cli_notifications",
    "test_conference_phases",
    "test_conference_readiness",
    "test_conference_report",
    "test_credentials",
    "test_fuzz",
    "test_group_store",
    "test_grouping",
    "test_ice_links",
    "test_incidents",
    "test_maintenance_windows",
    "test_migrations",
    "test_notify_digest",
    "test_report_media",
    "test_rollups",
    "test_status",
    "test_topology",
}


def pytest_configure(config: pytest.Config) -> None:
    """The `parallel` marker (`pytest_collection_modifyitems`); and Hypothesis (under the API
    fuzzing) keeps caches in ./.hypothesis by default, from the collection on: tests write only
    to temporary places."""
    config.addinivalue_line(
        "markers", "parallel: judges nothing against the clock; may share the machine"
    )
    folder = Path(tempfile.mkdtemp(prefix="bridgewatch-hypothesis-"))
    set_hypothesis_home_dir(folder)
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in PARALLEL_MODULES:
            item.add_marker(pytest.mark.parallel)


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> None:
    """Every WebRTC peer in the tests gathers only 127.0.0.1: no packet leaves loopback."""
    restrict_host_addresses(["127.0.0.1"])


@pytest.fixture(scope="session")
def tmp_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bridgewatch-tests-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session", params=BACKENDS)
async def databases(
    request: pytest.FixtureRequest, tmp_folder: Path
) -> AsyncIterator[SqliteDatabases | PostgresDatabases]:
    backend = SqliteDatabases(tmp_folder) if request.param == "sqlite" else PostgresDatabases()
    await backend.start()
    yield backend
    await backend.stop()


@pytest.fixture(scope="session")
async def postgres() -> AsyncIterator[PostgresDatabases]:
    """PostgreSQL alone, for what only it does (scale-out: leases, LISTEN/NOTIFY)."""
    backend = PostgresDatabases()
    await backend.start()
    yield backend
    await backend.stop()


@pytest.fixture
async def db_url(databases: SqliteDatabases | PostgresDatabases) -> AsyncIterator[str]:
    """A migrated, empty database of its own for this test."""
    async with databases.fresh() as url:
        yield url


@pytest.fixture
async def sessionmaker(db_url: str) -> AsyncIterator[SessionMaker]:
    async with open_database(db_url) as maker:
        yield maker


@pytest.fixture
async def seeded(sessionmaker: SessionMaker) -> SessionMaker:
    """The database holds the built-in Cao Bằng topology (172 sites)."""
    await seed_if_empty(sessionmaker, "cao-bang")
    return sessionmaker


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        auto_migrate=False,
        seed_topology="",
        anonymous_read=False,
        log_json=False,
        engine=False,
    )


@pytest.fixture
async def client(settings: Settings, seeded: SessionMaker) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def auth(seeded: SessionMaker) -> dict[Role, dict[str, str]]:
    """`Authorization` headers of a fresh token for each role."""
    headers = {}
    async with seeded() as session:
        for role in Role:
            _, secret = await issue_token(session, f"test-{role}", role)
            headers[role] = {"Authorization": f"Bearer {secret}"}
        await session.commit()
    return headers


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless and on loopback only (tests/browser.py), shared by a run."""
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()
