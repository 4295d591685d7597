"""Idempotent import of a validated topology: all rows are checked first, then written at once."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.site import Site
from models.topology.files import SiteRow, TopologyError
from models.topology.hierarchy import find_cycle, load_parent_map


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


async def import_sites(session: AsyncSession, rows: list[SiteRow]) -> ImportResult:
    """Create or update the sites of `rows` in the session's transaction (the caller commits).

    Raises `TopologyError` naming every bad line, before anything is written.
    """
    parents = await load_parent_map(session)
    _check(rows, parents)
    by_code = {site.code: site for site in (await session.scalars(select(Site))).all()}
    created = updated = 0
    for row in _parents_first(rows):
        values = row.site.model_dump(exclude_unset=True, exclude={"code", "parent_code"})
        if "thresholds" in values and row.site.thresholds is not None:
            values["thresholds"] = row.site.thresholds.model_dump(exclude_none=True)
        site = by_code.get(row.site.code)
        is_new = site is None
        if site is None:
            site = Site(code=row.site.code)
            session.add(site)
            by_code[site.code] = site
        changed = site.assign(values)
        if "parent_code" in row.site.model_fields_set or is_new:
            parent = by_code.get(row.site.parent_code) if row.site.parent_code else None
            if parent is not None and parent.id is None:
                await session.flush()  # the parent was created by this import: give it an id
            new_parent_id = parent.id if parent else None
            if site.parent_id != new_parent_id:
                site.parent_id = new_parent_id
                changed = True
        if is_new:
            created += 1
        elif changed:
            updated += 1
    await session.flush()
    return ImportResult(created, updated, len(rows) - created - updated)


def _check(rows: list[SiteRow], parents: dict[str, str | None]) -> None:
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for row in rows:
        code = row.site.code
        if code in first_line:
            problems.append(f"line {row.line}: code '{code}' already on line {first_line[code]}")
        else:
            first_line[code] = row.line
    merged = dict(parents)
    for row in rows:
        if "parent_code" in row.site.model_fields_set or row.site.code not in merged:
            merged[row.site.code] = row.site.parent_code
    for row in rows:
        parent = merged.get(row.site.code)
        if parent is not None and parent not in merged:
            problems.append(f"line {row.line}: parent '{parent}' does not exist")
    reported: set[str] = set()
    for row in rows:
        cycle = find_cycle(merged, row.site.code)
        if cycle and not reported.intersection(cycle):
            reported.update(cycle)
            problems.append(f"line {row.line}: the hierarchy has a cycle: {' -> '.join(cycle)}")
    if problems:
        raise TopologyError(problems)


def _parents_first(rows: list[SiteRow]) -> list[SiteRow]:
    """Rows ordered so that a parent created by this import comes before its children."""
    in_file = {row.site.code: row for row in rows}
    ordered: list[SiteRow] = []
    placed: set[str] = set()

    def place(row: SiteRow) -> None:
        if row.site.code in placed:
            return
        placed.add(row.site.code)
        parent = in_file.get(row.site.parent_code or "")
        if parent is not None:
            place(parent)
        ordered.append(row)

    for row in rows:
        place(row)
    return ordered
