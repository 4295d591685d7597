"""Signaling over the engine's shared HTTP client survives set-ups abandoned by their timeout."""

import asyncio
import contextlib
import random
import re

import httpx

from monitor.wire.signaling import SignalingError, post_offer

ANSWER = b"v=0\r\n"


async def _slow_agent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A WHIP endpoint that answers every offer after 50 ms, over kept-alive connections."""
    with contextlib.suppress(Exception):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            await asyncio.sleep(0.05)
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
            )
            await writer.drain()
    writer.close()


async def _abandoned_offer(client: httpx.AsyncClient, url: str) -> None:
    with contextlib.suppress(TimeoutError, SignalingError):
        async with asyncio.timeout(random.uniform(0.03, 0.08)):
            await post_offer(client, url, "offer", "token")


async def test_offers_abandoned_by_their_set_up_timeout_do_not_wedge_the_shared_client() -> None:
    # Many sites timing out together while the pool is full is what 8:00 at 3,000 sites looks
    # like; httpcore used to keep the slots of such requests forever and refuse all later ones.
    server = await asyncio.start_server(_slow_agent, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/whip"
    limits = httpx.Limits(max_connections=2)
    async with server, httpx.AsyncClient(timeout=3.0, limits=limits) as client:
        loop = asyncio.get_running_loop()
        churn_until = loop.time() + 3.0
        while loop.time() < churn_until:
            await asyncio.gather(*(_abandoned_offer(client, url) for _ in range(12)))

        answers = await asyncio.gather(*(post_offer(client, url, "offer", "t") for _ in range(4)))

    assert [answer.sdp for answer in answers] == [ANSWER.decode()] * 4
