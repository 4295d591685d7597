"""The site tree: parent look-ups and cycle detection, for imports and API edits alike."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.site import Site

ParentMap = dict[str, str | None]


async def load_parent_map(session: AsyncSession) -> ParentMap:
    """code -> parent code of every site (a few thousand rows at most: cheap)."""
    parent = aliased(Site)
    rows = await session.execute(
        select(Site.code, parent.code).outerjoin(parent, Site.parent_id == parent.id)
    )
    return {code: parent_code for code, parent_code in rows}


def find_cycle(parents: ParentMap, start: str) -> list[str] | None:
    """The loop met when walking up from `start` (e.g. ['A', 'B', 'A']), or None."""
    path = [start]
    seen = {start}
    current = parents.get(start)
    while current is not None:
        path.append(current)
        if current in seen:
            return path[path.index(current) :]
        seen.add(current)
        current = parents.get(current)
    return None
