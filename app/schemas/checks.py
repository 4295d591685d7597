"""Full checks: a site's last one, and what a request for re-checks asked."""

from datetime import datetime

from pydantic import BaseModel, Field


class FullCheckPublic(BaseModel):
    """A site's last full check: data channel, a short media check where its agent can do one,
    camera and microphone where its agent reports them."""

    at: datetime
    passed: bool
    failed: str = Field(description='What failed, in words ("no data channel"); "" if passed.')


class SkippedSite(BaseModel):
    code: str
    reason: str = Field(description='Why it cannot be checked ("disabled", "not probed").')


class RecheckRequested(BaseModel):
    requested_at: datetime = Field(
        description="A site's full check after this answers the request."
    )
    sites: list[str] = Field(description="The codes of the sites a full check was asked of.")
    skipped: list[SkippedSite] = Field(
        default_factory=list, description="Sites of the conference that cannot be checked."
    )
