"""The status of one site, with hysteresis: a lost packet never pages anyone, a dead site is
flagged within a few heartbeats, and a site comes back only after it has proven itself."""

from dataclasses import dataclass
from datetime import datetime

from models.site import PAUSED_REASON, SiteStatus
from models.thresholds import Thresholds
from monitor.probe.quality import WindowFigures
from monitor.wire.protocol import Report


@dataclass(frozen=True)
class Policy:
    missed_to_down: int
    good_windows_to_up: int
    limits: Thresholds


@dataclass(frozen=True)
class Transition:
    old: SiteStatus
    new: SiteStatus
    reason: str
    at: datetime


def _exceeds(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value > limit


def problems(figures: WindowFigures, limits: Thresholds) -> list[str]:
    """Why a window counts as degraded (empty: it is good)."""
    found = []
    if _exceeds(figures.rtt_median_seconds, limits.rtt_seconds):
        found.append(f"RTT {(figures.rtt_median_seconds or 0) * 1000:.0f} ms")
    if _exceeds(figures.jitter_seconds, limits.jitter_seconds):
        found.append(f"jitter {(figures.jitter_seconds or 0) * 1000:.0f} ms")
    if _exceeds(figures.loss_ratio, limits.loss_ratio):
        found.append(f"loss {figures.loss_ratio:.0%}")
    if figures.mos is not None and limits.mos is not None and figures.mos < limits.mos:
        found.append(f"MOS {figures.mos:.1f}")
    return found


# The room's own camera and microphone, as the agent judged them (docs/PROTOCOL.md §4): which
# verdicts are faults, and the cause each names in the reason. `fault` (an old agent's
# `camera_ok: false`) names none; `denied` is no fault: the devices were not checked.
PICTURE_FAULTS = {"missing": "no camera", "black": "black", "frozen": "frozen", "fault": ""}
SOUND_FAULTS = {"missing": "no microphone", "silent": "silent", "fault": ""}


def _fault(what: str, verdict: str | None, causes: dict[str, str]) -> list[str]:
    if verdict not in causes:
        return []
    cause = causes[verdict]
    return [f"{what} ({cause})" if cause else what]


def media_problems(report: Report | None) -> list[str]:
    """What the agent's latest report says is wrong with the room's picture and sound."""
    if report is None:
        return []
    picture = _fault("no picture", report.camera_verdict(), PICTURE_FAULTS)
    return picture + _fault("no sound", report.microphone_verdict(), SOUND_FAULTS)


def _kinds(bad: list[str]) -> frozenset[str]:
    """{RTT, no picture (black)} of [RTT 350 ms, no picture (black)]: a figure's kind is its
    name, a room's fault is its own kind."""
    return frozenset(p if p.startswith("no ") else p.split(" ", 1)[0] for p in bad)


# Set-ups in a row that time out after the agent answered before the site reads `down`: one
# more try costs a dead link one set-up timeout, and spares a lossy one a false alarm.
SLOW_SETUPS_TO_DOWN = 2
REASON_LENGTH = 200  # site.status_reason, status_change.reason
MAINTENANCE_OVER = "maintenance over"


def maintenance_reason(note: str) -> str:
    """`maintenance: <note>`, within what a stored reason holds."""
    reason = f"maintenance: {note}".strip().removesuffix(":")
    return reason if len(reason) <= REASON_LENGTH else reason[: REASON_LENGTH - 1] + "…"


class StatusMachine:
    """The only judge of a site's status. In a maintenance window it goes on counting missed
    heartbeats and failed set-ups but says `maintenance` instead of `down` or `degraded`; when
    the window ends, what it counted meanwhile judges the site at once."""

    def __init__(
        self, policy: Policy, status: SiteStatus, since: datetime, reason: str = ""
    ) -> None:
        self.policy = policy
        self.status = status
        self.since = since
        self.reason = reason  # why the status last changed
        self._missed = 0
        self._good_streak = 0  # consecutive windows that argue for a better status
        self._failing: str | None = None  # why the last set-up failed, until one succeeds
        self._slow_setups = 0  # since the last connection: set-ups the agent answered, timed out
        self._kinds: frozenset[str] | None = None  # of the problems while degraded; None: unknown

    def _reworded(self, bad: list[str], reason: str, now: datetime) -> Transition | None:
        """Still degraded, for other kinds of problem (the camera is fixed, now the sound is
        gone): a change from degraded to degraded with the new reason, so the reason always
        says what is wrong now. Figures that move within the same kinds change nothing."""
        kinds = _kinds(bad)
        known, self._kinds = self._kinds, kinds
        if self.status is not SiteStatus.DEGRADED or known is None or kinds == known:
            return None
        change = Transition(self.status, self.status, reason, now)
        self.since, self.reason = now, reason
        return change

    def _move(self, new: SiteStatus, reason: str, now: datetime) -> Transition | None:
        self._good_streak = 0
        self._kinds = None
        if new is self.status:
            return None
        change = Transition(self.status, new, reason, now)
        self.status, self.since, self.reason = new, now, reason
        return change

    @property
    def lost(self) -> bool:
        """Enough heartbeats in a row were missed that the connection counts as dead."""
        return self._missed >= self.policy.missed_to_down

    def connected(self) -> None:
        """A new connection: what the one before missed does not count against it."""
        self._missed = 0
        self._failing = None
        self._slow_setups = 0

    @property
    def in_maintenance(self) -> bool:
        return self.status is SiteStatus.MAINTENANCE

    def heartbeat(self, answered: bool, now: datetime) -> Transition | None:
        if answered:
            self._missed = 0
            return None
        self._missed += 1
        if self.lost and self.status not in (SiteStatus.DOWN, SiteStatus.MAINTENANCE):
            return self._move(SiteStatus.DOWN, f"{self._missed} heartbeats missed", now)
        return None

    def setup_failed(
        self, reason: str, now: datetime, agent_answered: bool = False
    ) -> Transition | None:
        """A set-up failed. One that the agent took part in (it answered the offer, or dialled
        in) but that ran out of time is tried once more before it counts: on a lossy link the
        retransmissions of ICE, DTLS and SCTP (SCTP's first after 3 s) can outlast the set-up
        timeout while the site is fine; an agent that cannot be reached, or refuses, counts at
        once."""
        if agent_answered:
            self._slow_setups += 1
            if self._slow_setups < SLOW_SETUPS_TO_DOWN:
                return None
        self._failing = reason
        if self.status in (SiteStatus.DOWN, SiteStatus.PAUSED, SiteStatus.MAINTENANCE):
            self._good_streak = 0
            return None
        return self._move(SiteStatus.DOWN, reason, now)

    def window(
        self, figures: WindowFigures, now: datetime, report: Report | None = None
    ) -> Transition | None:
        """Judge one window in which the site answered at least once, with what the agent
        last reported of the room (None: nothing, or not since this connection began)."""
        if self.status in (SiteStatus.PAUSED, SiteStatus.MAINTENANCE):
            return None
        if figures.rtt_median_seconds is None:
            return None
        bad = problems(figures, self.policy.limits) + media_problems(report)
        change = self._judge(bad, now)
        if change is not None and change.new is SiteStatus.DEGRADED:
            self._kinds = _kinds(bad)  # what the new reason names
        return change

    def _judge(self, bad: list[str], now: datetime) -> Transition | None:
        verdict = SiteStatus.DEGRADED if bad else SiteStatus.UP
        reason = ", ".join(bad) if bad else "link good"
        if self.status is SiteStatus.UNKNOWN or (
            self.status is SiteStatus.UP and verdict is SiteStatus.DEGRADED
        ):
            return self._move(verdict, reason, now)
        if self.status is verdict:
            self._good_streak = 0
            return self._reworded(bad, reason, now)
        # DOWN -> anything, or DEGRADED -> UP: only after enough windows in a row argue for it.
        self._good_streak += 1
        if self._good_streak >= self.policy.good_windows_to_up:
            return self._move(verdict, f"{reason} for {self._good_streak} windows", now)
        return None

    def pause(self, now: datetime) -> Transition | None:
        return self._move(SiteStatus.PAUSED, PAUSED_REASON, now)

    def maintain(self, note: str | None, now: datetime) -> Transition | None:
        """A maintenance window with `note` is on (None: none is). Entering says `maintenance`
        whatever the site's state; leaving judges it at once by what was counted meanwhile:
        `down` if it is still lost or failing to connect, else `unknown` until its next window."""
        if note is not None:
            if self.status is SiteStatus.PAUSED:
                return None
            return self._move(SiteStatus.MAINTENANCE, maintenance_reason(note), now)
        if not self.in_maintenance:
            return None
        if self.lost:
            return self._move(SiteStatus.DOWN, f"{self._missed} heartbeats missed", now)
        if self._failing is not None:
            return self._move(SiteStatus.DOWN, self._failing, now)
        return self._move(SiteStatus.UNKNOWN, MAINTENANCE_OVER, now)
