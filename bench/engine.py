"""Benchmark: the probe engine holding N persistent sites over real WebRTC on loopback.

    .venv/bin/python -m bench.engine [--sites 171] [--seconds 30] [--kill 10] [--deadline 900]

A throwaway SQLite database gets the built-in `vietnam-2025` topology; N commune sites point at
real aiortc agents served by separate processes (4 healthy ones, plus one holding the K victims
that get SIGKILLed). `monitor.engine.Engine` runs in this process, under uvloop when installed.
Reported: time until every site is `up`, monitor CPU and RSS per site in steady state, event-loop
lag, gen-2 GC pauses, how long SIGKILLed agents take to be flagged `down`, and false downs.

It prints results and asserts nothing. It stops by itself: the phases share one deadline, after
which it reports what it has and exits 2 (so it does when set-up did not end, or on SIGTERM or
SIGINT); a watchdog thread kills everything a minute after the deadline should the event loop
be stuck, and agent processes exit by themselves when the benchmark's end of their stdin closes.

Agent secrets reach the agent processes on their standard input (never argv, never a file), and
every process gathers ICE candidates on 127.0.0.1 only. The agent-process sub-mode, started by
the benchmark itself, is `python -m bench.engine agents --port P --lifetime S` (the JSON object
{code: secret} on the first line of stdin; the process exits when stdin closes).

`--loss L --delay D` put every site's path through the userspace relay
(monitor/simulation/link.py, in the agent processes): each datagram lost with probability L and
delayed D seconds, each way; set-up then ends once every site answers, up or degraded.

`--cut S` cuts every agent's link after the steady window, for S seconds: through the same
relay, every datagram is dropped, and HTTP requests wait until the link is back, as TCP would
retransmit them. Reported: sites down, and how long each took to answer again after the link
was restored, with the set-ups, CPU and loop lag of that recovery. Downs from the cut until every
site answers again are not false.

Each agent process reports its own stalls (loop lag or a collection of 100 ms or more) in its
log, and each false down is listed with what stood still in the 2 s before it, there and in
the engine.
"""

import argparse
import asyncio
import contextlib
import datetime
import gc
import importlib
import json
import logging
import os
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from app.logs import configure as configure_logs
from models import migrations
from models.db import SessionMaker, create_engine, create_sessionmaker
from models.settings import Settings
from models.site import ProbeMode, Site, SiteLevel, SiteStatus
from models.topology.builtin import seed_if_empty
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.probe.credentials import issue_agent_secret
from monitor.probe.engine import ProbeEngine
from monitor.probe.events import EventBus, Resync, SampleTaken, StatusChanged
from monitor.probe.gc_freeze import keep_frozen
from monitor.probe.metrics import ProbeMetrics
from monitor.simulation.link import BLACKHOLE, ImpairedPath, Impairment
from monitor.wire.ice import restrict_host_addresses, rtc_configuration
from tests.service import free_port

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
TOPOLOGY = "vietnam-2025"
HEALTHY_PROCESSES = 4
LAG_PERIOD_SECONDS = 0.05
AGENT_STALL_SECONDS = 0.1  # an agent process's stall worth listing beside a false down
STALL_MARK = "AGENT-STALL"
AGENT_REFREEZE_SECONDS = 86_400.0  # longer than any run
SETTLE_SECONDS = 5.0  # after all-up, before the steady window opens
DETECT_WAIT_SECONDS = 30.0
RECOVERY_WAIT_SECONDS = 120.0  # after a cut link is restored, for every site to answer again
STOP_BUDGET_SECONDS = 120.0
AGENT_START_SECONDS = 60.0
WATCHDOG_GRACE_SECONDS = 60.0
PROGRESS_SECONDS = 10.0
ANSWERING = (SiteStatus.UP, SiteStatus.DEGRADED)
OVERLOADED = "taken before set-up ended: the figures below describe an overloaded engine"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- shared helpers -------------------------------------------------------------------------


def loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop when installed (the service runs under it via uvicorn), else asyncio's loop."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None, "asyncio"
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory, f"uvloop {uvloop.__version__}"


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    factory, _ = loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def spread(items: list[T], count: int) -> list[T]:
    """`count` items picked evenly across `items`."""
    return [items[i * len(items) // count] for i in range(count)]


# -- the agent processes (sub-mode) ---------------------------------------------------------


class Outage:
    """Every site's link in this process, cut on SIGUSR1 and restored on SIGUSR2: while cut,
    every datagram is dropped and HTTP requests wait, as TCP would retransmit them until the
    link is back (a request whose client gave up meanwhile is answered to nobody)."""

    def __init__(self, paths: list[ImpairedPath], link: Impairment) -> None:
        self._paths = paths
        self._link = link
        self._restored = asyncio.Event()
        self._restored.set()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.cut)
        loop.add_signal_handler(signal.SIGUSR2, self.restore)

    def cut(self) -> None:
        self._restored.clear()
        for path in self._paths:
            path.impairment = BLACKHOLE

    def restore(self) -> None:
        for path in self._paths:
            path.impairment = self._link
        self._restored.set()

    def hold(self, app: ASGIApp) -> ASGIApp:
        async def held(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await self._restored.wait()
            await app(scope, receive, send)

        return held


async def serve_agents(
    secrets: dict[str, str], port: int, link: Impairment, cuttable: bool
) -> None:
    """One SiteAgent per site behind one loopback HTTP server, until the process ends; each
    site's sessions through UDP relays with `link`'s loss and delay, if any, or if `cuttable`
    (then SIGUSR1 cuts every link and SIGUSR2 restores it)."""
    restrict_host_addresses([LOOPBACK])
    rtc = rtc_configuration([])
    relayed = cuttable or bool(link.loss or link.delay_seconds)
    paths = {code: ImpairedPath(link) for code in secrets} if relayed else {}
    agents = {
        code: SiteAgent(code, secret, rtc, detour=paths.get(code))
        for code, secret in secrets.items()
    }
    app: ASGIApp = agent_app(agents)
    if cuttable:
        app = Outage(list(paths.values()), link).hold(app)
    config = uvicorn.Config(app, host=LOOPBACK, port=port, log_config=None, access_log=False)
    lag = asyncio.create_task(report_agent_lag())
    # These processes stand for hundreds of machines with one agent each, whose collections
    # walk a few thousand objects. Here one heap holds them all, and its full collections
    # stopped a process for 200-400 ms, silencing all of its sites at once: the false downs
    # of a lossy run were those. What survives a collection is frozen, as in the engine, but
    # with no turn: all processes took theirs in the same second, 10 minutes in, and their
    # 200-470 ms collections were 6 false downs of a 20-minute run.
    frozen = asyncio.create_task(keep_frozen(every=AGENT_REFREEZE_SECONDS))
    try:
        await uvicorn.Server(config).serve()
    finally:
        lag.cancel()
        frozen.cancel()
        await asyncio.gather(*(agent.close() for agent in agents.values()))


def report_agent_stall(kind: str, at: float, seconds: float) -> None:
    """A line in the agent process's log: the benchmark lists it beside a false down near it."""
    print(f"{STALL_MARK} {json.dumps({'kind': kind, 'at': at, 'seconds': seconds})}", flush=True)


async def report_agent_lag() -> None:
    while True:
        before = time.monotonic()
        await asyncio.sleep(LAG_PERIOD_SECONDS)
        late = time.monotonic() - before - LAG_PERIOD_SECONDS
        if late >= AGENT_STALL_SECONDS:
            report_agent_stall("loop", before, late)


class AgentGcReport:
    """Every full collection of an agent process that stops it for a while, reported."""

    def __init__(self) -> None:
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.monotonic()
        elif (took := time.monotonic() - self._started) >= AGENT_STALL_SECONDS:
            report_agent_stall(f"gc{info['generation']}", self._started, took)


def _exit_when_stdin_closes() -> None:
    sys.stdin.buffer.read()  # EOF: the benchmark is gone (or done with us)
    os._exit(0)


def agents_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine agents")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lifetime", type=float, required=True, help="exit after this long")
    parser.add_argument("--cuttable", action="store_true", help="SIGUSR1 cuts, SIGUSR2 restores")
    add_link_options(parser)
    args = parser.parse_args(argv)
    secrets = json.loads(sys.stdin.buffer.readline())
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    lifetime = threading.Timer(args.lifetime, os._exit, args=(3,))
    lifetime.daemon = True
    lifetime.start()
    logging.basicConfig(level=logging.WARNING)
    gc.callbacks.append(AgentGcReport())
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve_agents(secrets, args.port, Impairment(args.loss, args.delay), args.cuttable))


def impaired(args: argparse.Namespace) -> bool:
    """Every path goes through a lossy or slow relay (`--loss`, `--delay`)."""
    return bool(args.loss or args.delay)


def add_link_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loss", type=float, default=0.0, help="datagrams lost, each way (0-1)")
    parser.add_argument("--delay", type=float, default=0.0, help="one-way delay, seconds")


# -- set-up: database and agent processes ---------------------------------------------------


@dataclass
class Plan:
    url: str
    codes: list[str]
    victims: set[str]
    ports: list[int]  # one per agent process; the last one holds the victims
    shares: list[dict[str, str]] = field(default_factory=list)  # {code: secret} per process


def make_plan(url: str, codes: list[str], kill: int) -> Plan:
    victims = set(spread(codes, kill)) if kill else set()
    ports = [free_port() for _ in range(HEALTHY_PROCESSES + 1)]
    return Plan(url, codes, victims, ports)


def port_of(plan: Plan) -> dict[str, int]:
    """Victims go to the last process; the others round-robin over the healthy ones."""
    healthy = [code for code in plan.codes if code not in plan.victims]
    ports = {code: plan.ports[i % HEALTHY_PROCESSES] for i, code in enumerate(healthy)}
    return ports | {code: plan.ports[-1] for code in plan.victims}


async def prepare(url: str, sites: int, kill: int) -> Plan:
    """Migrate, load the topology, point N communes at their agents and issue their secrets."""
    engine = create_engine(url)
    try:
        await migrations.upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        await seed_if_empty(sessionmaker, TOPOLOGY)
        return await _assign(sessionmaker, url, sites, kill)
    finally:
        await engine.dispose()


