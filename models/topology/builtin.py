"""Built-in topologies shipped with the package, and seeding an empty database with one."""

from importlib.resources import files

from sqlalchemy import func, select

from models.db import SessionMaker
from models.site import Site
from models.topology.files import FileFormat, TopologyError, parse
from models.topology.importer import ImportResult, import_sites

# cao-bang: the provincial hall, its 10 district-level units and 161 communes (pre-2025 map).
# vietnam-2025: a national hub, 34 provinces and 3,321 communes (2025 map).
BUILTIN = ("cao-bang", "vietnam-2025")


def builtin_text(name: str) -> str:
    if name not in BUILTIN:
        raise TopologyError([f"unknown built-in topology '{name}'; choose from {BUILTIN}"])
    return (files("models.topology") / "data" / f"{name}.csv").read_text(encoding="utf-8")


async def seed_if_empty(sessionmaker: SessionMaker, name: str) -> ImportResult | None:
    """Load a built-in topology when the database has no site yet (a fresh install)."""
    async with sessionmaker() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(Site)):
            return None
        return await import_sites(session, parse(builtin_text(name), FileFormat.CSV))
