"""The camera and microphone verdicts of a `report` (docs/PROTOCOL.md §4): what an agent may say,
what an old agent's booleans mean, and junk that must be dropped whole rather than misread."""

import json

import pytest

from monitor.wire.protocol import Report, decode, encode


def report(**fields: object) -> str:
    return json.dumps({"type": "report", "version": "bridgewatch-web-agent/0.3.0", **fields})


def test_a_web_agents_verdicts_and_figures_are_read() -> None:
    message = decode(
        report(attendance=25, camera="black", microphone="silent", camera_luma=3.4,
               microphone_dbfs=-100)
    )  # fmt: skip
    assert isinstance(message, Report)
    assert (message.camera_verdict(), message.microphone_verdict()) == ("black", "silent")
    assert (message.camera_luma, message.microphone_dbfs, message.attendance) == (3.4, -100, 25)
    assert decode(encode(message)) == message


@pytest.mark.parametrize(
    ("fields", "camera", "microphone"),
    [
        ({}, None, None),  # an agent that does not check the devices
        ({"camera_ok": True, "microphone_ok": True}, "ok", "ok"),
        ({"camera_ok": False, "microphone_ok": False}, "fault", "fault"),  # unnamed faults
        ({"camera_ok": True, "camera": "frozen"}, "frozen", None),  # the named verdict wins
        ({"camera": None, "microphone": None}, None, None),  # null is the same as left out
        ({"camera": "denied", "microphone": "missing"}, "denied", "missing"),
    ],
)
def test_verdicts_of_new_and_old_agents(
    fields: dict[str, object], camera: str | None, microphone: str | None
) -> None:
    message = decode(report(**fields))
    assert isinstance(message, Report)
    assert (message.camera_verdict(), message.microphone_verdict()) == (camera, microphone)


@pytest.mark.parametrize(
    "junk",
    [
        {"camera": "OK"},  # verdicts are exact words
        {"camera": "silent"},  # a microphone's verdict is no camera's
        {"microphone": "black"},
        {"camera": True},
        {"camera": ["black"]},
        {"microphone": 0},
        {"camera_luma": -1},
        {"camera_luma": 256},
        {"camera_luma": True},  # no number hides behind a boolean or a string
        {"camera_luma": "12"},
        {"microphone_dbfs": 3},
        {"microphone_dbfs": -101},
        {"microphone_dbfs": None, "camera_luma": {"mean": 3}},
    ],
)
def test_a_report_with_a_bad_media_field_is_ignored_whole(junk: dict[str, object]) -> None:
    assert decode(report(attendance=12, **junk)) is None


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_figures_that_are_not_numbers_are_junk(number: str) -> None:
    """Python's JSON reader takes these words; a figure must still be a finite number."""
    raw = f'{{"type": "report", "camera": "ok", "microphone_dbfs": {number}}}'
    assert decode(raw) is None
