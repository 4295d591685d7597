"""WHIP-style signaling over HTTP: POST an SDP offer, get `201 Created` with the SDP answer and a
`Location` to DELETE when done. Used by the monitor (pull) and by the agent (push)."""

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
from aiortc import RTCIceServer

from monitor.wire.ice import rtc_ice_server
from monitor.wire.links import parse_ice_links

SDP = "application/sdp"
_in_flight: set[asyncio.Task[httpx.Response]] = set()


async def _uncancellable(request: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
    """Run a request that the caller's cancellation (a set-up timeout, a stop) does not cancel.

    httpcore 1.0.9 leaves a pooled connection stuck for good when a request is cancelled while
    it waits for the pool (encode/httpcore#1093); enough of those and the shared client never
    serves another set-up. An abandoned request finishes on its own, within the client's
    timeouts, and gives its connection back.
    """
    task = asyncio.ensure_future(request)
    _in_flight.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_forget)
    return await asyncio.shield(task)


def _forget(task: asyncio.Task[httpx.Response]) -> None:
    _in_flight.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so an abandoned failure is not logged as unhandled


class SignalingError(Exception):
    """The other side refused or failed; `error_class` names why, for samples and logs."""

    def __init__(self, error_class: str, detail: str) -> None:
        super().__init__(f"{error_class}: {detail}")
        self.error_class = error_class


@dataclass(frozen=True)
class Answer:
    sdp: str
    location: str | None
    ice_servers: list[RTCIceServer]  # from the answer's Link headers: for the next offer


async def post_offer(client: httpx.AsyncClient, url: str, offer: str, token: str) -> Answer:
    """Send the offer; the client's own timeouts bound every wait."""
    try:
        response = await _uncancellable(
            client.post(
                url,
                content=offer.encode(),
                headers={"Content-Type": SDP, "Authorization": f"Bearer {token}"},
            )
        )
    except httpx.TimeoutException as exc:
        raise SignalingError("signaling_timeout", str(exc) or type(exc).__name__) from exc
    except httpx.TransportError as exc:
        raise SignalingError("unreachable", str(exc) or type(exc).__name__) from exc
    if response.status_code in (401, 403):
        raise SignalingError("unauthorized", f"HTTP {response.status_code}")
    if response.status_code != 201 or not response.headers.get("content-type", "").startswith(SDP):
        raise SignalingError("bad_answer", f"HTTP {response.status_code}")
    location = response.headers.get("location")
    links = [rtc_ice_server(s) for s in parse_ice_links(response.headers.get_list("link"))]
    return Answer(response.text, urljoin(url, location) if location else None, links)


async def delete_session(client: httpx.AsyncClient, location: str, token: str) -> None:
    """End the session politely; failures do not matter (the peer times out on its own)."""
    with contextlib.suppress(httpx.HTTPError):
        await _uncancellable(client.delete(location, headers={"Authorization": f"Bearer {token}"}))
