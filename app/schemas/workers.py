"""Monitor worker bodies (scale-out)."""

from datetime import datetime

from pydantic import BaseModel, Field


class WorkerPublic(BaseModel):
    id: str = Field(description="Host, process id and a random tag.")
    url: str | None = Field(description="Where API processes hand it push agents' offers.")
    started_at: datetime
    seen_at: datetime = Field(description="Its last renewal of its leases.")
    alive: bool = Field(description="Seen within the lease time.")
    sites: int = Field(description="Sites it holds now.")
