"""WHIP-style signaling over HTTP: POST an SDP offer, get `201 Created` with the SDP answer and a
`Location` to DELETE when done. Used by the monitor (pull) and by the agent (push)."""

import contextlib
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

SDP = "application/sdp"


class SignalingError(Exception):
    """The other side refused or failed; `error_class` names why, for samples and logs."""

    def __init__(self, error_class: str, detail: str) -> None:
        super().__init__(f"{error_class}: {detail}")
        self.error_class = error_class


@dataclass(frozen=True)
class Answer:
    sdp: str
    location: str | None


async def post_offer(client: httpx.AsyncClient, url: str, offer: str, token: str) -> Answer:
    """Send the offer; the client's own timeouts bound every wait."""
    try:
        response = await client.post(
            url,
            content=offer.encode(),
            headers={"Content-Type": SDP, "Authorization": f"Bearer {token}"},
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
    return Answer(response.text, urljoin(url, location) if location else None)


async def delete_session(client: httpx.AsyncClient, location: str, token: str) -> None:
    """End the session politely; failures do not matter (the peer times out on its own)."""
    with contextlib.suppress(httpx.HTTPError):
        await client.delete(location, headers={"Authorization": f"Bearer {token}"})
