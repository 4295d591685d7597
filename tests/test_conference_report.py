"""The conference report: per site, time up / degraded / down within the conference's window,
exact to the recorded status changes; the incidents that overlapped it; worst figures; delegates
present against expected; totals per district and overall, the most downtime first; as JSON and
as CSV that Excel opens with its Vietnamese names intact."""

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from models.attendance import Attendance, AttendanceSource
from models.auth import Role
from models.db import SessionMaker
from models.history import FullCheckResult, Sample, StatusChange
from models.incident import Incident
from models.site import Site, SiteStatus
from monitor.conference.timeline import Change, overlap_seconds, seconds_in_status

Headers = dict[Role, dict[str, str]]
START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in the hall
END = START + timedelta(hours=2)
UP, DEGRADED, DOWN = SiteStatus.UP, SiteStatus.DEGRADED, SiteStatus.DOWN


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def test_time_in_each_status_counts_only_the_window() -> None:
    changes = [
        Change(at(-30), UP),
        Change(at(10), DOWN),
        Change(at(16.5), UP),
        Change(at(150), DOWN),
    ]
    spent = seconds_in_status(SiteStatus.UNKNOWN, changes, START, END)
    assert spent[DOWN] == 390 and spent[UP] == 7200 - 390
    assert sum(spent.values()) == 7200
    # Down since before the start: that part of the outage is not the conference's.
    spent = seconds_in_status(DOWN, [Change(at(5), UP)], START, END)
    assert spent[DOWN] == 300
    assert seconds_in_status(UP, [], START, START)[UP] == 0


def test_an_episode_counts_only_where_it_overlaps_the_window() -> None:
    assert overlap_seconds(at(-5), at(5), START, END) == 300
    assert overlap_seconds(at(110), None, START, END) == 600  # still open at the end
    assert overlap_seconds(at(-50), at(-40), START, END) == 0


async def _history(seeded: SessionMaker) -> None:
    async with seeded() as session:
        ids = {
            code: await session.scalar(select(Site.id).where(Site.code == code))
            for code in ("01267", "01273", "01654")
        }

        def change(code: str, minutes: float, old: SiteStatus, new: SiteStatus) -> StatusChange:
            return StatusChange(site_id=ids[code], at=at(minutes), old_status=old, new_status=new)

        def present(code: str, minutes: float, value: int, source: AttendanceSource) -> Attendance:
            return Attendance(
                site_id=ids[code], at=at(minutes), present=value, source=source, by="test"
            )

        def checked(code: str, minutes: float, failed: str = "") -> FullCheckResult:
            return FullCheckResult(
                site_id=ids[code], at=at(minutes), passed=not failed, failed=failed
            )

        def sample(code: str, minutes: float, **figures: object) -> Sample:
            return Sample(site_id=ids[code], at=at(minutes), reachable=True, **figures)

        session.add_all(
            [
                change("01267", -30, SiteStatus.UNKNOWN, UP),
                change("01267", 10, UP, DOWN),
                change("01267", 16.5, DOWN, UP),
                change("01273", -60, SiteStatus.UNKNOWN, UP),
                change("01273", 60, UP, DEGRADED),
                change("01273", 70, DEGRADED, UP),
                change("01654", -5, UP, DOWN),
                change("01654", 5, DOWN, UP),
                checked("01267", -20),
                checked("01273", -90),  # before pre-flight opened (at -60): says nothing
                checked("01273", -15, "no picture"),
                checked("01273", 30),  # after the start: too late to be ready at it
                checked("01654", -30),
                Incident(site_id=ids["01267"], severity=DOWN, opened_at=at(10), closed_at=at(16.5)),
                Incident(
                    site_id=ids["01273"], severity=DEGRADED, opened_at=at(60), closed_at=at(70)
                ),
                Incident(site_id=ids["01654"], severity=DOWN, opened_at=at(-5), closed_at=at(5)),
                Incident(site_id=ids["01654"], severity=DOWN, opened_at=at(-50), closed_at=at(-40)),
                sample("01267", 20, rtt_median_seconds=0.05, loss_ratio=0.0, mos=4.4),
                sample("01267", 60, rtt_median_seconds=0.4, loss_ratio=0.02, mos=3.9),
                sample("01267", 130, rtt_median_seconds=2.0),  # after the end
                present("01267", -90, 40, AttendanceSource.AGENT),  # before pre-flight opened
                present("01267", 20, 20, AttendanceSource.AGENT),
                present("01267", 60, 23, AttendanceSource.OPERATOR),  # the last value wins
                present("01267", 130, 99, AttendanceSource.AGENT),  # after the end
                sample("01273", 65, rtt_median_seconds=0.5, loss_ratio=0.08, mos=3.1),
            ]
        )
        await session.commit()


