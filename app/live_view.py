"""The live view: every site as the dashboard shows it and the incidents worth showing, held in
memory once per process and kept current from the event bus. The live stream
(app/api/stream.py) serves its snapshots and its updates from here, and from nowhere else.

Why one view: the snapshot used to be read from the database while the updates came from the
bus, and the recorder writes the database a second or more after the bus announces a change; a
change announced in between was in neither, and three patches covered the gap. Now the snapshot
and the updates are two readings of the same state and cannot disagree. The database seeds the
view at start, corrects it (a reseed: periodically, after a site edit, after lost events, when
the database is back) and gives the rows the bus does not carry (an incident's, re-read once for
the process whatever the number of dashboards).

What clients receive is built once and shared: an `update` at most every COALESCE_SECONDS with
the full current state of each site that changed, `incident` events, and, when a client fell
behind or the view was replaced, a fresh snapshot. Reads never wait for the database: during an
outage the view keeps serving its last state, still following the bus.
"""

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Row, or_, select

from app.health import DatabaseWatch
from app.queries import (
    as_observed,
    incident_public,
    incidents_with_site,
    site_public,
    sites_with_parent_code,
)
from app.schemas.devices import room_devices
from models.base import utcnow
from models.db import SessionMaker, is_outage
from models.incident import Incident, IncidentKind
from models.site import Site, SiteStatus
from monitor.conference.attendance import Present, latest_present
from monitor.probe.events import (
    AttendanceChanged,
    Event,
    EventBus,
    FullChecked,
    IncidentChanged,
    Resync,
    SampleTaken,
    StatusChanged,
    Subscription,
)
from monitor.probe.incidents import Notice
from monitor.probe.recorder import latest_figures

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.5
# The safety net: whatever the view missed (a site edited by plain SQL, a status written by
# another process with no event) is put right within this long.
RESEED_SECONDS = 60.0
RETRY_SECONDS = 5.0  # after a read that failed
EDIT_GATHER_SECONDS = 0.5  # a burst of site edits costs one reseed, not one each
READ_TIMEOUT_SECONDS = 30.0
RECENT_INCIDENTS = 100
BUS_QUEUE_EVENTS = 200_000  # the view drains it every half second
# A client this far behind is sent a fresh snapshot instead (about three of the national map's).
CLIENT_QUEUE_BYTES = 4 * 1024 * 1024
# The fields the page draws tiles and the map from: a change to one needs a fresh snapshot.
TOPOLOGY = ("code", "name", "level", "parent_code", "lat", "lon")
# Rewritten by every write of the recorder: taken from the database, never a reason to tell.
UNSHOWN = ("updated_at",)
# A site's delegates present count for a conference day: yesterday's number is not today's.
ATTENDANCE_FRESH = timedelta(hours=12)

_TIME: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)


