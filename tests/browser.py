"""Helpers for tests that drive the dashboard in Debian's Chromium with Playwright.

Chromium stays on loopback (see /work/shared/CHROMIUM.md): host lookups fail except 127.0.0.1,
no background networking, no mDNS for WebRTC. Playwright's own `--disable-features` list comes
first on the command line and Chromium keeps only the last one, so ours is merged with it.
"""

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, Playwright, ViewportSize
from starlette.types import ASGIApp

from tests.probing import DEADLINE_SECONDS
from tests.service import free_port

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
# Tests write only to temporary places. Screenshots are kept in the folder this variable names,
# if set; the README's pictures are refreshed only on request, into the folder (relative to the
# checkout) the other one names: BRIDGEWATCH_PUBLISH_SCREENSHOTS=docs.
KEEP_ARTIFACTS = "BRIDGEWATCH_TEST_ARTIFACTS"
PUBLISH_SCREENSHOTS = "BRIDGEWATCH_PUBLISH_SCREENSHOTS"
LOOPBACK_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--allow-loopback-in-peer-connection",
]
OUR_DISABLED_FEATURES = ["WebRtcHideLocalIpsWithMdns"]
WALL = ViewportSize(width=1920, height=1080)
PHONE = ViewportSize(width=390, height=844)
HALL_TIME_ZONE = "Asia/Ho_Chi_Minh"

# 100 status changes a second as the stream delivers them (one update every 0.5 s, 50 sites
# each), fed straight into the page's state module; long tasks are timed while it runs.
# Shared by the national-topology test and bench/dashboard.py.
BURST_JS = """async ({ seconds }) => {
  const { applyUpdate, state } = await import('/static/js/state.js');
  // A site nobody probes (the hub) shows "not monitored" whatever status it is sent: skip it.
  const codes = [...state.sites.values()].filter((s) => s.probe_mode !== 'none').map((s) => s.code);
  const cycle = ['down', 'degraded', 'up', 'paused', 'unknown'];
  const tileOf = (code) => document.querySelector(`button.tile[data-site="${code}"]`);
  const before = new Map([...state.sites.keys()].map((code) => [code, tileOf(code)]));
  const longTasks = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  });
  observer.observe({ entryTypes: ['longtask'] });
  const wanted = {};
  for (let round = 0; round < seconds * 2; round += 1) {
    const sites = [];
    for (let i = 0; i < 50; i += 1) {
      const code = codes[(round * 50 + i) * 7 % codes.length];
      wanted[code] = cycle[(round + i) % cycle.length];
      sites.push({ code, status: wanted[code], status_since: new Date().toISOString() });
    }
    applyUpdate({ at: new Date().toISOString(), sites });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50)));
  observer.disconnect();
  const shown = (code) => tileOf(code).dataset.status;
  const wrong = Object.entries(wanted).filter(([code, status]) => shown(code) !== status);
  // A tile that is another element now was built again: the page re-rendered, not repainted.
  const rebuilt = [...before].filter(([code, tile]) => tileOf(code) !== tile).length;
  const longest = Math.max(0, ...longTasks);
  return { longest, changed: Object.keys(wanted).length, wrong, rebuilt };
}"""


async def launch(playwright: Playwright, extra_args: Sequence[str] = ()) -> Browser:
    """Chromium, headless, with Playwright's disabled features and ours in one flag (and
    `extra_args`, e.g. fake capture devices, which are set per browser, not per page)."""
    features = [*await _playwright_disabled_features(playwright), *OUR_DISABLED_FEATURES]
    return await playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*LOOPBACK_ARGS, f"--disable-features={','.join(features)}", *extra_args],
    )


def kill_processes_with(marker: str) -> int:
    """SIGKILL every process whose command line holds `marker` (a browser launched with it among
    its arguments), and their descendants: a PC switched off, no goodbye on any connection.
    How many processes were killed."""
    marked: set[int] = set()
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            if marker.encode() in (entry / "cmdline").read_bytes():
                marked.add(int(entry.name))
            # "pid (comm) state ppid ...": the command's name may hold spaces and parentheses.
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
    doomed = set(marked)
    while more := {pid for pid, parent in parents.items() if parent in doomed} - doomed:
        doomed |= more
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(doomed)


async def _playwright_disabled_features(playwright: Playwright) -> list[str]:
    """Read the list Playwright passes, from chrome://version of a first, short-lived launch."""
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=LOOPBACK_ARGS
    )
    try:
        page = await browser.new_page()
        await page.goto("chrome://version")
        command_line = await page.locator("#command_line").inner_text()
    finally:
        await browser.close()
    found: list[str] = []
    for arg in command_line.split():
        if arg.startswith("--disable-features="):
            found = arg.removeprefix("--disable-features=").split(",")
    return found


@dataclass
class Service:
    """The real service on a loopback socket, which a test can stop while pages stay open."""

    base: str
    port: int
    server: uvicorn.Server
    task: "asyncio.Task[None]" = field(repr=False)

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self.task), DEADLINE_SECONDS)


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, port: int | None = None) -> AsyncIterator[Service]:
    """Like tests.probing.serving, but open event streams cannot hold up the stop.

    A browser keeps /api/v1/stream open forever and uvicorn's graceful shutdown waits for open
    responses without limit; after `timeout_graceful_shutdown` it cancels them instead.
    """
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    service = Service(f"http://127.0.0.1:{port}", port, server, asyncio.create_task(server.serve()))
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while not server.started:
                if service.task.done():
                    service.task.result()
                await asyncio.sleep(0.05)
        yield service
    finally:
        await service.stop()


def artifacts_folder(temporary: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $BRIDGEWATCH_TEST_ARTIFACTS if set, else a temporary folder."""
    kept = os.environ.get(KEEP_ARTIFACTS)
    if not kept:
        return temporary.mktemp("screenshots")
    folder = Path(kept)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def screenshot(page: Page, folder: Path, name: str, *, publish: bool = False) -> Path:
    """Saves FOLDER/dashboard-NAME.png. A picture the README shows (`publish`) is also copied
    to screenshot-NAME.png in $BRIDGEWATCH_PUBLISH_SCREENSHOTS, when that is set."""
    path = folder / f"dashboard-{name}.png"
    await page.screenshot(path=str(path))
    published = os.environ.get(PUBLISH_SCREENSHOTS)
    if publish and published:
        shutil.copyfile(path, ROOT / published / f"screenshot-{name}.png")
    return path


def tile(page: Page, code: str) -> str:
    """Selector of a site's tile (marker elements share data-site, tiles are buttons)."""
    return f'button.tile[data-site="{code}"]'


async def counter(page: Page, name: str) -> int:
    """The number a header counter shows (thousands separators removed)."""
    text = await page.locator(f'[data-counter="{name}"] .counter-value').inner_text()
    return int(text.replace(".", "").replace(",", ""))


async def tile_statuses(page: Page) -> dict[str, str]:
    """Site code -> data-status of every tile on the page."""
    result: dict[str, str] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('button.tile')]
            .map((tile) => [tile.dataset.site, tile.dataset.status]))"""
    )
    return result
