"""Export of every site as `SiteFields`, parents before children, so that re-import round-trips."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.site import Site
from models.topology.fields import SiteFields


async def export_sites(session: AsyncSession) -> list[SiteFields]:
    parent = aliased(Site)
    rows = await session.execute(
        select(Site, parent.code).outerjoin(parent, Site.parent_id == parent.id).order_by(Site.code)
    )
    children: dict[str | None, list[SiteFields]] = {}
    for site, parent_code in rows:
        fields = SiteFields.model_validate(
            {
                "code": site.code,
                "name": site.name,
                "level": site.level,
                "parent_code": parent_code,
                "lat": site.lat,
                "lon": site.lon,
                "contact_name": site.contact_name,
                "contact_phone": site.contact_phone,
                "probe_mode": site.probe_mode,
                "probe_target": site.probe_target,
                "thresholds": site.thresholds,
                "enabled": site.enabled,
            }
        )
        children.setdefault(parent_code, []).append(fields)
    ordered: list[SiteFields] = []
    queue = list(children.get(None, []))
    while queue:
        fields = queue.pop(0)
        ordered.append(fields)
        queue.extend(children.get(fields.code, []))
    return ordered
