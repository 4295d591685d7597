"""Property-based fuzzing of the whole API from its own /openapi.json (schemathesis).

Every operation (but the endless live stream) gets generated requests, valid and invalid, as
each role and anonymously on SQLite, and as the admin on PostgreSQL. The service must never
answer with a server error, and every response must be what the OpenAPI document says: its
documented media type and its documented schema, errors (problem+json) included.

Bounded for CI: a fixed number of examples per operation, derandomized with a fixed seed, so a
run is reproducible. Each database's service is built once and serves every operation and role
(~70 s in one process on a 2-core machine; built again per test, it took ~10 minutes).
"""

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from app.main import create_app
from models.auth import Role, issue_token
from models.base import utcnow
from models.conference import Conference, ConferenceSite
from models.db import SessionMaker, open_database
from models.history import Sample
from models.incident import Incident
from models.settings import Settings
from models.site import Site, SiteStatus
from models.topology.builtin import seed_if_empty
from tests.databases import PostgresDatabases, SqliteDatabases
from tests.service import free_port

SEED = 20261201
EXAMPLES_PER_OPERATION = 8
ROLES = ["anonymous", *(role.value for role in Role)]
# Every role on SQLite. On PostgreSQL (where a value past its integer type was found) the admin,
# who reaches every operation: what tells the roles apart is refused before any database work.
TARGETS = [("sqlite", role) for role in ROLES] + [("postgresql", Role.ADMIN.value)]
DECOY_TOKENS = 10  # low ids that fuzzed `DELETE /tokens/{id}` may revoke: not the roles' own
START_SECONDS = 30.0


@dataclass(frozen=True)
class FuzzTarget:
    base: str
    tokens: dict[str, str]


async def _seed(sessionmaker: SessionMaker) -> dict[str, str]:
    """Cao Bằng, samples, an open and a closed incident, a conference: reads find data."""
    await seed_if_empty(sessionmaker, "cao-bang")
    now = utcnow()
    async with sessionmaker() as session:
        sites = {s.code: s for s in await session.scalars(select(Site))}
        district, commune = sites["040"], sites["01273"]
        session.add_all(
            Sample(
                site_id=site.id,
                at=now - timedelta(seconds=10 * i),
                reachable=True,
                rtt_median_seconds=0.02,
                jitter_seconds=0.002,
                loss_ratio=0.0,
                mos=4.3,
                report={"heartbeats": 10},
            )
            for site in (district, commune)
            for i in range(5)
        )
        session.add_all(
            [
                Incident(
                    site_id=commune.id,
                    severity=SiteStatus.DOWN,
                    opened_at=now - timedelta(minutes=10),
                    closed_at=now - timedelta(minutes=7),
                ),
                Incident(site_id=district.id, severity=SiteStatus.DEGRADED, opened_at=now),
            ]
        )
        session.add(
            Conference(
                title="Hội nghị trực tuyến tỉnh Cao Bằng",
                starts_at=now + timedelta(days=1),
                ends_at=now + timedelta(days=1, hours=3),
                participants=[ConferenceSite(site_id=district.id, expected_delegates=40)],
            )
        )
        for i in range(DECOY_TOKENS):
            await issue_token(session, f"decoy {i}", Role.VIEWER)
        tokens = {}
        for role in Role:
            _, tokens[role.value] = await issue_token(session, f"fuzz-{role}", role)
        await session.commit()
    return tokens


@contextlib.contextmanager
def serving_in_a_thread(app: FastAPI) -> Iterator[str]:
    """The app on a real loopback socket, served by uvicorn in a thread with its own event loop
    (schemathesis calls it synchronously from the test)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", free_port()))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fuzzed service did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(START_SECONDS)
        listener.close()


@pytest.fixture(scope="module")
async def fuzz_target(
    databases: SqliteDatabases | PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FuzzTarget]:
    """The service on a database of its own, probe engine off, anonymous reads on (so that
    anonymous requests are served, not only refused)."""
    async with databases.fresh() as url:
        async with open_database(url) as sessionmaker:
            tokens = await _seed(sessionmaker)
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp_path_factory.mktemp("fuzz")),
            auto_migrate=False,
            seed_topology="",
            anonymous_read=True,
            log_json=False,
            engine=False,
        )
        with serving_in_a_thread(create_app(settings)) as base:
            yield FuzzTarget(base, tokens)


def _config() -> schemathesis.Config:
    settings: dict[str, Any] = {
        "seed": SEED,
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,  # with the seed: the same requests every run
            "database": "none",  # no .hypothesis folder, nothing carried from run to run
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
        },
    }
    return schemathesis.Config.from_dict(settings)


# Push agents' offers are text (SDP).
schemathesis.serializer.alias("application/sdp", "text/plain")

# The document the service serves at /openapi.json (it depends on no setting or database).
OPENAPI = create_app(Settings(engine=False)).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=_config()).exclude(path="/api/v1/stream")


# Module scope: the tests of one database share its fuzzed service (by default a partly
# indirect parametrization is per test, and the service was built again for each operation).
@pytest.mark.parametrize(("databases", "role"), TARGETS, indirect=["databases"], scope="module")
@schema.parametrize()
def test_no_server_errors_and_every_response_as_documented(
    case: schemathesis.Case[Any], fuzz_target: FuzzTarget, role: str
) -> None:
    token = fuzz_target.tokens.get(role)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    case.call_and_validate(base_url=fuzz_target.base, headers=headers)
