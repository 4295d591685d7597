"""Planning and cancelling maintenance windows: the one way both the API and the command line
save them, so a window is checked the same whoever makes it."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.maintenance import MaintenanceWindow
from models.site import Site
from monitor.maintenance.windows import InvalidWindowError, Window, check


class UnknownSiteError(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no site with code '{code}'")


async def plan(
    session: AsyncSession, code: str, window: Window, *, subtree: bool, note: str, by: str
) -> tuple[MaintenanceWindow, Site]:
    """Add the window (not committed). Raises InvalidWindowError or UnknownSiteError, having
    added nothing."""
    ends_at = check(window)
    site = await session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise UnknownSiteError(code)
    row = MaintenanceWindow(
        site_id=site.id,
        subtree=subtree,
        starts_at=window.starts_at,
        duration_seconds=int(window.duration.total_seconds()),
        rrule=window.rule,
        time_zone=window.time_zone,
        ends_at=ends_at,
        note=note,
        created_by=by,
    )
    session.add(row)
    return row, site


__all__ = ["InvalidWindowError", "UnknownSiteError", "plan"]
