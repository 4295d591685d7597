"""The writable fields of a site, shared by file import/export and the REST API."""

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from models.site import ProbeMode, SiteLevel
from models.thresholds import Thresholds

# Control characters (Unicode category Cc: C0, DEL, C1) have no place in names and titles, and
# PostgreSQL cannot store NUL at all. Text that runs over several lines keeps its line breaks
# and tabs.
_LINE_BREAKS = frozenset("\t\n\r")


@dataclass(frozen=True)
class NoControlCharacters:
    """A string annotation that refuses control characters, naming the first one found, and
    documents the rule in the JSON Schema as a `pattern` (ECMA 262, as clients read it)."""

    multi_line: bool = False

    def check(self, value: str) -> str:
        allowed = _LINE_BREAKS if self.multi_line else frozenset()
        for character in value:
            if unicodedata.category(character) == "Cc" and character not in allowed:
                rule = "only line breaks and tabs are allowed" if allowed else "none are allowed"
                raise ValueError(f"contains the control character U+{ord(character):04X}; {rule}")
        return value

    @property
    def pattern(self) -> str:
        if self.multi_line:
            return "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
        return "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", self.pattern)
        return json_schema


ONE_LINE = NoControlCharacters()
MULTI_LINE = NoControlCharacters(multi_line=True)

SiteCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"),
    Field(description="Unique code, e.g. the official GSO code '01273'.", examples=["01273"]),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 .()-]{3,30}$")]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    try:
        _ = parts.port  # a port past 65535 is only found out here
    except ValueError as exc:
        raise ValueError(f"must be an http:// or https:// URL: {exc}") from exc
    return value


ProbeTarget = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500),
    ONE_LINE,  # before urlsplit, which quietly drops tabs and line breaks
    AfterValidator(_http_url),
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
