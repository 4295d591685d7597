"""Limits past which a reachable site counts as `degraded`: global defaults, per-site overrides."""

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """Any field left out falls back to the global default (see `Settings`)."""

    model_config = ConfigDict(extra="forbid")

    rtt_seconds: float | None = Field(None, gt=0, le=60, description="Median RTT above this.")
    jitter_seconds: float | None = Field(None, gt=0, le=60, description="Jitter above this.")
    loss_ratio: float | None = Field(None, ge=0, le=1, description="Heartbeat loss above this.")
    mos: float | None = Field(None, ge=1, le=5, description="Estimated MOS below this.")