async def _assign(sessionmaker: SessionMaker, url: str, sites: int, kill: int) -> Plan:
    async with sessionmaker() as session:
        query = select(Site).where(Site.level == SiteLevel.COMMUNE).order_by(Site.code)
        communes = list(await session.scalars(query))
        if not 0 <= kill < sites <= len(communes):
            raise SystemExit(f"need 0 <= --kill < --sites <= {len(communes)}")
        chosen = spread(communes, sites)
        plan = make_plan(url, [site.code for site in chosen], kill)
        ports = port_of(plan)
        plan.shares = [{} for _ in plan.ports]
        for site in chosen:  # the others keep no probe_target: the engine ignores them
            site.probe_mode = ProbeMode.PULL
            site.probe_target = f"http://{LOOPBACK}:{ports[site.code]}/{site.code}"
            secret = await issue_agent_secret(session, site)
            plan.shares[plan.ports.index(ports[site.code])][site.code] = secret
        await session.commit()
    return plan


def spawn_agents(
    port: int, lifetime: float, log: Path, link: Impairment, cuttable: bool
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.engine", "agents", "--port", str(port)]
    command += ["--lifetime", f"{lifetime:.0f}"]
    command += ["--loss", str(link.loss), "--delay", str(link.delay_seconds)]
    command += ["--cuttable"] if cuttable else []
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 (our own command)
            command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )


def send_secrets(process: subprocess.Popen[bytes], share: dict[str, str]) -> None:
    """The secrets as one JSON line; stdin stays open: its EOF tells the agents to exit."""
    assert process.stdin is not None
    process.stdin.write(json.dumps(share).encode() + b"\n")
    process.stdin.flush()


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + AGENT_START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"http://{LOOPBACK}:{port}/healthz", timeout=1).raise_for_status()
            return
        time.sleep(0.2)
    raise RuntimeError(f"agents on port {port} did not start: {log.read_text()[-2000:]}")


def end_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()


