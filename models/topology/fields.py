"""The writable fields of a site, shared by file import/export and the REST API."""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from models.site import ProbeMode, SiteLevel
from models.thresholds import Thresholds

SiteCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"),
    Field(description="Unique code, e.g. the official GSO code '01273'.", examples=["01273"]),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 .()-]{3,30}$")]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


ProbeTarget = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_http_url)
]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class SiteFields(BaseModel):
    """A site as people write it: in a CSV/YAML file or a POST body."""

    model_config = ConfigDict(extra="forbid")

    code: SiteCode
    name: Name
    level: SiteLevel
    parent_code: SiteCode | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    probe_mode: ProbeMode = ProbeMode.PULL
    probe_target: ProbeTarget | None = Field(
        None, description="Agent signaling URL for pull mode, e.g. http://10.4.1.20:8443/01273"
    )
    thresholds: Thresholds | None = None
    enabled: bool = True


# Columns whose empty CSV cell means "none"; other empty cells keep the current or default value.
NULLABLE_FIELDS = frozenset(
    name
    for name, info in SiteFields.model_fields.items()
    if not info.is_required() and info.default is None
)
