"""No picture, no sound: the agent page watches the room's own camera and microphone in the
browser, and the monitor makes a site whose room has a fault `degraded` with its reason.

Real Chromium, fed by its fake capture devices from clips this test writes: a black picture, a
frozen one (one picture over and over), a moving one; silence and a tone. Fake devices are set
per browser, so each case is one Chromium, all three on one service at once. What is asserted is
what the technician and the organiser then read, never how fast it came.
"""

import asyncio
import contextlib
import json
import math
import struct
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from app.main import create_app
from models.db import SessionMaker
from models.settings import Settings
from models.site import ProbeMode
from tests.browser import artifacts_folder, launch, serve, tile
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, give_agent
from tests.test_agent_page import CREDENTIAL_KEY, LIVE_MS, connected, monitor, profile

pytestmark = SQLITE_ONLY

WIDTH, HEIGHT = 320, 240
RATE = 48_000


def y4m(path: Path, frames: list[bytes]) -> Path:
    """A 4:2:0 clip at 10 frames a second of these luma planes, colourless (U = V = 128)."""
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as clip:
        clip.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for luma in frames:
            clip.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def picture(shift: int) -> bytes:
    """Diagonal stripes moved `shift` pixels along: never black, never uniform."""
    return b"".join(
        bytes((x + 2 * y + shift) % 160 + 60 for x in range(WIDTH)) for y in range(HEIGHT)
    )


def wav(path: Path, amplitude: float) -> Path:
    """One second of a 440 Hz tone at `amplitude` (0: digital silence), mono 16-bit."""
    samples = [
        round(amplitude * 32767 * math.sin(2 * math.pi * 440 * n / RATE)) for n in range(RATE)
    ]
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(RATE)
        sound.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def clips(folder: Path) -> dict[str, Path]:
    """Chromium plays a clip over and over: one frame is a frozen picture; 37 frames of
    stripes moving 9 pixels a frame change between any two pictures a second apart."""
    return {
        "black": y4m(folder / "black.y4m", [bytes(WIDTH * HEIGHT)]),
        "frozen": y4m(folder / "frozen.y4m", [picture(0)]),
        "moving": y4m(folder / "moving.y4m", [picture(9 * n) for n in range(37)]),
        "silence": wav(folder / "silence.wav", 0.0),
        "tone": wav(folder / "tone.wav", 0.3),
    }


@dataclass(frozen=True)
class Case:
    code: str
    name: str
    video: str
    audio: str


BLACK = Case("01273", "Phường Hợp Giang", "black", "tone")
FROZEN = Case("01276", "Phường Tân Giang", "frozen", "silence")
MOVING = Case("01279", "Phường Ngọc Xuân", "moving", "tone")


