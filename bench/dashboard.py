"""Benchmark: the live dashboard with the national topology (3,356 sites) in headless Chromium.

    .venv/bin/python -m bench.dashboard [--loads 3] [--seconds 20] [--page-seconds 10]

One service process (`bench.service`: `bridgewatch serve` plus the change injector, SQLite,
`vietnam-2025`, no probe engine) and Debian's Chromium with the loopback flags of
tests/browser.py, a 1920x1080 page in a fresh profile per load. For each load:

1. time to first full render: from navigation start (`performance.now()` is measured from it) to
   the frame after the one in which every tile is in the page and the total counter shows them
   all (a requestAnimationFrame check, then a timeout so the frame has been painted); with the
   page's Long Tasks until then and the renderer main thread's busy time (CDP
   `Performance.getMetrics` TaskDuration, which counts every task, long or not);
2. `--idle` seconds with nothing changing: the page's baseline cost;
3. the service publishes 100 status changes a second for `--seconds`, which reach the page
   through the real stream (coalesced into one `update` of ~50 sites every 0.5 s): main-thread
   busy time in each second (TaskDuration deltas, sampled every second), Long Tasks, gaps
   between animation frames, and whether every changed tile ends up showing the right status;
4. `--idle` seconds with nothing changing again, now that about a fifth of the sites are down
   (down tiles pulse unless `--reduced-motion`);
5. the same rate fed straight into the page's state module for `--page-seconds` (the national
   topology test's `BURST_JS`), which leaves out the network, the SSE parsing and JSON.parse.

Prints results and asserts nothing; every wait has a deadline.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import BrowserContext, CDPSession, Page, async_playwright

from bench.proc import load_average, national_service, percentile
from tests.browser import BURST_JS, HALL_TIME_ZONE, WALL, launch, tile_statuses

RENDER_TIMEOUT_SECONDS = 90.0
DRAIN_SECONDS = 1.5  # one 0.5 s coalescing period, a frame, and margin
RATE = 100.0

# Installed before any page script: records Long Tasks from the start, gaps between animation
# frames, and when the page first shows all `expected` tiles with the total counter filled.
PROBE_JS = """(expected) => {
  const bw = (window.__bw = { longTasks: [], gaps: [], seen: null, rendered: null });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) bw.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  const total = () =>
    document.querySelector('[data-counter="total"] .counter-value')?.textContent ?? '';
  let last = 0;
  function frame(now) {
    if (last) bw.gaps.push(now - last);
    last = now;
    if (bw.seen === null && Number(total().replace(/\\D/g, '')) === expected &&
        document.querySelectorAll('button.tile').length === expected) {
      bw.seen = performance.now();
      setTimeout(() => {  // runs once this frame has been painted
        bw.rendered = performance.now();
        performance.mark('bw-full-render');
      }, 0);
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
}"""

TIMING_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return { dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
           fcp: fcp ? fcp.startTime : null, seen: window.__bw.seen,
           rendered: window.__bw.rendered };
}"""


@dataclass
class Window:
    """One measured stretch of a page: per-second main-thread ms, Long Tasks, frame gaps."""

    busy_ms: list[float] = field(default_factory=list)  # TaskDuration per second
    script_ms: list[float] = field(default_factory=list)
    style_layout_ms: list[float] = field(default_factory=list)  # RecalcStyle + Layout
    long_tasks: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    wrong: int = 0
    changed: int = 0


@dataclass
class Load:
    rendered_ms: float
    seen_ms: float
    dcl_ms: float
    fcp_ms: float | None
    busy_ms: float  # renderer main thread, navigation start -> rendered
    long_tasks: list[float]
    idle: Window = field(default_factory=Window)
    stream: Window = field(default_factory=Window)
    settled: Window = field(default_factory=Window)  # no changes, ~1/5 of the sites down
    page: Window = field(default_factory=Window)


async def metrics(cdp: CDPSession) -> dict[str, float]:
    answer = await cdp.send("Performance.getMetrics")
    return {m["name"]: float(m["value"]) for m in answer["metrics"]}


async def sample(cdp: CDPSession, seconds: float, into: Window) -> None:
    """Main-thread busy and script time in each whole second, on a fixed schedule."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    before = await metrics(cdp)
    for second in range(1, int(seconds) + 1):
        await asyncio.sleep(max(0.0, start + second - loop.time()))
        now = await metrics(cdp)
        into.busy_ms.append((now["TaskDuration"] - before["TaskDuration"]) * 1000)
        into.script_ms.append((now["ScriptDuration"] - before["ScriptDuration"]) * 1000)
        style_layout = sum(now[k] - before[k] for k in ("RecalcStyleDuration", "LayoutDuration"))
        into.style_layout_ms.append(style_layout * 1000)
        before = now


async def rendered(page: Page) -> None:
    """Polls from outside: the page's CSP forbids the eval that wait_for_function needs."""
    deadline = time.monotonic() + RENDER_TIMEOUT_SECONDS
    while not await page.evaluate("() => window.__bw.rendered !== null"):
        if time.monotonic() > deadline:
            raise TimeoutError("the dashboard never showed every site")
        await asyncio.sleep(0.1)


async def open_page(
    context: BrowserContext, base: str, expected: int
) -> tuple[Page, CDPSession, Load]:
    """Loads the dashboard and times its first full render."""
    page = await context.new_page()
    await page.add_init_script(script=f"({PROBE_JS})({expected})")
    # A same-origin page first, so the CDP session belongs to the renderer that will show the
    # dashboard and TaskDuration can be read before and after the navigation.
    await page.goto(f"{base}/healthz")
    cdp = await context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    before = await metrics(cdp)
    await page.goto(base, wait_until="commit")
    await rendered(page)
    after = await metrics(cdp)
    timing: dict[str, Any] = await page.evaluate(TIMING_JS)
    entries = await page.evaluate("() => window.__bw.longTasks")
    tasks = [duration for start, duration in entries if start < timing["rendered"]]
    load = Load(
        rendered_ms=timing["rendered"],
        seen_ms=timing["seen"],
        dcl_ms=timing["dcl"],
        fcp_ms=timing["fcp"],
        busy_ms=(after["TaskDuration"] - before["TaskDuration"]) * 1000,
        long_tasks=tasks,
    )
    return page, cdp, load


async def watched(page: Page, cdp: CDPSession, seconds: float, work: Any = None) -> Window:
    """Samples the main thread for `seconds` while `work` (a coroutine, if any) runs; then
    collects the Long Tasks and frame gaps seen meanwhile."""
    seen = await page.evaluate(
        "() => { window.__bw.gaps = []; return window.__bw.longTasks.length; }"
    )
    window = Window()
    jobs = [sample(cdp, seconds, window)] + ([work] if work is not None else [])
    results = await asyncio.gather(*jobs)
    window.gaps = await page.evaluate("() => window.__bw.gaps")
    entries = await page.evaluate("() => window.__bw.longTasks")
    window.long_tasks = [duration for _, duration in entries[seen:]]
    if work is not None and isinstance(results[1], dict):  # BURST_JS's own check
        window.wrong, window.changed = len(results[1]["wrong"]), results[1]["changed"]
    return window


async def through_the_stream(
    page: Page, cdp: CDPSession, api: httpx.AsyncClient, seconds: float
) -> Window:
    """RATE changes a second published by the service, then: does every tile show the last?"""
    started = await api.post("/bench/changes", params={"rate": RATE, "seconds": seconds})
    started.raise_for_status()
    window = await watched(page, cdp, seconds)
    await asyncio.sleep(DRAIN_SECONDS)
    wanted: dict[str, str] = (await api.get("/bench/changes")).json()["statuses"]
    shown = await tile_statuses(page)
    window.changed = len(wanted)
    window.wrong = sum(1 for code, status in wanted.items() if shown.get(code) != status)
    return window


async def one_load(
    context: BrowserContext, api: httpx.AsyncClient, expected: int, args: argparse.Namespace
) -> Load:
    page, cdp, load = await open_page(context, str(api.base_url).rstrip("/"), expected)
    load.idle = await watched(page, cdp, args.idle)
    load.stream = await through_the_stream(page, cdp, api, args.seconds)
    load.settled = await watched(page, cdp, args.idle)
    burst = page.evaluate(BURST_JS, {"seconds": args.page_seconds})
    load.page = await watched(page, cdp, args.page_seconds, burst)
    await page.close()
    return load


async def run(args: argparse.Namespace, base: str) -> list[Load]:
    loads = []
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as api,
        async_playwright() as playwright,
    ):
        expected = (await api.get("/api/v1/sites", params={"limit": 1})).json()["total"]
        browser = await launch(playwright)
        try:
            for number in range(args.loads):
                context = await browser.new_context(
                    viewport=WALL,
                    timezone_id=HALL_TIME_ZONE,
                    reduced_motion="reduce" if args.reduced_motion else "no-preference",
                )
                loads.append(await one_load(context, api, expected, args))
                await context.close()
                print(f"load {number + 1}: {loads[-1].rendered_ms:.0f} ms", file=sys.stderr)
        finally:
            await browser.close()
    return loads


