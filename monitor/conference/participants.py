"""The sites that take part in a conference, each with the delegates it expects and the
district it is counted in (its province on the 2025 map; none for the hub)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.conference import ConferenceSite
from models.site import Site, group_of


@dataclass(frozen=True)
class Participant:
    expected: int
    site: Site
    district: Site | None

    @property
    def district_code(self) -> str | None:
        return self.district.code if self.district else None

    @property
    def district_name(self) -> str | None:
        return self.district.name if self.district else None


async def participants(session: AsyncSession, conference_id: int) -> list[Participant]:
    district = aliased(Site)
    rows = await session.execute(
        select(ConferenceSite.expected_delegates, Site, district)
        .join(Site, Site.id == ConferenceSite.site_id)
        .outerjoin(district, district.id == group_of(Site))
        .where(ConferenceSite.conference_id == conference_id)
        .order_by(Site.code)
    )
    return [Participant(expected, site, home) for expected, site, home in rows.all()]