class Reseed(IntEnum):
    """Why the view is read again from the database; the strongest pending reason wins."""

    NONE = 0
    CHECK = 1  # periodic, or a site edit: what differs goes out as updates
    FRESH = 2  # the database is back: every client gets a fresh snapshot
    LOST = 3  # the view missed events: every client gets `resync`, then a fresh snapshot


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Event, encoded once however many clients it goes to."""
    return f"event: {event}\ndata: {_dumps(data)}\n\n".encode()


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_json)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _stamp(value: datetime | None) -> Any:
    """A time as the API writes it in JSON (the snapshot's sites are pydantic dumps too)."""
    return _TIME.dump_python(value, mode="json")


def _time(stamp: str | None) -> datetime:
    return datetime.fromisoformat(stamp) if stamp else datetime.min.replace(tzinfo=UTC)


def _latest_at(site: dict[str, Any]) -> datetime:
    latest = site.get("latest") or {}
    return _time(latest.get("at"))


class Client:
    """One stream's mailbox: the messages it has yet to write, or a snapshot owed instead.

    Messages are shared by every client; a client only holds references. One that falls
    CLIENT_QUEUE_BYTES behind loses its backlog and owes a snapshot, which holds all of it.
    """

    def __init__(self) -> None:
        self._messages: deque[bytes] = deque()
        self._bytes = 0
        self._woken = asyncio.Event()
        self.snapshot_owed = True  # at first, after falling behind, when the view was replaced
        self.resync: int | None = None  # to announce before the owed snapshot: messages lost
        self.had_snapshot = False
        self.closed = False

    def put(self, message: bytes) -> None:
        if self.snapshot_owed:
            return  # the snapshot to come holds it
        if self._bytes + len(message) > CLIENT_QUEUE_BYTES:
            self.owe(resync=len(self._messages) + 1)
            return
        self._messages.append(message)
        self._bytes += len(message)
        self._woken.set()

    def owe(self, resync: int | None) -> None:
        """A snapshot is owed; `resync`: announced first, with the count of messages lost."""
        self._messages.clear()
        self._bytes = 0
        self.snapshot_owed = True
        if resync is not None and self.had_snapshot:
            self.resync = (self.resync or 0) + resync
        self._woken.set()

    def took_snapshot(self) -> None:
        self._messages.clear()  # all in the snapshot
        self._bytes = 0
        self.snapshot_owed = False
        self.had_snapshot = True
        self.resync = None

    def take(self) -> list[bytes]:
        messages = list(self._messages)
        self._messages.clear()
        self._bytes = 0
        return messages

    def wake(self) -> None:
        self._woken.set()

    async def wait(self, seconds: float) -> bool:
        """Until a message comes or the client is woken; False after `seconds` of quiet."""
        try:
            async with asyncio.timeout(seconds):
                await self._woken.wait()
        except TimeoutError:
            return False
        self._woken.clear()
        return True


class LiveView:
    def __init__(
        self,
        sessionmaker: SessionMaker,
        bus: EventBus,
        database: DatabaseWatch,
        stopping: asyncio.Event,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._database = database
        self._stopping = stopping
        self._sites: dict[str, dict[str, Any]] = {}  # by code, in code order; JSON-ready
        self._site_json: dict[str, str] = {}  # each site's JSON as shown, redone on a change
        # Whether the monitor's own link is out (an open monitor-link incident): the sites that
        # read down are then shown not observable (app/queries.py `as_observed`).
        self._link_out = False
        self._incidents: dict[int, dict[str, Any]] = {}  # open and recent, JSON-ready
        self._snapshot: bytes | None = None  # built for the next client that needs one
        self._clients: set[Client] = set()
        self._changed: set[str] = set()  # sites changed since the last update went out
        self._kick = asyncio.Event()  # sites changed by a reseed: an update is due
        self._incident_changes: list[IncidentChanged] = []  # incidents to re-read
        self._reseed = Reseed.NONE
        self._lost = 0  # events the view missed, told to clients with the reseed
        self._wanted = asyncio.Event()  # a read of the database is wanted
        self._next_check = 0.0  # when the periodic reseed is due (loop time)
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.seeded = False
        # False from the moment the database comes or goes until the view is read again once
        # it answers: a snapshot owed meanwhile waits, so a client gets one, not two.
        self.up_to_date = False

    # -- for the stream ------------------------------------------------------------------

    def join(self) -> Client:
        client = Client()
        self._clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self._clients.discard(client)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def snapshot(self, client: Client) -> bytes:
        """The start of a `snapshot` event of the current state, up to the closing brace of its
        data (the stream adds who the client is). Whatever `client` had queued is in it."""
        client.took_snapshot()
        if self._snapshot is None:
            incidents = sorted(
                self._incidents.values(),
                key=lambda i: (_time(i["opened_at"]), i["id"]),
                reverse=True,
            )
            sites = ",".join(self._site_json.values())
            self._snapshot = (
                f'event: snapshot\ndata: {{"sites": [{sites}], "incidents": {_dumps(incidents)}'
            ).encode()
        return self._snapshot

    def site_edited(self) -> None:
        """A site was created, changed or deleted (here, or in another process): reseed."""
        self._want(Reseed.CHECK)

    # -- running -------------------------------------------------------------------------

    async def start(self) -> None:
        # Subscribed before the seed is read: what is published meanwhile waits in the queue
        # and is applied after it, so nothing is lost.
        self._subscription = self._bus.subscribe("live view", maxsize=BUS_QUEUE_EVENTS)
        self._reseed = Reseed.FRESH
        await self._read_database()  # if the database is out, the reader tries again
        self._tasks = [
            asyncio.create_task(self._coalesce(), name="live view updates"),
            asyncio.create_task(self._reader(), name="live view reads"),
            asyncio.create_task(self._watch(), name="live view health"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._subscription is not None:
            self._bus.unsubscribe(self._subscription)
        for client in self._clients:
            client.closed = True
            client.wake()

    def _want(self, reseed: Reseed, lost: int = 0) -> None:
        self._reseed = max(self._reseed, reseed)
        self._lost += lost
        self._wanted.set()

    def _broadcast(self, message: bytes) -> None:
        for client in self._clients:
            client.put(message)

    def _owe_everyone(self, resync: int | None) -> None:
        for client in self._clients:
            client.owe(resync)

    # -- from the bus --------------------------------------------------------------------

    async def _coalesce(self) -> None:
        """Half a second of events applied at once, then one update for all clients."""
        assert self._subscription is not None
        while True:
            first = await self._next_event(self._subscription)
            await asyncio.sleep(COALESCE_SECONDS)
            events = [first] if first is not None else []
            try:
                self._apply([*events, *self._subscription.drain(BUS_QUEUE_EVENTS)])
                self._send_update()
            except Exception:  # a bug must not freeze every dashboard: read it all again
                log.exception("the live view could not apply events; it reads them again")
                self._want(Reseed.LOST)

    async def _next_event(self, subscription: Subscription) -> Event | None:
        """The next event of the bus, or None when a reseed changed sites first."""
        if self._kick.is_set():
            self._kick.clear()
            return None
        getting = asyncio.ensure_future(subscription.get())
        kicked = asyncio.ensure_future(self._kick.wait())
        try:
            await asyncio.wait({getting, kicked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            kicked.cancel()
            got = getting.done()
            if not got:
                getting.cancel()  # takes nothing from the queue
        self._kick.clear()
        return getting.result() if got else None

    def _apply(self, events: list[Event]) -> None:
        touched: set[str] = set()
        for event in events:
            if isinstance(event, StatusChanged | SampleTaken):
                site = self._sites.get(event.site_code)
                if site is None:
                    continue  # not seeded yet, or deleted: a reseed brings what is right
                if isinstance(event, StatusChanged):
                    site["status"] = event.new.value
                    site["status_since"] = _stamp(event.at)
                    site["status_reason"] = event.reason
                else:  # as the recorder writes them
                    site["latest"] = latest_figures(event)
                    site["devices"] = _devices(site["latest"])
                    site["last_seen_at"] = _stamp(event.last_seen_at)
                touched.add(event.site_code)
            elif isinstance(event, FullChecked):
                if (checked := self._sites.get(event.site_code)) is not None:
                    checked["full_check"] = {
                        "at": _stamp(event.at),
                        "passed": event.passed,
                        "failed": event.failed,
                    }
                    touched.add(event.site_code)
            elif isinstance(event, AttendanceChanged):
                if (counted := self._sites.get(event.site_code)) is not None:
                    counted["attendance"] = _counted(
                        event.present, event.source, event.by, event.at
                    )
                    touched.add(event.site_code)
            elif isinstance(event, IncidentChanged):
                self._incident_changes.append(event)
                self._wanted.set()
            elif isinstance(event, Resync):
                self._want(Reseed.LOST, event.dropped)
        for code in touched:
            self._render(code)
        self._changed |= touched

    def _render(self, code: str) -> None:
        self._site_json[code] = _dumps(as_observed(self._sites[code], self._link_out))
        self._snapshot = None

    def _follow_link(self) -> None:
        """Once the monitor's link goes out or comes back, the sites that read down are shown
        otherwise: sent again."""
        link_out = any(
            i["kind"] == IncidentKind.MONITOR_LINK and i["closed_at"] is None
            for i in self._incidents.values()
        )
        if link_out == self._link_out:
            return
        self._link_out = link_out
        down = [code for code, site in self._sites.items() if site["status"] == SiteStatus.DOWN]
        for code in down:
            self._render(code)
        self._changed.update(down)
        self._kick.set()

    def _send_update(self) -> None:
        codes = [code for code in self._changed if code in self._site_json]
        self._changed.clear()
        if not codes:
            return
        sites = ",".join(self._site_json[code] for code in codes)
        at = _dumps(utcnow().isoformat())
        self._broadcast(f'event: update\ndata: {{"at": {at}, "sites": [{sites}]}}\n\n'.encode())

    # -- from the database ---------------------------------------------------------------

    async def _reader(self) -> None:
        """Every read of the database, one at a time: a reseed never overwrites an incident
        with an older read of it."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, self._next_check - loop.time())):
                    await self._wanted.wait()
            self._wanted.clear()
            if loop.time() >= self._next_check:
                self._reseed = max(self._reseed, Reseed.CHECK)
            if self._reseed is Reseed.CHECK:
                await asyncio.sleep(EDIT_GATHER_SECONDS)
            await self._read_database()

    async def _read_database(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                await self._read_incidents()
                reseeded = await self._read_sites()
        except Exception as exc:
            if not is_outage(exc):
                log.exception("the live view could not read the database; will try again")
            else:
                self._database.failed(exc)  # the stream says so; the view keeps its state
            self._next_check = loop.time() + RETRY_SECONDS
            return
        if reseeded:
            self._next_check = loop.time() + RESEED_SECONDS

    async def _read_incidents(self) -> None:
        """Each changed incident read once, and told to every client."""
        changes, self._incident_changes = self._incident_changes, []
        if not changes:
            return
        ids = {change.incident_id for change in changes}
        try:
            async with self._sessionmaker() as session:
                rows = await session.execute(incidents_with_site().where(Incident.id.in_(ids)))
        except BaseException:
            self._reseed = max(self._reseed, Reseed.CHECK)  # its incidents are compared then
            raise
        found = {row[0].id: incident_public(*row).model_dump(mode="json") for row in rows}
        for incident_id in ids - found.keys():
            self._incidents.pop(incident_id, None)  # deleted with its site
        self._incidents.update(found)
        self._forget_old_incidents()
        self._snapshot = None
        self._follow_link()
        for change in changes:
            if incident := found.get(change.incident_id):
                self._broadcast(sse("incident", {"state": change.state, **incident}))

    async def _read_sites(self) -> bool:
        reseed, lost = self._reseed, self._lost
        if reseed is Reseed.NONE:
            return False
        self._reseed, self._lost = Reseed.NONE, 0
        try:
            async with self._sessionmaker() as session:
                sites = (await session.execute(sites_with_parent_code().order_by(Site.code))).all()
                now = utcnow()
                present = await latest_present(session, None, now - ATTENDANCE_FRESH, now)
                incidents = (
                    await session.execute(
                        incidents_with_site().where(
                            or_(Incident.closed_at.is_(None), Incident.id.in_(_recent_ids()))
                        )
                    )
                ).all()
        except BaseException:
            self._want_again(reseed, lost)
            raise
        self._replace(sites, present, incidents, reseed, lost)
        return True

    def _want_again(self, reseed: Reseed, lost: int) -> None:
        self._reseed = max(self._reseed, reseed)
        self._lost += lost

    def _replace(
        self,
        rows: Sequence[Row[Site, str | None]],
        present: dict[int, Present],
        incident_rows: Sequence[Row[Incident, str, str]],
        reseed: Reseed,
        lost: int,
    ) -> None:
        """The view as the database has it, but for what the bus told of later than the
        database knows: the recorder writes a second or more after a change is announced."""
        sites: dict[str, dict[str, Any]] = {}
        changed: list[str] = []
        topology = list(self._sites) != [site.code for site, _ in rows]
        for site, parent_code in rows:
            fresh = site_public(site, parent_code, link_out=False).model_dump(mode="json")
            fresh["attendance"] = _attendance(present.get(site.id))
            old = self._sites.get(site.code)
            if old is not None:
                _keep_newer(fresh, old, utcnow() - ATTENDANCE_FRESH)
                topology = topology or any(fresh[key] != old[key] for key in TOPOLOGY)
                if _shown(fresh) != _shown(old):
                    changed.append(site.code)
            sites[site.code] = fresh
        incidents = {
            row[0].id: incident_public(*row).model_dump(mode="json") for row in incident_rows
        }
        told = [
            (_incident_state(self._incidents.get(incident_id), incident), incident)
            for incident_id, incident in incidents.items()
            if self._incidents.get(incident_id) != incident
        ]
        self._sites = sites
        self._incidents = incidents
        self._forget_old_incidents()
        self._follow_link()
        self._site_json = {
            code: _dumps(as_observed(site, self._link_out)) for code, site in sites.items()
        }
        self._snapshot = None
        first = not self.seeded
        self.seeded = True
        self.up_to_date = self.up_to_date or reseed >= Reseed.FRESH
        if first:
            for client in self._clients:
                client.wake()  # those that came before the first seed wait for it
        elif reseed is Reseed.LOST or topology:
            log.info("live view reseeded", extra={"lost": lost, "topology": topology})
            self._owe_everyone(lost)
        elif reseed is Reseed.FRESH:
            self._owe_everyone(None)
        else:
            for state, incident in told:
                self._broadcast(sse("incident", {"state": state, **incident}))
            if changed:
                self._changed.update(changed)
                self._kick.set()

    def _forget_old_incidents(self) -> None:
        """Keep what the snapshot shows: every open incident and the most recent ones."""
        newest = sorted(self._incidents.values(), key=lambda i: _time(i["opened_at"]), reverse=True)
        for incident in newest[RECENT_INCIDENTS:]:
            if incident["closed_at"] is not None:
                del self._incidents[incident["id"]]

    # -- the database's health, the server's stop ----------------------------------------

    async def _watch(self) -> None:
        """Wakes every stream when the database comes or goes (they say so) and when the
        server stops (they end); when the database is back, the view is read again."""
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            while not stop.done():
                change = asyncio.ensure_future(self._database.change())
                try:
                    await asyncio.wait({stop, change}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    change.cancel()
                if not stop.done():
                    self.up_to_date = False
                    if self._database.reachable:
                        self._want(Reseed.FRESH)
                for client in self._clients:
                    client.wake()
        finally:
            stop.cancel()


def _recent_ids() -> Any:
    return (
        select(Incident.id).order_by(Incident.opened_at.desc()).limit(RECENT_INCIDENTS)
    ).scalar_subquery()


def _attendance(present: Present | None) -> dict[str, Any] | None:
    """A site's delegates present as the live view shows them: the latest value, whoever
    gave it (as the REST roll-up counts them)."""
    if present is None:
        return None
    return _counted(present.present, present.source.value, present.by, present.at)


def _counted(present: int, source: str, by: str, at: datetime) -> dict[str, Any]:
    return {"present": present, "source": source, "by": by, "at": _stamp(at)}


def _keep_newer(fresh: dict[str, Any], old: dict[str, Any], fresh_from: datetime) -> None:
    """What the bus told of after the database's own time stays: a status change announced
    and not yet written, the figures of the last window, a number of delegates saved while the
    database was read (one older than `fresh_from` no longer counts)."""
    if _time(old["status_since"]) > _time(fresh["status_since"]):
        for key in ("status", "status_since", "status_reason"):
            fresh[key] = old[key]
    if _latest_at(old) > _latest_at(fresh):
        fresh["latest"], fresh["last_seen_at"] = old["latest"], old["last_seen_at"]
        fresh["devices"] = old.get("devices")
    counted, read = old.get("attendance"), fresh["attendance"]
    if counted is not None and _time(counted["at"]) >= max(
        fresh_from, _time(read["at"] if read else None)
    ):
        fresh["attendance"] = counted


def _devices(latest: dict[str, Any]) -> dict[str, Any] | None:
    """The room's devices as REST shows them, from the figures just taken."""
    devices = room_devices(latest)
    return devices.model_dump(mode="json") if devices else None


def _shown(site: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in site.items() if key not in UNSHOWN}


def _incident_state(old: dict[str, Any] | None, new: dict[str, Any]) -> Notice:
    """The `state` of an incident event for a change found by a reseed, not announced."""
    if old is None:
        return Notice.OPENED if new["closed_at"] is None else Notice.CLOSED
    if new["closed_at"] is not None and old["closed_at"] is None:
        return Notice.CLOSED
    if new["acknowledged_at"] is not None and old["acknowledged_at"] is None:
        return Notice.ACKNOWLEDGED
    return Notice.UPDATED