@contextlib.contextmanager
def agent_processes(
    plan: Plan,
    folder: Path,
    lifetime: float,
    link: Impairment = Impairment.NONE,
    cuttable: bool = False,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start every agent process, hand each its secrets, wait until all answer; kill at exit.
    With `link`, every site's path crosses a relay that loses and delays datagrams; with
    `cuttable`, a relay that SIGUSR1 and SIGUSR2 cut and restore."""
    processes: list[subprocess.Popen[bytes]] = []
    logs = [folder / f"agents-{port}.log" for port in plan.ports]
    try:
        for port, log in zip(plan.ports, logs, strict=True):
            processes.append(spawn_agents(port, lifetime, log, link, cuttable))
        for process, share in zip(processes, plan.shares, strict=True):
            send_secrets(process, share)
        for process, port, log in zip(processes, plan.ports, logs, strict=True):
            wait_ready(process, port, log)
        yield processes
    finally:
        for process, log in zip(processes[:HEALTHY_PROCESSES], logs, strict=False):
            tell_if_died(process, log)  # the victims' process is killed on purpose
        for process in processes:
            end_process(process)


def tell_if_died(process: subprocess.Popen[bytes], log: Path) -> None:
    """A healthy agent process that ended before we ended it is news."""
    if process.returncode is None and process.poll() is not None:
        tail = log.read_text(errors="replace")[-3000:]
        print(
            f"agent process {process.pid} exited early ({process.returncode}):\n{tail}",
            file=sys.stderr,
        )


# -- probes in the monitor process ----------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def process_cpu_seconds(pid: int) -> float:
    """user+sys CPU of another process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Usage:
    """CPU counters at one instant: this process, the agent processes, the machine."""

    at: float
    monitor: float
    agents: float
    machine: tuple[int, int]

    @classmethod
    def now(cls, pids: list[int]) -> "Usage":
        agents = sum(process_cpu_seconds(pid) for pid in pids)
        return cls(time.monotonic(), cpu_seconds(), agents, machine_ticks())

    def since(self, start: "Usage") -> tuple[float, float, float]:
        """(monitor, agents) in cores used, and the machine's busy share, over the interval."""
        wall = max(1e-9, self.at - start.at)
        busy = self.machine[0] - start.machine[0]
        total = max(1, self.machine[1] - start.machine[1])
        return (
            (self.monitor - start.monitor) / wall,
            (self.agents - start.agents) / wall,
            busy / total,
        )


class LagProbe:
    """Sleeps 50 ms again and again and records how late it woke up."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_PERIOD_SECONDS)
            after = time.monotonic()
            self.samples.append((after, after - before - LAG_PERIOD_SECONDS))

    def between(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.samples if start <= at <= end]


class GcProbe:
    """Times every garbage collection through `gc.callbacks`."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []  # (started, generation, seconds)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.monotonic()
        else:
            took = time.monotonic() - self._started
            self.pauses.append((self._started, info["generation"], took))

    def between(self, start: float, end: float, generation: int) -> list[float]:
        return [s for at, g, s in self.pauses if start <= at <= end and g == generation]


class Watcher:
    """Follows the event bus: each site's status, and when it first came up or went down."""

    def __init__(self, bus: EventBus, plan: Plan, started: float) -> None:
        self._subscription = bus.subscribe("bench", maxsize=1_000_000)
        self.started = started
        self.status = dict.fromkeys(plan.codes, SiteStatus.UNKNOWN)
        self.up_at: dict[str, float] = {}
        self.connected_at: dict[str, float] = {}
        self.downs: list[tuple[str, float, str]] = []  # (code, when, reason)
        self.changed_at: dict[str, float] = {}  # each site's latest status change
        self.dial_seconds: list[float] = []
        self.lost_events = 0
        self.silent_windows: Counter[str] = Counter()  # windows without a pong, by error class
        self._changed = asyncio.Event()

    async def wait_until(self, done: Callable[[], bool], until: float) -> None:
        """Return once `done()` holds (checked at each status change) or at `until`."""
        while not done() and (left := until - time.monotonic()) > 0:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def run(self) -> None:
        while True:
            event = await self._subscription.get()
            now = time.monotonic()
            if isinstance(event, StatusChanged):
                self._on_change(event, now)
            elif isinstance(event, SampleTaken):
                self._sampled(event)
            elif isinstance(event, Resync):
                self.lost_events += event.dropped

    def _sampled(self, event: SampleTaken) -> None:
        if event.setup_seconds is not None:
            self.dial_seconds.append(event.setup_seconds)
        if not event.reachable:
            self.silent_windows[event.error_class or "no answer"] += 1

    def _on_change(self, event: StatusChanged, now: float) -> None:
        self._changed.set()
        self.status[event.site_code] = event.new
        self.changed_at[event.site_code] = now
        if event.new is SiteStatus.UP:
            self.up_at.setdefault(event.site_code, now - self.started)
        elif event.new is SiteStatus.DOWN:
            self.downs.append((event.site_code, now, event.reason))

    def note_connected(self, engine: ProbeEngine) -> None:
        """First answered heartbeat per site (polled: `last_seen_at` is set on every pong)."""
        now = time.monotonic() - self.started
        for code, monitor in engine.monitors.items():
            if monitor.probe.last_seen_at is not None:
                self.connected_at.setdefault(code, now)

    def count(self, status: SiteStatus) -> int:
        return sum(s is status for s in self.status.values())

    def all_answering(self) -> bool:
        return all(s in ANSWERING for s in self.status.values())

    def all_up(self) -> bool:
        return all(s is SiteStatus.UP for s in self.status.values())


# -- the measurement ------------------------------------------------------------------------


@dataclass
class Results:
    sites: int
    loop: str
    rss_before_kb: int = 0
    all_up_seconds: float | None = None
    all_answering_seconds: float | None = None  # every site up or degraded
    up_at_setup_end: int = 0
    statuses_at_setup_end: str = ""
    setup_cores: tuple[float, float, float] | None = None
    steady: tuple[float, float, float] | None = None  # cores: monitor, agents; machine share
    steady_seconds: float = 0.0
    steady_cpu_seconds: float = 0.0
    rss_steady_kb: int = 0
    rss_peak_kb: int = 0
    lag: list[float] = field(default_factory=list)
    lag_setup_max: float | None = None
    gc2: list[float] = field(default_factory=list)
    gc_any_max: float | None = None
    heartbeats: dict[str, float] = field(default_factory=dict)  # in the steady window, by result
    cut_downs: int = 0  # sites down when the cut link was restored
    cut_cores: tuple[float, float, float] | None = None
    recovery: list[float] = field(default_factory=list)  # per site: restored -> answering
    recovery_all_seconds: float | None = None
    recovery_up_seconds: float | None = None  # every site `up` again, from the restore
    recovery_dials: list[float] = field(default_factory=list)
    recovery_lag: list[float] = field(default_factory=list)
    recovery_cores: tuple[float, float, float] | None = None
    victims_answering: int = 0
    detection: list[float] = field(default_factory=list)
    false_downs: list[tuple[str, float, str]] = field(default_factory=list)
    stop_seconds: float | None = None
    timed_out: str | None = None
    up: list[float] = field(default_factory=list)  # per-site seconds from engine start
    connected: list[float] = field(default_factory=list)
    dial: list[float] = field(default_factory=list)
    lost_events: int = 0
    silent_windows: str = ""
    watch_started: float = 0.0  # time.monotonic() the watcher's times count from
    lag_samples: list[tuple[float, float]] = field(default_factory=list)  # (woke, late)
    agent_stalls: list[tuple[float, float, str]] = field(default_factory=list)
    lost_evidence: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


@dataclass
class Run:
    """Everything one measurement holds on to."""

    plan: Plan
    args: argparse.Namespace
    deadline: float
    processes: list[subprocess.Popen[bytes]]
    engine: ProbeEngine
    watcher: Watcher
    lag: LagProbe
    gc: GcProbe
    results: Results
    killed_at: float | None = None
    outage: tuple[float, float] | None = None  # from the cut until every site answered again

    @property
    def agent_pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]


def settings_for(url: str, liveness: str | None) -> Settings:
    """The service's defaults at a 1 s heartbeat; `liveness` None: as BRIDGEWATCH_LIVENESS says."""
    chosen = {} if liveness is None else {"liveness": liveness}
    return Settings(
        **chosen,
        database_url=url,
        engine=True,
        ice_host_addresses=[LOOPBACK],
        heartbeat_interval_seconds=1.0,
        heartbeat_timeout_seconds=1.0,
        window_seconds=10.0,
        setup_timeout_seconds=15.0,
        seed_topology="",
    )


