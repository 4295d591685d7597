"""The room's own camera and microphone, as REST and the live stream show them on a site: the
verdicts of the site agent's latest report, and the faults among them in words a script can
test without parsing the English reason (docs/PROTOCOL.md §4)."""

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from monitor.probe.status import PICTURE_FAULTS, SOUND_FAULTS
from monitor.wire.protocol import Report

Fault = Literal["no_picture", "no_sound"]


class RoomDevices(BaseModel):
    camera: Literal["ok", "missing", "denied", "black", "frozen", "fault"] | None = Field(
        description="The camera: ok; missing (none, or unplugged); denied (the site did not "
        "allow the check); black or frozen picture; fault (an agent that names no cause); "
        "null when the agent did not say."
    )
    microphone: Literal["ok", "missing", "denied", "silent", "fault"] | None = Field(
        description="The microphone: ok, missing, denied, silent, fault, or null (as camera)."
    )
    faults: list[Fault] = Field(
        description="What the room lacks: no_picture, no_sound; each also makes the site "
        "degraded. Empty when both are fine or unchecked."
    )


def room_devices(latest: dict[str, Any] | None) -> RoomDevices | None:
    """From a site's latest figures (the last window's report); None when the agent says
    nothing of its devices, is not connected, or the stored report cannot be read."""
    stored = (latest or {}).get("report")
    if not isinstance(stored, dict):
        return None
    try:
        report = Report.model_validate(stored)
    except ValidationError:
        return None  # written by an older version of the service: nothing to tell
    camera, microphone = report.camera_verdict(), report.microphone_verdict()
    if camera is None and microphone is None:
        return None
    faults: list[Fault] = []
    if camera in PICTURE_FAULTS:
        faults.append("no_picture")
    if microphone in SOUND_FAULTS:
        faults.append("no_sound")
    return RoomDevices(camera=camera, microphone=microphone, faults=faults)
