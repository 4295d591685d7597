"""Which path a live connection took: the candidate pair ICE selected.

"host" on both sides is a direct path; "srflx"/"prflx" went through a NAT; "relay" on either
side means the packets go through a TURN server. aiortc has no public way to ask (its
getStats() has no candidate-pair entries), so this reads aioice's nominated pair through
aiortc's private attributes, here and nowhere else: checked against aiortc 1.16 / aioice 0.13,
and any change of theirs gives None rather than an error.
"""

from aioice.ice import CandidatePair, Connection
from aiortc import RTCPeerConnection


def selected_pair(pc: RTCPeerConnection) -> tuple[Connection, CandidatePair] | None:
    """aioice's connection under the data channel, and the pair it nominated (None: none)."""
    try:
        ice = pc.sctp.transport.transport  # type: ignore[union-attr]  # SCTP → DTLS → ICE
        connection: Connection = ice._connection
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
