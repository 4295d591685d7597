"""The heartbeat protocol on the `bridgewatch` data channel (see docs/PROTOCOL.md).

The monitor sends `{"type": "ping", "seq": N, "t": SENT}`; the agent answers at once with
`{"type": "pong", "seq": N, "t": SENT}` (the same values back); the agent may send
`{"type": "report", ...}` with its version and what it knows of the room.
"""

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

CHANNEL_LABEL = "bridgewatch"
PROTOCOL_VERSION = 1


class Ping(BaseModel):
    type: Literal["ping"] = "ping"
    seq: int = Field(ge=0)
    t: float


class Pong(BaseModel):
    type: Literal["pong"] = "pong"
    seq: int = Field(ge=0)
    t: float


# What the agent saw of the room's own camera and microphone, checked in the site's browser
# (docs/PROTOCOL.md §4). `denied`: the site did not allow the check, which says nothing of the
# devices themselves.
CameraVerdict = Literal["ok", "missing", "denied", "black", "frozen"]
MicrophoneVerdict = Literal["ok", "missing", "denied", "silent"]


class Report(BaseModel):
    """What the agent knows; fields it does not know are left out. Unknown fields are kept."""

    model_config = ConfigDict(extra="allow")

    type: Literal["report"] = "report"
    version: str | None = Field(None, max_length=64)
    attendance: int | None = Field(None, ge=0, le=100_000)
    camera_ok: bool | None = None
    microphone_ok: bool | None = None
    camera: CameraVerdict | None = None
    microphone: MicrophoneVerdict | None = None
    # A few numbers behind the verdicts, never the picture or the sound. Strict: `true` or
    # "12" is junk from a broken agent, not a figure.
    camera_luma: float | None = Field(None, ge=0, le=255, strict=True)  # mean, last picture
    microphone_dbfs: float | None = Field(None, ge=-100, le=0, strict=True)  # loudest of late
    # The agent counts the monitor's STUN binding requests as signs of life, as it counts
    # pings (docs/PROTOCOL.md §5.6): STUN heartbeats keep its session, and pings may be sparse.
    stun_keepalive: bool | None = Field(None, strict=True)

    def camera_verdict(self) -> CameraVerdict | Literal["fault"] | None:
        """The named verdict when there is one; else what the old boolean says."""
        if self.camera is not None:
            return self.camera
        return _from_flag(self.camera_ok)

    def microphone_verdict(self) -> MicrophoneVerdict | Literal["fault"] | None:
        if self.microphone is not None:
            return self.microphone
        return _from_flag(self.microphone_ok)


def _from_flag(ok: bool | None) -> Literal["ok", "fault"] | None:
    """An old agent's `camera_ok`/`microphone_ok`: false is a fault it could not name."""
    if ok is None:
        return None
    return "ok" if ok else "fault"


Message = Annotated[Ping | Pong | Report, Field(discriminator="type")]
_messages: TypeAdapter[Ping | Pong | Report] = TypeAdapter(Message)

MAX_MESSAGE_BYTES = 4096


def encode(message: Ping | Pong | Report) -> str:
    return message.model_dump_json(exclude_none=True)


def decode(raw: str | bytes) -> Ping | Pong | Report | None:
    """The message, or None for anything malformed (a peer's junk must never crash us)."""
    size = len(raw.encode()) if isinstance(raw, str) else len(raw)
    if size > MAX_MESSAGE_BYTES:
        return None
    try:
        return _messages.validate_python(json.loads(raw))
    except (ValueError, ValidationError):
        return None
