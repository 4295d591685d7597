"""aiortc peer connections with a bound on every wait (aiortc itself can wait ~60 s)."""

import asyncio
import logging

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from monitor.wire.cleanup import clean_up_within
from monitor.wire.protocol import CHANNEL_LABEL

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_SECONDS = 5.0


class SetupError(Exception):
    """A connection did not come up; `agent_answered`: the agent took part in the set-up (it
    answered the offer, or dialled in), so it lives, and its link was too slow or lossy."""

    def __init__(self, error_class: str, detail: str, agent_answered: bool = False) -> None:
        super().__init__(f"{error_class}: {detail}")
        self.error_class = error_class
        self.agent_answered = agent_answered


async def close_quietly(pc: RTCPeerConnection) -> None:
    """Close with a deadline; a peer that hangs in close must not hang us."""
    await clean_up_within(CLOSE_TIMEOUT_SECONDS, pc.close())


def offering_channel(pc: RTCPeerConnection) -> RTCDataChannel:
    # Unordered and never retransmitted: a lost ping must count as lost, not arrive late.
    channel: RTCDataChannel = pc.createDataChannel(CHANNEL_LABEL, ordered=False, maxRetransmits=0)
    return channel


def setup_stage(pc: RTCPeerConnection) -> str:
    """How far a connection that has not come up got, for the log of a set-up that timed out:
    ICE still checking says no path (a firewall: TURN is needed); DTLS or SCTP connecting says a
    path that loses or delays the handshakes."""
    sctp = pc.sctp.state if pc.sctp is not None else "none"
    dtls = pc.sctp.transport.state if pc.sctp is not None else "none"
    return f"ICE {pc.iceConnectionState}, DTLS {dtls}, SCTP {sctp}"


async def wait_open(channel: RTCDataChannel) -> None:
    if channel.readyState == "open":
        return
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await opened.wait()


async def make_offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


# What an offer must carry for a connection to be possible at all: a media line, ICE, DTLS.
# aiortc parses almost anything into an empty description and would "answer" garbage.
REQUIRED_IN_OFFER = ("v=0", "\nm=", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:")


async def answer_offer(pc: RTCPeerConnection, offer: str) -> str:
    """Apply a remote offer and return our answer; malformed SDP is a `SetupError`."""
    missing = [part for part in REQUIRED_IN_OFFER if part not in offer]
    if missing:
        names = ", ".join(part.strip() for part in missing)
        raise SetupError("bad_offer", f"the SDP has no {names}")
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    except Exception as exc:  # aiortc raises ValueError and others for malformed SDP
        raise SetupError("bad_offer", str(exc) or type(exc).__name__) from exc
    await pc.setLocalDescription(await pc.createAnswer())
    return str(pc.localDescription.sdp)


async def apply_answer(pc: RTCPeerConnection, answer: str) -> None:
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    except Exception as exc:
        raise SetupError("bad_answer", str(exc) or type(exc).__name__) from exc
