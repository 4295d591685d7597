"""Limits past which a reachable site counts as `degraded`: global defaults, per-site overrides,
and a live conference's stricter ones."""

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """Any field left out falls back to the global default (see `Settings`)."""

    model_config = ConfigDict(extra="forbid")

    rtt_seconds: float | None = Field(None, gt=0, le=60, description="Median RTT above this.")
    jitter_seconds: float | None = Field(None, gt=0, le=60, description="Jitter above this.")
    loss_ratio: float | None = Field(None, ge=0, le=1, description="Heartbeat loss above this.")
    mos: float | None = Field(None, ge=1, le=5, description="Estimated MOS below this.")


def stricter(own: Thresholds, other: Thresholds) -> Thresholds:
    """Each limit at the stricter of the two (a limit only one of them sets is kept)."""

    def lower(a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else min(a, b)

    def higher(a: float | None, b: float | None) -> float | None:
        return b if a is None else a if b is None else max(a, b)

    return Thresholds(
        rtt_seconds=lower(own.rtt_seconds, other.rtt_seconds),
        jitter_seconds=lower(own.jitter_seconds, other.jitter_seconds),
        loss_ratio=lower(own.loss_ratio, other.loss_ratio),
        mos=higher(own.mos, other.mos),
    )
