"""Figures of one measurement window: RTT median/p95, jitter, loss, and an estimated MOS.

The MOS comes from a simplified ITU-T G.107 E-model, as WebRTC and VoIP monitors commonly do:
one-way delay (half the RTT, plus a jitter buffer of twice the jitter, plus 20 ms of codec and
packetisation) gives the delay impairment Id; packet loss gives the equipment impairment Ie-eff of
G.711 with packet-loss concealment (Ie = 0, Bpl = 25.1); R = 93.2 - Id - Ie-eff; MOS from R.
"""

import statistics
from dataclasses import dataclass
from itertools import pairwise

CODEC_DELAY_MS = 20.0
BPL_G711_PLC = 25.1


@dataclass(frozen=True)
class WindowFigures:
    sent: int
    lost: int
    rtt_median_seconds: float | None
    rtt_p95_seconds: float | None
    jitter_seconds: float | None
    loss_ratio: float | None
    mos: float | None


def figures(rtts: list[float], lost: int) -> WindowFigures:
    """Figures from the round-trip times of answered heartbeats and the count of missed ones."""
    sent = len(rtts) + lost
    loss = lost / sent if sent else None
    if not rtts:
        return WindowFigures(sent, lost, None, None, None, loss, None)
    ordered = sorted(rtts)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    # Jitter as the mean change between consecutive RTTs (in send order), like RFC 3550's.
    jitter = statistics.fmean(abs(b - a) for a, b in pairwise(rtts)) if len(rtts) > 1 else 0.0
    mos = estimate_mos(median, jitter, loss or 0.0)
    return WindowFigures(sent, lost, _us(median), _us(p95), _us(jitter), loss, mos)


def _us(seconds: float) -> float:
    """Microsecond resolution: the clock cannot do better and the history need not."""
    return round(seconds, 6)


def estimate_mos(rtt_seconds: float, jitter_seconds: float, loss_ratio: float) -> float:
    delay_ms = rtt_seconds * 1000 / 2 + 2 * jitter_seconds * 1000 + CODEC_DELAY_MS
    delay_impairment = 0.024 * delay_ms + 0.11 * max(0.0, delay_ms - 177.3)
    loss_percent = 100 * loss_ratio
    loss_impairment = 95 * loss_percent / (loss_percent + BPL_G711_PLC)
    r = 93.2 - delay_impairment - loss_impairment
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return round(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 2)