class Progress:
    """A line on stderr every 10 s while sites come up: long runs show where they stand."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._last = Usage.now(run.agent_pids)

    def maybe_print(self) -> None:
        now = Usage.now(self._run.agent_pids)
        if now.at - self._last.at < PROGRESS_SECONDS:
            return
        monitor, agents, machine = now.since(self._last)
        watcher = self._run.watcher
        lag = max(self._run.lag.between(self._last.at, now.at), default=0.0)
        statuses = Counter(s.value for s in watcher.status.values())
        print(
            f"[{now.at - watcher.started:5.0f} s] answered once {len(watcher.connected_at)}, "
            + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
            + f"; downs so far {len(watcher.downs)}; agent processes alive "
            f"{len(self._run.agent_pids)}/{len(self._run.processes)}; "
            f"cores: monitor {monitor:.2f}, "
            f"agents {agents:.2f}, machine {machine:.0%} busy; lag max {lag * 1000:.0f} ms",
            file=sys.stderr,
            flush=True,
        )
        self._last = now


def setup_budget_end(run: Run) -> float:
    """Set-up must leave time for the steady window, the kill and a bounded stop."""
    after = (
        SETTLE_SECONDS + float(run.args.seconds) + DETECT_WAIT_SECONDS + 10 + STOP_BUDGET_SECONDS
    )
    if run.args.cut:
        after += run.args.cut + RECOVERY_WAIT_SECONDS
    return run.deadline - after


async def setup_phase(run: Run) -> None:
    """From engine start until every site is up (on an impaired link: up or degraded, as its
    loss is over the limit), or until the set-up budget is spent."""
    budget_end = setup_budget_end(run)
    start = Usage.now(run.agent_pids)
    watcher, progress = run.watcher, Progress(run)
    settled = ANSWERING if impaired(run.args) else (SiteStatus.UP,)
    try:
        while (
            sum(watcher.count(status) for status in settled) < len(run.plan.codes)
            and time.monotonic() < budget_end
        ):
            watcher.note_connected(run.engine)
            note_answering(run)
            progress.maybe_print()
            await asyncio.sleep(0.1)
    finally:
        record_setup(run, start)


def note_answering(run: Run) -> None:
    if run.results.all_answering_seconds is None and run.watcher.all_answering():
        run.results.all_answering_seconds = time.monotonic() - run.watcher.started


def record_setup(run: Run, start: Usage) -> None:
    watcher, results = run.watcher, run.results
    watcher.note_connected(run.engine)
    note_answering(run)
    results.setup_cores = Usage.now(run.agent_pids).since(start)
    results.up_at_setup_end = watcher.count(SiteStatus.UP)
    counts = Counter(s.value for s in watcher.status.values())
    results.statuses_at_setup_end = ", ".join(f"{k} {v}" for k, v in counts.most_common())
    if results.up_at_setup_end == len(run.plan.codes):
        results.all_up_seconds = time.monotonic() - watcher.started
    results.lag_setup_max = max(run.lag.between(watcher.started, time.monotonic()), default=None)


def heartbeat_counts(metrics: ProbeMetrics) -> dict[str, float]:
    """The engine's heartbeats so far, by result (answered, missed, late)."""
    return {
        sample.labels["result"]: sample.value
        for sample in next(iter(metrics.heartbeats.collect())).samples
        if sample.name.endswith("_total")
    }


async def steady_phase(run: Run) -> None:
    await asyncio.sleep(SETTLE_SECONDS)
    results = run.results
    start = Usage.now(run.agent_pids)
    beats_before = heartbeat_counts(run.engine.metrics)
    rss = []
    for _ in range(int(run.args.seconds)):
        await asyncio.sleep(1.0)
        rss.append(rss_kb())
    end = Usage.now(run.agent_pids)
    beats = heartbeat_counts(run.engine.metrics)
    results.heartbeats = {k: v - beats_before.get(k, 0.0) for k, v in beats.items()}
    results.steady = end.since(start)
    results.steady_seconds = end.at - start.at
    results.steady_cpu_seconds = end.monitor - start.monitor
    results.rss_steady_kb, results.rss_peak_kb = rss[-1], max(rss)
    results.lag = run.lag.between(start.at, end.at)
    results.gc2 = run.gc.between(start.at, end.at, 2)
    steady_gcs = [s for at, _, s in run.gc.pauses if start.at <= at <= end.at]
    results.gc_any_max = max(steady_gcs, default=None)


async def cut_phase(run: Run) -> None:
    """Cut every agent's link for `--cut` seconds, restore it, and wait until every site
    answers again: how long each took, and what the re-dialling cost."""
    if not run.args.cut:
        return
    watcher, results = run.watcher, run.results
    pids, start = run.agent_pids, Usage.now(run.agent_pids)
    for pid in pids:
        os.kill(pid, signal.SIGUSR1)
    await asyncio.sleep(run.args.cut)
    restored = Usage.now(run.agent_pids)
    for pid in pids:
        os.kill(pid, signal.SIGUSR2)
    results.cut_cores = restored.since(start)
    results.cut_downs = watcher.count(SiteStatus.DOWN)
    dials_before = len(watcher.dial_seconds)
    await watcher.wait_until(watcher.all_answering, restored.at + RECOVERY_WAIT_SECONDS)
    end = Usage.now(run.agent_pids)
    run.outage = (start.at, end.at)
    results.recovery_cores = end.since(restored)
    results.recovery_lag = run.lag.between(restored.at, end.at)
    results.recovery_dials = watcher.dial_seconds[dials_before:]
    if watcher.all_answering():
        results.recovery_all_seconds = end.at - restored.at
    if not impaired(run.args):  # on a lossy link a site that answers may stay degraded
        await watcher.wait_until(watcher.all_up, restored.at + RECOVERY_WAIT_SECONDS)
        if watcher.all_up():
            results.recovery_up_seconds = time.monotonic() - restored.at
    results.recovery = [
        max(0.0, watcher.changed_at.get(code, 0.0) - restored.at)
        for code, status in watcher.status.items()
        if status in ANSWERING
    ]
    await asyncio.sleep(SETTLE_SECONDS)


