"""Which path a live connection took (the candidate pair ICE selected), and the binding
requests ICE answers on it.

"host" on both sides is a direct path; "srflx"/"prflx" went through a NAT; "relay" on either
side means the packets go through a TURN server. aiortc has no public way to ask (its
getStats() has no candidate-pair entries, and no event for a binding request), so this reads
aioice's nominated pair, and listens where aioice checks an authenticated request, through
private attributes: checked against aiortc 1.16 / aioice 0.13, and any change of theirs gives
None or False rather than an error.
"""

from collections.abc import Callable

from aioice.ice import CandidatePair, Connection, StunProtocol
from aioice.stun import Message
from aiortc import RTCPeerConnection


def ice_connection(pc: RTCPeerConnection) -> Connection | None:
    """aioice's connection under the data channel (None: there is none)."""
    try:
        ice = pc.sctp.transport.transport  # type: ignore[union-attr]  # SCTP → DTLS → ICE
        connection: Connection = ice._connection
    except AttributeError:
        return None
    return connection


def selected_pair(pc: RTCPeerConnection) -> tuple[Connection, CandidatePair] | None:
    """aioice's connection under the data channel, and the pair it nominated (None: none)."""
    connection = ice_connection(pc)
    if connection is None:
        return None
    try:
        nominated = connection._nominated  # component → CandidatePair
        pair = nominated.get(1) or next(iter(nominated.values()), None)
    except AttributeError:
        return None
    return None if pair is None else (connection, pair)


def selected_candidate_types(pc: RTCPeerConnection) -> tuple[str, str] | None:
    """(ours, theirs) for the data channel's connection, or None when nothing is selected."""
    selected = selected_pair(pc)
    if selected is None:
        return None
    _, pair = selected
    return str(pair.local_candidate.type), str(pair.remote_candidate.type)


def on_binding_request(connection: Connection, heard: Callable[[], None]) -> bool:
    """Call `heard` on each binding request from the peer that ICE authenticated (and
    answered): the peer's STUN heartbeats and consent checks. False: this cannot listen."""
    try:
        check_incoming = connection.check_incoming
    except AttributeError:
        return False

    # aioice hands every request it authenticated to `check_incoming`, after its answer.
    def checked(message: Message, addr: tuple[str, int], protocol: StunProtocol) -> None:
        heard()
        check_incoming(message, addr, protocol)

    connection.check_incoming = checked  # type: ignore[method-assign]
    return True


def stop_consent_checks(connection: Connection) -> None:
    """Stop aioice's own consent checks (RFC 7675: a request every ~5 s; no answer for ~30 s
    fails the connection) where a heartbeat does their work, and sooner."""
    consent = getattr(connection, "_query_consent_task", None)
    if consent is not None:
        consent.cancel()
