"""Built-in topologies and file import/export: counts, validation with line numbers, idempotence."""

from textwrap import dedent

import pytest
from sqlalchemy import func, select

from models.db import SessionMaker
from models.site import ProbeMode, Site, SiteLevel
from models.topology.builtin import builtin_text, seed_if_empty
from models.topology.exporter import export_sites
from models.topology.files import FileFormat, TopologyError, dump, parse
from models.topology.importer import import_sites


def _levels(name: str) -> dict[SiteLevel, int]:
    counts: dict[SiteLevel, int] = {}
    for row in parse(builtin_text(name), FileFormat.CSV):
        counts[row.site.level] = counts.get(row.site.level, 0) + 1
    return counts


def test_cao_bang_is_a_hub_10_districts_and_161_communes_with_coordinates() -> None:
    rows = parse(builtin_text("cao-bang"), FileFormat.CSV)
    assert _levels("cao-bang") == {SiteLevel.HUB: 1, SiteLevel.DISTRICT: 10, SiteLevel.COMMUNE: 161}
    assert all(r.site.lat and r.site.lon for r in rows)
    # Every coordinate lies in Cao Bằng province (about 22.3-23.1 N, 105.2-106.9 E).
    assert all(22.2 < (r.site.lat or 0) < 23.2 and 105.2 < (r.site.lon or 0) < 106.9 for r in rows)
    hub = [r.site for r in rows if r.site.level is SiteLevel.HUB]
    assert hub[0].probe_mode is ProbeMode.NONE and hub[0].parent_code is None
    assert any(r.site.name == "Huyện Hòa An" for r in rows)


def test_the_2025_national_map_has_34_provinces_and_3321_communes() -> None:
    assert _levels("vietnam-2025") == {
        SiteLevel.HUB: 1,
        SiteLevel.PROVINCE: 34,
        SiteLevel.COMMUNE: 3321,
    }


async def test_seeding_an_empty_database_loads_172_sites_once(sessionmaker: SessionMaker) -> None:
    first = await seed_if_empty(sessionmaker, "cao-bang")
    assert first is not None and first.created == 172
    assert await seed_if_empty(sessionmaker, "cao-bang") is None  # not empty any more
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Site)) == 172


async def test_import_twice_updates_and_never_duplicates(sessionmaker: SessionMaker) -> None:
    rows = parse(builtin_text("cao-bang"), FileFormat.CSV)
    async with sessionmaker() as session:
        first = await import_sites(session, rows)
        await session.commit()
    changed = parse(
        "code,name,level,parent_code,contact_phone\n040,TP Cao Bằng,district,04,0206 3852 111\n",
        FileFormat.CSV,
    )
    async with sessionmaker() as session:
        again = await import_sites(session, rows)
        edit = await import_sites(session, changed)
        await session.commit()
        total = await session.scalar(select(func.count()).select_from(Site))
        site = await session.scalar(select(Site).where(Site.code == "040"))
    assert (first.created, again.created, again.updated, again.unchanged) == (172, 0, 0, 172)
    assert (edit.updated, total) == (1, 172)
    assert site is not None and site.name == "TP Cao Bằng" and site.contact_phone == "0206 3852 111"
    assert site.lat is not None  # a column absent from the file keeps its value


BAD_CSV = dedent("""\
    code,name,level,parent_code,lat
    X1,Good,hub,,22.5
    X2,,commune,X1,22.5
    X3,Lat too big,commune,X1,95
    X4,Bad level,village,X1,
    X1,Duplicate,commune,,
    X5,Orphan,commune,NOPE,
    """)


def test_every_bad_row_is_reported_with_its_line() -> None:
    with pytest.raises(TopologyError) as caught:
        parse(BAD_CSV, FileFormat.CSV)
    text = "\n".join(caught.value.problems)
    assert "line 3: name" in text
    assert "line 4: lat" in text
    assert "line 5: level" in text
    assert "line 2" not in text


async def test_a_bad_file_writes_nothing(sessionmaker: SessionMaker) -> None:
    rows = parse(
        "code,name,level,parent_code\nA,A,hub,\nB,B,district,A\nA,Again,hub,\nC,C,commune,NOPE\n",
        FileFormat.CSV,
    )
    async with sessionmaker() as session:
        with pytest.raises(TopologyError) as caught:
            await import_sites(session, rows)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Site)) == 0
    assert caught.value.problems == [
        "line 4: code 'A' already on line 2",
        "line 5: parent 'NOPE' does not exist",
    ]


async def test_a_cycle_through_the_database_is_refused(seeded: SessionMaker) -> None:
    # District 040 under one of its own communes: 040 -> 01267 -> 040.
    rows = parse("code,name,level,parent_code\n040,X,district,01267\n", FileFormat.CSV)
    async with seeded() as session:
        with pytest.raises(TopologyError, match=r"line 2: the hierarchy has a cycle: 040 -> 01267"):
            await import_sites(session, rows)


def test_yaml_lines_and_unquoted_codes() -> None:
    text = dedent("""\
        sites:
          - code: "04"
            name: Hub
            level: hub
          - code: 040
            name: District
            level: district
            parent_code: "04"
        """)
    with pytest.raises(TopologyError) as caught:
        parse(text, FileFormat.YAML)
    assert caught.value.problems == [
        "line 5: code: Input should be a valid string "
        "(quote codes in YAML: 040 unquoted is read as a number)"
    ]


@pytest.mark.parametrize("fmt", list(FileFormat))
async def test_export_round_trips(seeded: SessionMaker, fmt: FileFormat) -> None:
    edit = parse(
        "code,name,level,parent_code,contact_name,thresholds,enabled,probe_target\n"
        '01267,"Phường ""Sông"" Hiến",commune,040,Chị Lan,"{""rtt_seconds"": 0.2}",false,'
        "http://10.4.0.7:8443/whip\n",
        FileFormat.CSV,
    )
    async with seeded() as session:
        await import_sites(session, edit)
        await session.commit()
        exported = await export_sites(session)
        text = dump(exported, fmt)
        again = await import_sites(session, parse(text, fmt))
    assert len(exported) == 172 and exported[0].level is SiteLevel.HUB
    assert (again.created, again.updated, again.unchanged) == (0, 0, 172)
    site = next(s for s in parse(text, fmt) if s.site.code == "01267").site
    assert site.name == 'Phường "Sông" Hiến' and site.enabled is False
    assert site.thresholds is not None and site.thresholds.rtt_seconds == 0.2