async def kill_phase(run: Run) -> None:
    """SIGKILL the victims' process; wait until each answering victim is flagged down."""
    victims = {c for c in run.plan.victims if run.watcher.status[c] in ANSWERING}
    run.results.victims_answering = len(victims)
    if not run.plan.victims:
        return
    run.killed_at = killed = time.monotonic()
    os.kill(run.processes[-1].pid, signal.SIGKILL)
    await run.watcher.wait_until(
        lambda: all(run.watcher.status[c] is SiteStatus.DOWN for c in victims),
        killed + DETECT_WAIT_SECONDS,
    )
    first: dict[str, float] = {}
    for code, at, _ in run.watcher.downs:
        if code in victims and at >= killed:
            first.setdefault(code, at - killed)
    run.results.detection = sorted(first.values())


def false_downs(run: Run, until: float) -> list[tuple[str, float, str]]:
    """`down` for a site whose agent was alive and its link up: any non-victim, or a victim
    before the kill; not while the link was cut, or until every site answered again."""
    killed = run.killed_at if run.killed_at is not None else until
    cut, mended = run.outage or (until, until)
    return [
        (code, at - run.watcher.started, reason)
        for code, at, reason in run.watcher.downs
        if at < until and not cut <= at <= mended and (code not in run.plan.victims or at < killed)
    ]


async def phases(run: Run) -> None:
    budget = run.deadline - STOP_BUDGET_SECONDS - time.monotonic()
    try:
        async with asyncio.timeout(budget):
            await setup_phase(run)
            await steady_phase(run)
            await cut_phase(run)
            await kill_phase(run)
    except TimeoutError:
        run.results.timed_out = "the deadline passed before the run was complete"


async def interruptible_phases(run: Run) -> None:
    """The phases, which SIGTERM or SIGINT cut short: the engine still stops and we report."""
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(phases(run))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are cancelled ourselves, not interrupted
        run.results.timed_out = "interrupted by a signal"
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def stop_engine(run: Run) -> None:
    started = time.monotonic()
    run.results.false_downs = false_downs(run, started)
    try:
        await asyncio.wait_for(run.engine.stop(), STOP_BUDGET_SECONDS)
        run.results.stop_seconds = time.monotonic() - started
    except TimeoutError:
        run.results.timed_out = f"engine.stop() took over {STOP_BUDGET_SECONDS:.0f} s"


async def measure(
    plan: Plan, processes: list[subprocess.Popen[bytes]], args: argparse.Namespace, deadline: float
) -> Results:
    """Run the engine in this process against the agents; every phase bounded by `deadline`."""
    loop = asyncio.get_running_loop()
    results = Results(len(plan.codes), f"{type(loop).__module__}.{type(loop).__name__}")
    database = create_engine(plan.url)
    bus = EventBus()
    gc_probe, lag = GcProbe(), LagProbe()
    results.rss_before_kb = rss_kb()
    metrics = ProbeMetrics(CollectorRegistry())
    engine = ProbeEngine(
        settings_for(plan.url, args.liveness), create_sessionmaker(database), bus, metrics
    )
    watcher = Watcher(bus, plan, time.monotonic())
    run = Run(plan, args, deadline, processes, engine, watcher, lag, gc_probe, results)
    helpers = [asyncio.create_task(watcher.run()), asyncio.create_task(lag.run())]
    gc.callbacks.append(gc_probe)
    try:
        await engine.start()
        await interruptible_phases(run)
    finally:
        await stop_engine(run)
        gc.callbacks.remove(gc_probe)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await database.dispose()
    results.up, results.connected = (
        list(watcher.up_at.values()),
        list(watcher.connected_at.values()),
    )
    results.dial, results.lost_events = watcher.dial_seconds, watcher.lost_events
    results.silent_windows = ", ".join(f"{k} {v}" for k, v in watcher.silent_windows.most_common())
    results.watch_started, results.lag_samples = watcher.started, lag.samples
    return results


# -- the report -----------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def _dist(values: list[float], unit: str = "s") -> str:
    if not values:
        return "n/a"
    scale = 1000.0 if unit == "ms" else 1.0
    median, p95 = percentile(values, 50) * scale, percentile(values, 95) * scale
    return f"median {median:.2f} {unit}, p95 {p95:.2f} {unit}, max {max(values) * scale:.2f} {unit}"


def _seconds(value: float | None) -> str:
    return "NOT REACHED" if value is None else f"{value:.1f} s"


def _cores(cores: tuple[float, float, float]) -> str:
    monitor, agents, machine = cores
    others = machine * (os.cpu_count() or 1) - monitor - agents
    return (
        f"monitor {monitor:.2f}, agents {agents:.2f}, other processes {max(0.0, others):.2f}; "
        f"machine {machine:.0%} busy"
    )