async def _plan(client: httpx.AsyncClient, auth: Headers, start: datetime, end: datetime) -> str:
    plan = {
        "title": "Hội nghị trực tuyến tỉnh Cao Bằng",
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "sites": [
            {"site_code": "01267", "expected_delegates": 25},
            {"site_code": "01273", "expected_delegates": 30},
            {"site_code": "01654", "expected_delegates": 20},
        ],
    }
    created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
    assert created.status_code == 201, created.text
    return f"{created.headers['location']}/report"


async def test_the_report_of_an_ended_conference(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    await _history(seeded)
    url = await _plan(client, auth, START, END)
    response = await client.get(url, headers=auth[Role.VIEWER])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["complete"] is True and report["window_end"] == "2026-12-01T03:00:00Z"

    assert [d["code"] for d in report["districts"]] == ["040", "051"]  # most downtime first
    city = report["districts"][0]
    assert city["name"] == "Thành phố Cao Bằng"
    assert [s["code"] for s in city["sites"]] == ["01267", "01273"]
    song_hien, hop_giang = city["sites"]
    assert song_hien["seconds"] == {
        "up": 6810,
        "degraded": 0,
        "down": 390,
        "maintenance": 0,
        "other": 0,
    }
    assert song_hien["uptime_ratio"] == pytest.approx(1 - 390 / 7200, abs=1e-5)
    assert [i["seconds_in_window"] for i in song_hien["incidents"]] == [390]
    assert song_hien["worst_rtt_seconds"] == 0.4 and song_hien["worst_mos"] == 3.9
    assert song_hien["attendance"] == 23  # the last value reported within the window
    assert hop_giang["seconds"]["degraded"] == 600 and hop_giang["uptime_ratio"] == 1
    assert hop_giang["worst_loss_ratio"] == 0.08 and hop_giang["attendance"] is None

    # Up for the ready minutes and checked: ready; up but its full check found no picture: not.
    assert song_hien["ready_at_start"] is True and hop_giang["ready_at_start"] is False
    nuoc_hai = report["districts"][1]["sites"][0]
    assert nuoc_hai["ready_at_start"] is False  # down when the conference went live
    assert nuoc_hai["seconds"]["down"] == 300  # down from before the start until 08:05
    assert [i["seconds_in_window"] for i in nuoc_hai["incidents"]] == [300]  # not the 07:10 one

    totals = report["totals"]
    assert totals["sites"] == 3 and totals["incidents"] == 3
    assert totals["seconds"]["down"] == 690
    assert totals["expected_delegates"] == 75 and totals["attendance"] == 23
    assert totals["sites_without_attendance"] == 2
    assert city["totals"]["expected_delegates"] == 55

    as_csv = await client.get(url, params={"format": "csv"}, headers=auth[Role.VIEWER])
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [r["site_code"] for r in rows] == ["01267", "01273", "01654"]
    assert rows[0]["site_name"] == "Phường Sông Hiến" and rows[0]["seconds_down"] == "390.0"
    assert rows[0]["district_name"] == "Thành phố Cao Bằng" and rows[1]["attendance"] == ""
    assert [r["ready_at_start"] for r in rows] == ["yes", "no", "no"]


async def test_a_report_so_far_while_live_and_an_empty_one_before_the_start(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    await _history(seeded)
    now = datetime.now(UTC)
    live = await client.get(
        await _plan(client, auth, START, now + timedelta(hours=1)), headers=auth[Role.VIEWER]
    )
    body = live.json()
    assert body["complete"] is False
    assert datetime.fromisoformat(body["window_end"]) >= now - timedelta(seconds=1)
    assert body["totals"]["seconds"]["down"] == 690  # nothing recorded since

    planned = await client.get(
        await _plan(client, auth, now + timedelta(hours=2), now + timedelta(hours=3)),
        headers=auth[Role.VIEWER],
    )
    assert planned.status_code == 200, planned.text
    body = planned.json()
    assert body["phase"] == "planned" and body["totals"]["sites"] == 3
    assert body["totals"]["uptime_ratio"] is None and body["totals"]["incidents"] == 0


async def test_bad_report_requests_are_refused(client: httpx.AsyncClient, auth: Headers) -> None:
    url = await _plan(client, auth, START, END)
    wrong = await client.get(url, params={"format": "pdf"}, headers=auth[Role.VIEWER])
    assert wrong.status_code == 422 and "format" in wrong.text
    missing = await client.get("/api/v1/conferences/999/report", headers=auth[Role.VIEWER])
    assert missing.status_code == 404 and missing.json()["detail"] == "no conference with id 999"
    assert (await client.get(url)).status_code == 401
