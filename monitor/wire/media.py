"""The optional media check: a few seconds of low-rate test video both ways over a separate
peer connection, to measure what the conference's media would meet: frames per second, freezes,
bitrate, RTP loss and jitter, and RTT from RTCP.

The heartbeat channel alone cannot show this: a data channel gives aiortc nothing for
`getStats()`. Two aiortc facts matter here: RTP jitter in its stats is in clock units (divide by
the 90 kHz video clock), and a received track must be drained, or its frames pile up in memory.
"""

import asyncio
import contextlib
import time
from fractions import Fraction
from typing import Any

import httpx
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from monitor.wire.peer import SetupError, apply_answer, close_quietly, make_offer
from monitor.wire.signaling import delete_session, post_offer

WIDTH, HEIGHT, FPS = 320, 240, 10
CLOCK_RATE = 90_000
FREEZE_SECONDS = 0.5  # no frame for this long is a freeze a delegate would notice
MEDIA_QUERY = "media=1"


class TestPattern(MediaStreamTrack):
    """320x240 at 10 fps: a moving gradient, so the encoder has something to send."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._count = 0
        self._start = time.monotonic()
        self._row = bytes(range(256)) * (2 * WIDTH // 256 + 1)

    async def recv(self) -> VideoFrame:
        await asyncio.sleep(max(0.0, self._start + self._count / FPS - time.monotonic()))
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        shift = (self._count * 4) % 256
        luma, chroma_u, chroma_v = frame.planes
        luma.update(self._row[shift : shift + luma.line_size] * HEIGHT)
        chroma_u.update(bytes([128]) * chroma_u.buffer_size)
        chroma_v.update(bytes([128]) * chroma_v.buffer_size)
        frame.pts = self._count * (CLOCK_RATE // FPS)
        frame.time_base = Fraction(1, CLOCK_RATE)
        self._count += 1
        return frame


async def drain(track: MediaStreamTrack) -> None:
    """Consume a received track until it ends (the agent does not look at the monitor's video)."""
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


async def _watch(track: MediaStreamTrack, seconds: float) -> tuple[int, int]:
    """Frames received and freezes seen during `seconds`."""
    frames = freezes = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(track.recv(), min(left, FREEZE_SECONDS))
            frames += 1
        except TimeoutError:
            if deadline - time.monotonic() > 0:
                freezes += 1
    return frames, freezes


async def _bytes_received(pc: RTCPeerConnection) -> int:
    stats = await pc.getStats()
    return sum(getattr(s, "bytesReceived", 0) for s in stats.values() if s.type == "transport")


async def _rtp_figures(pc: RTCPeerConnection) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for stats in (await pc.getStats()).values():
        if stats.type == "inbound-rtp" and stats.kind == "video":
            received, lost = stats.packetsReceived, stats.packetsLost
            figures["packets_lost"] = lost
            figures["rtp_loss_ratio"] = lost / (received + lost) if received + lost else None
            figures["rtp_jitter_seconds"] = round(stats.jitter / CLOCK_RATE, 6)
        elif stats.type == "remote-inbound-rtp" and stats.kind == "video":
            # None until a receiver report has come back with one (a short check may end first).
            rtt = stats.roundTripTime
            figures["rtcp_rtt_seconds"] = round(rtt, 6) if rtt is not None else None
    return figures


async def media_check(
    http: httpx.AsyncClient,
    rtc: RTCConfiguration,
    url: str,
    token: str,
    seconds: float,
    setup_timeout: float,
) -> dict[str, Any]:
    """Run one check against a pull agent; figures, or {"error": class} when it failed."""
    pc = RTCPeerConnection(rtc)
    incoming: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if not incoming.done():
            incoming.set_result(track)

    pc.addTrack(TestPattern())
    location = None
    separator = "&" if "?" in url else "?"
    try:
        async with asyncio.timeout(setup_timeout):
            answer = await post_offer(
                http, f"{url}{separator}{MEDIA_QUERY}", await make_offer(pc), token
            )
            location = answer.location
            await apply_answer(pc, answer.sdp)
            track = await incoming
        before = await _bytes_received(pc)
        frames, freezes = await _watch(track, seconds)
        bitrate = (await _bytes_received(pc) - before) * 8 / seconds
        return {
            "frames_per_second": round(frames / seconds, 2),
            "freezes": freezes,
            "bitrate_bits_per_second": round(bitrate),
            **await _rtp_figures(pc),
        }
    except TimeoutError:
        return {"error": "media_setup_timeout"}
    except SetupError as exc:
        return {"error": exc.error_class}
    except Exception as exc:  # a signaling failure (SignalingError) or a media error
        return {"error": getattr(exc, "error_class", type(exc).__name__)}
    finally:
        await close_quietly(pc)
        if location:
            await delete_session(http, location, token)