def setup_rows(r: Results) -> list[tuple[str, str]]:
    all_up = _seconds(r.all_up_seconds)
    return [
        ("all sites up after engine start", f"{all_up} ({r.up_at_setup_end}/{r.sites} up)"),
        ("all sites up or degraded after", _seconds(r.all_answering_seconds)),
        ("statuses when set-up ended", r.statuses_at_setup_end),
        ("per-site time to up", _dist(r.up)),
        ("per-site time to first pong", f"{_dist(r.connected)} ({len(r.connected)} sites)"),
        ("CPU during set-up (cores)", _cores(r.setup_cores or (0.0, 0.0, 0.0))),
        ("loop lag max during set-up", _ms(r.lag_setup_max)),
    ]


def steady_rows(r: Results, lossy: bool) -> list[tuple[str, str]]:
    if r.steady is None:
        return [("steady state", "not reached")]
    per_site = r.steady_cpu_seconds / (r.sites * r.steady_seconds) * 1e6
    rss_per_site = (r.rss_steady_kb - r.rss_before_kb) / r.sites
    lag = f"p99 {_ms(percentile(r.lag, 99))}, max {_ms(max(r.lag))}" if r.lag else "n/a"
    gc2 = (
        f"{len(r.gc2)} collections: {', '.join(f'{s * 1000:.0f}' for s in r.gc2)} ms"
        if r.gc2
        else "none"
    )
    settled = r.all_answering_seconds if lossy else r.all_up_seconds
    caveat = [] if settled is not None else [("steady window", OVERLOADED)]
    return [
        *caveat,
        ("monitor CPU per site-second", f"{per_site:.0f} µs (baseline ~340 µs)"),
        ("CPU in steady state (cores)", _cores(r.steady)),
        ("RSS per site", f"{rss_per_site:.0f} KB (baseline ~175 KB)"),
        (
            "RSS before / steady / peak",
            f"{r.rss_before_kb / 1024:.0f} / "
            f"{r.rss_steady_kb / 1024:.0f} / {r.rss_peak_kb / 1024:.0f} MB",
        ),
        ("loop lag (50 ms sleeper)", f"{lag} ({len(r.lag)} samples)"),
        ("gen-2 GC in steady state", gc2),
        ("longest GC of any generation", _ms(r.gc_any_max)),
        (
            "heartbeats in the steady window",
            ", ".join(f"{k} {v:.0f}" for k, v in sorted(r.heartbeats.items())) or "none",
        ),
    ]


def cut_rows(r: Results, cut: float) -> list[tuple[str, str]]:
    if not cut:
        return []
    lag = r.recovery_lag
    return [
        (f"link cut for {cut:.0f} s: sites down when restored", str(r.cut_downs)),
        ("CPU while cut (cores)", _cores(r.cut_cores or (0.0, 0.0, 0.0))),
        ("every site answering again after restore", _seconds(r.recovery_all_seconds)),
        ("every site up again after restore", _seconds(r.recovery_up_seconds)),
        ("per-site time from restore to answering", _dist(r.recovery)),
        ("set-ups after restore (dial)", f"{len(r.recovery_dials)}: {_dist(r.recovery_dials)}"),
        ("CPU after restore (cores)", _cores(r.recovery_cores or (0.0, 0.0, 0.0))),
        (
            "loop lag after restore",
            f"p99 {_ms(percentile(lag, 99))}, max {_ms(max(lag))}" if lag else "n/a",
        ),
    ]


def kill_rows(r: Results, kill: int) -> list[tuple[str, str]]:
    detected = f"{len(r.detection)}/{r.victims_answering} answering victims (of {kill}) detected"
    return [
        ("detection (SIGKILL -> down)", f"{_dist(r.detection)}; {detected}"),
        ("FALSE DOWNS", f"{len(r.false_downs)}"),
        ("engine.stop()", "n/a" if r.stop_seconds is None else f"{r.stop_seconds:.1f} s"),
    ]


def report(r: Results, run_info: dict[str, str], args: argparse.Namespace) -> None:
    rows = [*run_info.items(), *setup_rows(r), *steady_rows(r, impaired(args))]
    rows += [*cut_rows(r, args.cut), *kill_rows(r, args.kill)]
    rows.append(("connection set-up (dial)", _dist(r.dial)))
    rows.append(("windows without a pong, by cause", r.silent_windows or "none"))
    if r.lost_events:
        rows.append(("bench subscriber lost events", str(r.lost_events)))
    if r.timed_out:
        rows.append(("INCOMPLETE", r.timed_out))
    print("| measure | value |\n| --- | --- |")
    for key, value in rows:
        print(f"| {key} | {value} |")
    print(f"\n*** FALSE DOWNS: {len(r.false_downs)} ***")
    reasons = Counter(reason for _, _, reason in r.false_downs)
    for reason, count in reasons.most_common():
        print(f"    {count} x {reason}")
    for code, at, reason in r.false_downs[:20]:
        print(f"    {code} at {at:.1f} s: {reason}; before it: {stalls_before(r, at)}")
        print(f"        judged on: {evidence_at(r, code, at)}")


def agent_stalls(folder: Path, ports: list[int]) -> list[tuple[float, float, str]]:
    """(at, seconds, what) of every stall the agent processes reported."""
    stalls = []
    for index, port in enumerate(ports):
        for line in (folder / f"agents-{port}.log").read_text(errors="replace").splitlines():
            if line.startswith(STALL_MARK):
                stall = json.loads(line.removeprefix(STALL_MARK))
                stalls.append((stall["at"], stall["seconds"], f"{stall['kind']}@agents{index}"))
    return sorted(stalls)


