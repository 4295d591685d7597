"""The STUN binding requests ICE sends on a selected candidate pair, built and checked by hand.

A request on a live pair is what ICE consent freshness sends (RFC 7675), and every ICE agent
(aioice, a browser's libwebrtc) answers it in its ICE layer, with no application code. It
carries USERNAME (`remote ufrag:local ufrag`), PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED,
MESSAGE-INTEGRITY keyed with the remote password and FINGERPRINT (RFC 8445 §7.1.2, RFC 8489
§14). Everything but the transaction id is the same for every request on one pair, so the bytes
before it are packed once and each request costs one HMAC-SHA1 and one CRC-32; aioice builds a
`Message` and packs it twice (~17 µs). An answer is checked where it lies, in its bytes: aioice
would parse every attribute of it (the mapped address into an `ipaddress` and back to text).
"""

import binascii
import hashlib
import hmac
import struct

BINDING_REQUEST = 0x0001
SUCCESS_TYPE = struct.pack("!H", 0x0101)  # a binding success response
COOKIE = 0x2112A442
HEADER_LENGTH = 20
MESSAGE_INTEGRITY = 0x0008
INTEGRITY_ATTRIBUTE = struct.pack("!HH", MESSAGE_INTEGRITY, 20)  # 20 bytes of HMAC-SHA1
FINGERPRINT_ATTRIBUTE = struct.pack("!HH", 0x8028, 4)
FINGERPRINT_XOR = 0x5354554E
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A


def _attribute(kind: int, value: bytes) -> bytes:
    padding = -len(value) % 4
    return struct.pack("!HH", kind, len(value)) + value + bytes(padding)


class BindingRequests:
    """Binding requests for one selected pair, and the check of their answers."""

    def __init__(
        self,
        *,
        local_ufrag: str,
        remote_ufrag: str,
        remote_password: str,
        priority: int,
        controlling: bool,
        tie_breaker: int,
    ) -> None:
        role = ICE_CONTROLLING if controlling else ICE_CONTROLLED
        self._attributes = (
            _attribute(0x0006, f"{remote_ufrag}:{local_ufrag}".encode())  # USERNAME
            + _attribute(0x0024, struct.pack("!I", priority))  # PRIORITY
            + _attribute(role, struct.pack("!Q", tie_breaker))
        )
        # HMAC's keyed state, copied per request and answer instead of re-deriving it.
        self._mac = hmac.new(remote_password.encode(), digestmod=hashlib.sha1)
        length = len(self._attributes)
        # The header's length field counts up to the attribute being computed (RFC 8489 §14.5).
        self._signed_prefix = struct.pack("!HHI", BINDING_REQUEST, length + 24, COOKIE)
        self._full_prefix = struct.pack("!HHI", BINDING_REQUEST, length + 24 + 8, COOKIE)

    def build(self, transaction_id: bytes) -> bytes:
        """The request with this 12-byte transaction id, ready for the pair's socket."""
        mac = self._mac.copy()
        mac.update(self._signed_prefix + transaction_id + self._attributes)
        body = self._attributes + INTEGRITY_ATTRIBUTE + mac.digest()
        crc = binascii.crc32(self._full_prefix + transaction_id + body) ^ FINGERPRINT_XOR
        return self._full_prefix + transaction_id + body + FINGERPRINT_ATTRIBUTE + crc.to_bytes(4)

    def answers(self, response: bytes) -> bool:
        """A binding success response signed with the remote password: the far end's ICE took
        our request as its own (an error, or anything unsigned, says nothing of that)."""
        if len(response) < HEADER_LENGTH or response[:2] != SUCCESS_TYPE:
            return False
        position = HEADER_LENGTH
        while position + 4 <= len(response):
            kind, length = struct.unpack_from("!HH", response, position)
            if kind == MESSAGE_INTEGRITY:
                signature = response[position + 4 : position + 24]
                return length == 20 and len(signature) == 20 and self._signs(response, position)
            position += 4 + length + (-length % 4)
        return False

    def _signs(self, response: bytes, integrity_at: int) -> bool:
        """Whether the MESSAGE-INTEGRITY at `integrity_at` is ours: the HMAC of what precedes
        it, its header's length counting up to the end of that attribute (RFC 8489 §14.5)."""
        length = integrity_at - HEADER_LENGTH + 24
        mac = self._mac.copy()
        mac.update(SUCCESS_TYPE + length.to_bytes(2) + response[4:integrity_at])
        return hmac.compare_digest(mac.digest(), response[integrity_at + 4 : integrity_at + 24])