# -- report ---------------------------------------------------------------------------------


def ms(values: list[float]) -> str:
    """median / p95 / max of a list of milliseconds."""
    if not values:
        return "none"
    med, p95 = statistics.median(values), percentile(values, 95)
    return f"{med:.0f} / {p95:.0f} / {max(values):.0f} ms"


def report_render(loads: list[Load]) -> None:
    print("first full render (navigation start -> every tile and the counters shown), per load:")
    for i, load in enumerate(loads, 1):
        fcp = f"{load.fcp_ms:.0f}" if load.fcp_ms is not None else "-"
        print(
            f"  {i}: {load.rendered_ms:.0f} ms (all in the DOM at {load.seen_ms:.0f}, "
            f"DOMContentLoaded {load.dcl_ms:.0f}, first contentful paint {fcp}); main thread "
            f"busy {load.busy_ms:.0f} ms; {len(load.long_tasks)} long tasks, "
            f"{sum(load.long_tasks):.0f} ms in all, longest {max(load.long_tasks, default=0):.0f}"
        )
    print(f"  median {statistics.median(load.rendered_ms for load in loads):.0f} ms")


def report_window(name: str, windows: list[Window]) -> None:
    busy = [v for w in windows for v in w.busy_ms]
    script = [v for w in windows for v in w.script_ms]
    style = [v for w in windows for v in w.style_layout_ms]
    tasks = [v for w in windows for v in w.long_tasks]
    gaps = [v for w in windows for v in w.gaps]
    seconds = len(busy)
    print(f"{name} ({seconds} one-second samples over {len(windows)} loads):")
    print(f"  main thread busy per second, median / p95 / max: {ms(busy)}")
    print(f"    of which script {ms(script)}; style + layout {ms(style)}")
    print(
        f"  long tasks: {len(tasks)} ({len(tasks) / max(seconds, 1):.2f}/s), "
        f"median / p95 / max {ms(tasks)}"
    )
    late = sum(1 for gap in gaps if gap > 50)
    print(f"  frame gaps, median / p95 / max: {ms(gaps)}; {late} of {len(gaps)} over 50 ms")
    if any(w.changed for w in windows):
        wrong = sum(w.wrong for w in windows)
        print(f"  tiles wrong at the end: {wrong} of {sum(w.changed for w in windows)} changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--page-seconds", type=float, default=10.0)
    parser.add_argument(
        "--reduced-motion",
        action="store_true",
        help="emulate prefers-reduced-motion: reduce (no pulsing of down tiles)",
    )
    args = parser.parse_args()
    motion = "reduce" if args.reduced_motion else "no-preference"
    print(f"load average before: {load_average()}; prefers-reduced-motion: {motion}")
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, national_service(Path(folder)) as (base, _):
        loads = asyncio.run(run(args, base))
    report_render(loads)
    report_window("idle", [load.idle for load in loads])
    report_window(f"{RATE:g} changes/s through the stream", [load.stream for load in loads])
    report_window("settled: no changes, after them", [load.settled for load in loads])
    report_window(f"{RATE:g} changes/s fed into the page (BURST_JS)", [load.page for load in loads])
    print(f"took {time.monotonic() - start:.0f} s; load average after: {load_average()}")


if __name__ == "__main__":
    main()