class LostEvidence(logging.Handler):
    """Keeps what each site was judged on when the engine counted it lost (its "heartbeats
    lost" log record), to be listed beside a false down; passes the rest on as logged before."""

    FIELDS = ("rtt_ms", "timeout_ms", "newest_answered_sent_s_ago", "monitor_stalled_s_ago")

    def __init__(self) -> None:
        super().__init__()
        self.by_site: dict[str, list[tuple[float, str]]] = {}

    def handle(self, record: logging.LogRecord) -> bool:
        if record.getMessage() == "heartbeats lost":
            fields = ", ".join(f"{k} {getattr(record, k, None)}" for k in self.FIELDS)
            self.by_site.setdefault(getattr(record, "site", "?"), []).append(
                (time.monotonic(), fields)
            )
        elif record.levelno >= logging.WARNING:
            for handler in logging.getLogger().handlers:
                handler.handle(record)
        return True

    @contextlib.contextmanager
    def attached(self, logger_name: str) -> Iterator[None]:
        logger = logging.getLogger(logger_name)
        level, propagate = logger.level, logger.propagate
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(self)
        try:
            yield
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)
            logger.propagate = propagate


def evidence_at(results: Results, code: str, down_at: float) -> str:
    """What the engine judged the site on when it counted it lost, at the down."""
    at = results.watch_started + down_at
    near = [fields for when, fields in results.lost_evidence.get(code, []) if abs(when - at) < 1]
    return near[0] if near else "none logged"


def stalls_before(results: Results, down_at: float) -> str:
    """What stood still, in the agent processes and in the monitor, in the 2 s before a down:
    a silence that long on a path is what a false down needs."""
    at = results.watch_started + down_at
    near = [
        f"{what} {seconds * 1000:.0f} ms at {started - at:+.1f} s"
        for started, seconds, what in results.agent_stalls
        if at - 2.0 <= started <= at
    ]
    near += [
        f"monitor {lag * 1000:.0f} ms at {woke - at:+.1f} s"
        for woke, lag in results.lag_samples
        if at - 2.0 <= woke <= at and lag >= AGENT_STALL_SECONDS
    ]
    return "; ".join(near) or "no stall over 100 ms"


# -- main -----------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--sites", type=int, default=171, help="N persistent sites")
    parser.add_argument("--seconds", type=float, default=30.0, help="steady-state window")
    parser.add_argument("--kill", type=int, default=10, help="victim agents to SIGKILL")
    parser.add_argument("--deadline", type=float, default=900.0, help="overall limit, seconds")
    parser.add_argument(
        "--cut", type=float, default=0.0, help="after the steady window, cut every link this long"
    )
    parser.add_argument(
        "--liveness", choices=["stun", "echo"], help="what a heartbeat is (default: the setting's)"
    )
    add_link_options(parser)
    return parser.parse_args(argv)


def start_watchdog(processes: list[subprocess.Popen[bytes]], after: float) -> threading.Timer:
    """Last resort should the event loop hang: kill the agents and exit."""

    def fire() -> None:
        print("watchdog: the run outlived its deadline; killing it", file=sys.stderr)
        for process in processes:
            with contextlib.suppress(OSError):
                process.kill()
        os._exit(3)

    timer = threading.Timer(after, fire)
    timer.daemon = True
    timer.start()
    return timer


def run_info(args: argparse.Namespace, argv: list[str], loop: str) -> dict[str, str]:
    command = shlex.join([".venv/bin/python", "-m", "bench.engine", *argv])
    return {
        "command": f"`{command}`",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sites (N)": str(args.sites),
        "liveness": args.liveness or "the setting's",
        "every path": f"{args.loss:.0%} loss and {args.delay * 1000:.0f} ms delay each way",
        "event loop": loop,
        "CPUs": str(os.cpu_count()),
    }


def main(argv: list[str]) -> int:
    args = parse(argv)
    started = time.monotonic()
    deadline = started + args.deadline
    configure_logs("WARNING", as_json=True)  # the engine's warnings with their fields
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        plan = run_loop(prepare(url, args.sites, args.kill))
        lifetime = args.deadline + WATCHDOG_GRACE_SECONDS
        link = Impairment(args.loss, args.delay)
        with agent_processes(plan, Path(folder), lifetime, link, bool(args.cut)) as processes:
            watchdog = start_watchdog(
                processes, deadline - time.monotonic() + WATCHDOG_GRACE_SECONDS
            )
            evidence = LostEvidence()
            with evidence.attached("monitor.probe.site_probe"):
                results = run_loop(measure(plan, processes, args, deadline))
            results.lost_evidence = evidence.by_site
            watchdog.cancel()
        results.agent_stalls = agent_stalls(Path(folder), plan.ports)
    info = run_info(args, argv, f"{results.loop} ({loop_factory()[1]})")
    report(results, info, args)
    print(f"total run time {time.monotonic() - started:.0f} s")
    settled = results.all_answering_seconds if impaired(args) else results.all_up_seconds
    return 2 if results.timed_out or settled is None else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["agents"]:
        agents_main(sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1:]))