def fake_devices(files: dict[str, Path], case: Case) -> list[str]:
    """The clips as the camera and microphone, allowed as if on an earlier visit: the page
    starts its check by itself."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={files[case.video]}",
        f"--use-file-for-fake-audio-capture={files[case.audio]}",
    ]


async def open_enrolled(page: Page, base: str, case: Case, secret: str) -> None:
    """As if the site had enrolled before: its credential in the browser, then /agent."""
    await page.goto(f"{base}/healthz")
    credential = {"site_code": case.code, "site_name": case.name, "secret": secret}
    await page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [CREDENTIAL_KEY, json.dumps({**credential, "ice_servers": []})],
    )
    await page.goto(f"{base}/agent")


async def site(base: str, code: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as api:
        body: dict[str, object] = (await api.get(f"/api/v1/sites/{code}")).json()
    return body


def until(base: str, code: str, wanted: Callable[[dict[str, object]], bool]) -> Awaitable[float]:
    async def check() -> bool:
        return wanted(await site(base, code))

    return eventually(check, f"site {code} as wanted in the API")


def reason_parts(body: dict[str, object]) -> set[str]:
    return set(str(body["status_reason"]).split(", "))


async def test_a_black_or_frozen_picture_and_silence_degrade_the_site_a_live_room_does_not(
    settings: Settings,
    seeded: SessionMaker,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    files = clips(tmp_path)
    cases = [BLACK, FROZEN, MOVING]
    secrets = [await give_agent(seeded, case.code, None, ProbeMode.PUSH) for case in cases]
    async with async_playwright() as playwright, contextlib.AsyncExitStack() as stack:
        browsers: list[Browser] = await asyncio.gather(
            *(launch(playwright, fake_devices(files, case)) for case in cases)
        )
        for browser in browsers:
            stack.push_async_callback(browser.close)
        service = await stack.enter_async_context(monitor(settings))
        pages = {}
        for case, browser, secret in zip(cases, browsers, secrets, strict=True):
            _, page = await stack.enter_async_context(profile(browser, service.base))
            await open_enrolled(page, service.base, case, secret)
            await connected(page)
            pages[case] = page

        # What the technician reads, in the room's own words.
        black, frozen, moving = pages[BLACK], pages[FROZEN], pages[MOVING]
        await expect(black.locator("#media-camera")).to_have_text(
            "Không có hình (màn hình đen)", timeout=LIVE_MS
        )
        await expect(black.locator("#media-microphone")).to_have_text("Có tiếng")
        await expect(black.locator("#media-advice")).to_contain_text("nắp che ống kính")
        await expect(frozen.locator("#media-camera")).to_have_text(
            "Không có hình (hình bị đứng)", timeout=LIVE_MS
        )
        await expect(frozen.locator("#media-microphone")).to_have_text(
            "Không có tiếng (im lặng)", timeout=LIVE_MS
        )
        await expect(moving.locator("#media-camera")).to_have_text("Có hình")
        await expect(moving.locator("#media-microphone")).to_have_text("Có tiếng")
        await expect(moving.locator("#media-preview")).to_be_visible()
        shots = artifacts_folder(tmp_path_factory)
        await black.screenshot(path=str(shots / "agent-no-picture.png"))
        await frozen.screenshot(path=str(shots / "agent-frozen-silent.png"))

        # What the monitor makes of it: the status, its reason, and the faults for scripts.
        await until(
            service.base,
            BLACK.code,
            lambda body: (
                body["status"] == "degraded"
                and "no picture (black)" in reason_parts(body)
                and body["devices"]
                == {"camera": "black", "microphone": "ok", "faults": ["no_picture"]}
            ),
        )
        await until(
            service.base,
            FROZEN.code,
            lambda body: (
                body["status"] == "degraded"
                and body["devices"]
                == {
                    "camera": "frozen",
                    "microphone": "silent",
                    "faults": ["no_picture", "no_sound"],
                }
            ),
        )
        frozen_site = await site(service.base, FROZEN.code)
        assert reason_parts(frozen_site) <= {"no picture (frozen)", "no sound (silent)"}
        # The live room has been watched as long as the frozen one: it stayed up.
        live = await site(service.base, MOVING.code)
        assert live["status"] == "up", live
        assert live["devices"] == {"camera": "ok", "microphone": "ok", "faults": []}
        reports = await moving.evaluate("window.sentReports")
        assert all(report.get("camera") in (None, "ok") for report in reports), reports
        assert any(report.get("camera") == "ok" for report in reports), reports
        for report in await black.evaluate("window.sentReports"):
            # Only verdicts and two numbers leave the page: never a picture or a sound.
            assert set(report) <= {
                "type", "version", "attendance", "camera", "microphone", "camera_luma",
                "microphone_dbfs",
            }, report  # fmt: skip

        # The dashboard: the reason and the panel in Vietnamese.
        dashboard = await moving.context.new_page()
        await dashboard.goto(service.base)
        await dashboard.locator(tile(dashboard, BLACK.code)).click()
        panel = dashboard.locator("#site-panel")
        await expect(panel.locator('[data-fact="reason"] dd')).to_contain_text(
            "Không có hình (màn hình đen)"
        )
        await expect(panel.locator('[data-fact="camera"] dd')).to_have_text(
            "✖ Không có hình (màn hình đen)"
        )
        await expect(panel.locator('[data-fact="microphone"] dd')).to_have_text("✓ Tốt")
        await dashboard.keyboard.press("Escape")
        await dashboard.locator(tile(dashboard, FROZEN.code)).click()
        await expect(panel.locator('[data-fact="microphone"] dd')).to_have_text(
            "✖ Không có tiếng (im lặng)"
        )
        await expect(panel.locator('[data-fact="camera"] dd')).to_have_text(
            "✖ Không có hình (hình bị đứng)"
        )


async def test_a_pc_with_no_camera_or_microphone_is_told_and_the_fault_ends_with_its_session(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    """The shared browser has no capture devices at all: asked for them, the page finds none.
    A reload drops the session, and with it the fault: the new session has not checked the
    devices (nothing was allowed for good), and the site comes back up."""
    secret = await give_agent(seeded, BLACK.code, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (_, page):
        await open_enrolled(page, service.base, BLACK, secret)
        await connected(page)
        await until(service.base, BLACK.code, lambda body: body["status"] == "up")
        button = page.locator("#media-start")
        await expect(button).to_have_text("Kiểm tra camera và micrô")
        await button.click()
        await expect(page.locator("#media-camera")).to_have_text("Không có hình (không có camera)")
        await expect(page.locator("#media-microphone")).to_have_text(
            "Không có tiếng (không có micrô)"
        )
        await expect(button).to_have_text("Kiểm tra lại")
        await until(
            service.base,
            BLACK.code,
            lambda body: (
                body["status"] == "degraded"
                and reason_parts(body) <= {"no picture (no camera)", "no sound (no microphone)"}
                and body["devices"]
                == {
                    "camera": "missing",
                    "microphone": "missing",
                    "faults": ["no_picture", "no_sound"],
                }
            ),
        )
        await page.reload()
        await connected(page)
        await until(
            service.base,
            BLACK.code,
            lambda body: body["status"] == "up" and body["devices"] is None,
        )


async def test_the_measures_behind_the_verdicts(settings: Settings, browser: Browser) -> None:
    """The page's own arithmetic, on pictures and sounds whose answers are known."""
    async with serve(create_app(settings)) as service:
        page = await browser.new_page()
        try:
            await page.goto(f"{service.base}/healthz")
            measured = await page.evaluate(
                """async () => {
                  const m = await import('/static/agent/media.js');
                  const rgba = (r, g, b) => new Uint8ClampedArray(768 * 4).map(
                    (_, i) => [r, g, b, 255][i % 4]);
                  const tone = Float32Array.from({ length: 4800 },
                    (_, n) => 0.5 * Math.sin(2 * Math.PI * 440 * n / 48000));
                  const grey = m.lumas(rgba(100, 100, 100)).each;
                  const lighter = m.lumas(rgba(101, 101, 101)).each;
                  return {
                    black: m.lumas(rgba(0, 0, 0)).mean,
                    white: m.lumas(rgba(255, 255, 255)).mean,
                    red: m.lumas(rgba(255, 0, 0)).mean,
                    same: m.change(grey, grey),
                    oneLevel: m.change(grey, lighter),
                    tone: m.levelDbfs(tone),
                    silence: m.levelDbfs(new Float32Array(4800)),
                    failures: ['NotFoundError', 'NotAllowedError', 'NotReadableError', 'X']
                      .map((name) => m.failure({ name })),
                  };
                }"""
            )
        finally:
            await page.close()
    assert measured["black"] == 0 and measured["white"] == pytest.approx(255, abs=0.01)
    assert measured["red"] == pytest.approx(76.2, abs=0.1)  # BT.601: 0.299 of 255
    assert measured["same"] == 0 and measured["oneLevel"] == pytest.approx(1, abs=0.01)
    assert measured["tone"] == pytest.approx(-9.03, abs=0.05)  # a sine's RMS: amplitude / √2
    assert measured["silence"] == -100
    assert measured["failures"] == ["missing", "denied", "busy", "busy"]
