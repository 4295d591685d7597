"""All settings of BridgeWatch, read from `BRIDGEWATCH_*` environment variables (12-factor)."""

import socket
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from models.thresholds import Thresholds

DEFAULT_THRESHOLDS = Thresholds(rtt_seconds=0.3, jitter_seconds=0.03, loss_ratio=0.03, mos=3.5)


class IceServer(BaseModel):
    """A STUN or TURN server, as in WebRTC's RTCIceServer."""

    urls: list[str] = Field(min_length=1, examples=[["turn:turn.example.vn:3478"]])
    username: str | None = None
    credential: SecretStr | None = None


class TurnServer(BaseModel):
    """A TURN server that trusts a secret it shares with the monitor (coturn's
    `use-auth-secret`): agents get time-limited credentials made from it, never the secret."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(
        min_length=1, examples=[["turn:turn.tinh.vn:3478?transport=udp", "turns:turn.tinh.vn:5349"]]
    )
    secret: SecretStr = Field(description="coturn's static-auth-secret.")
    ttl_seconds: int = Field(
        86_400,
        ge=300,
        le=7 * 86_400,
        description="How long handed-out credentials stay good: at least a conference day, "
        "as a relayed session refreshes its allocation with the credentials it started with.",
    )

    @field_validator("urls")
    @classmethod
    def _turn_urls(cls, urls: list[str]) -> list[str]:
        # Each URL goes out in a Link header between < and >: nothing may break out of them.
        for url in urls:
            if not url.startswith(("turn:", "turns:")) or any(
                c in '<>"' or c.isspace() or not c.isprintable() for c in url
            ):
                raise ValueError(f"not a TURN URL like turn:host:3478: {url!r}")
        return urls


class Settings(BaseSettings):
    """One place for every knob; defaults give the embedded single-process mode."""

    model_config = SettingsConfigDict(env_prefix="BRIDGEWATCH_", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Where the embedded SQLite file lives.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL; defaults to SQLite under data_dir. "
        "PostgreSQL: postgresql+asyncpg://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    auto_migrate: bool = Field(True, description="Apply database migrations when serving.")
    seed_topology: str = Field(
        "cao-bang",
        description="Built-in topology loaded into an empty database at start; '' for none.",
    )
    anonymous_read: bool = Field(False, description="Allow reads without a token (demo, kiosk).")
    engine: bool = Field(True, description="Run the probe engine inside the service process.")
    # At most 5 s: agents drop a session after 10 s without a ping (docs/PROTOCOL.md).
    heartbeat_interval_seconds: float = Field(1.0, gt=0, le=5)
    heartbeat_timeout_seconds: float = Field(
        1.0, gt=0, le=60, description="A ping not answered within this is a missed heartbeat."
    )
    window_seconds: float = Field(10.0, gt=0, le=3600, description="One Sample per window.")
    missed_heartbeats_to_down: int = Field(3, ge=1, le=100)
    liveness: Literal["stun", "echo"] = Field(
        "stun",
        description="What a heartbeat is: 'stun', a STUN binding request on the connection's "
        "selected candidate pair, answered by the agent's ICE layer, with a timeout adapted to "
        "the site's RTT and a confirmation before a site counts lost; 'echo', a ping the agent "
        "echoes on the data channel, with the fixed heartbeat timeout.",
    )
    good_windows_to_up: int = Field(2, ge=1, le=100)
    thresholds: Thresholds = Field(
        DEFAULT_THRESHOLDS, description="Global limits for `degraded` (JSON); sites may override."
    )
    setup_timeout_seconds: float = Field(15.0, gt=0, le=300)
    max_concurrent_setups: int = Field(20, ge=1, le=1000)
    reconnect_backoff_max_seconds: float = Field(30.0, ge=1, le=3600)
    push_grace_seconds: float = Field(
        10.0, gt=0, description="A push site whose agent has not dialled in by then is down."
    )
    media_check_interval_seconds: float = Field(
        0.0, ge=0, description="Every this often, a short test-video check per pull site; 0: off."
    )
    live_media_check_interval_seconds: float = Field(
        0.0,
        ge=0,
        description="While a site's conference is live, a media check this often instead "
        "(pull sites); 0: as at other times.",
    )
    media_check_seconds: float = Field(5.0, gt=0, le=60, description="Length of a media check.")
    recorder_flush_seconds: float = Field(1.0, gt=0, le=60)
    group_fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description="When at least this share of a site's probed children (and two) go down "
        "together, one incident opens on the site ('district link: 14 of 15 communes down') "
        "with theirs attached to it.",
    )
    group_window_seconds: float = Field(
        30.0, gt=0, le=3600, description="How close together their failures must be."
    )
    monitor_link_references: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="TCP host:port addresses that answer whenever the monitor's own link works "
        '(JSON), e.g. ["10.0.0.5:8443", "10.0.0.1:443"] (an agent at the hall, the gateway): '
        "when none answers while sites fall together, one 'monitor link' incident opens "
        "instead of theirs; empty: never checked.",
    )
    sample_retention_days: float = Field(
        90.0, gt=0, description="Raw samples older than this are deleted (hourly)."
    )
    rollup_retention_days: float = Field(
        365.0,
        gt=0,
        description="Per-minute rollups of the samples (RTT, loss, MOS, up ratio) older than "
        "this are deleted (hourly).",
    )
    ice_servers: list[IceServer] = Field(default_factory=list, description="STUN/TURN (JSON).")
    turn: TurnServer | None = Field(
        None,
        description="TURN for agents, with credentials from a shared secret (JSON): "
        '{"urls": ["turn:turn.tinh.vn:3478"], "secret": "...", "ttl_seconds": 86400}.',
    )
    ice_transport_policy: Literal["all", "relay"] = Field(
        "all",
        description="What agents' pages may gather: every candidate, or relayed ones only "
        "(every site through the TURN server).",
    )
    ice_host_addresses: list[str] = Field(
        default_factory=list,
        description='Gather host candidates only on these addresses (e.g. ["127.0.0.1"] for '
        "a demo or tests on loopback); empty: every non-loopback interface.",
    )
    agent_origins: list[str] = Field(
        default_factory=list,
        description="Web origins whose pages may dial in as push agents (CORS on /api/v1/agents/ "
        'only), e.g. ["https://kiosk.example.vn"]; empty: same origin only.',
    )
    lease_seconds: float = Field(
        15.0,
        ge=3,
        le=300,
        description="Scale-out (PostgreSQL): a worker renews its site leases 3 times within "
        "this, and the sites of a worker that died move to the others after it.",
    )
    worker_url: str | None = Field(
        None,
        description="Where API processes reach this worker to hand it push agents' offers; "
        "default: http://<host>:<port>.",
    )
    public_url: str | None = Field(
        None,
        description="The address sites use to reach this service (agent links are made from "
        "it), e.g. https://bw.tinh.vn; default: http://<host>:<port>.",
    )
    enrolment_hours: int = Field(
        72, ge=1, le=720, description="How long an agent link stays valid, in hours."
    )
    metrics_token: SecretStr | None = Field(
        None, description="When set, /metrics wants `Authorization: Bearer <this>`."
    )
    notify: bool = Field(
        True,
        description="Run the notification dispatcher and sender in this process (several "
        "processes may: each message is sent by one).",
    )
    notify_secret_key: SecretStr | None = Field(
        None,
        description="Key that encrypts channel secrets (SMTP password, bot token, webhook "
        "secret) in the database; without it, channels take theirs from the environment only.",
    )
    notify_digest_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Incident changes within this window go out as one message per rule.",
    )
    notify_retry_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="First wait before a failed delivery is tried again; doubled at each attempt.",
    )
    notify_max_attempts: int = Field(
        8, ge=1, le=100, description="A message not delivered after this many attempts fails."
    )
    notify_send_timeout_seconds: float = Field(10.0, gt=0, le=120)
    notify_retention_days: float = Field(
        90.0,
        gt=0,
        description="Messages sent or given up are deleted this long after they were made "
        "(with the next changes told); pending ones are kept until they are.",
    )
    notify_claim_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="A sender holds a message this long; if it dies while sending, another "
        "(or itself, restarted) sends it again after this, with the same delivery id.",
    )
    notify_time_zone: str = Field(
        "Asia/Ho_Chi_Minh", description="IANA time zone of the times in messages."
    )
    dashboard_url: str | None = Field(
        None,
        description="The dashboard's address as operators open it, for links in messages; "
        "default: public_url.",
    )
    log_level: str = "info"
    log_json: bool = Field(True, description="One JSON object per log line.")

    @field_validator(
        "database_url",
        "worker_url",
        "public_url",
        "dashboard_url",
        "metrics_token",
        "notify_secret_key",
        "turn",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`BRIDGEWATCH_METRICS_TOKEN=` (set, but to nothing) means unset, not "the empty
        token": a template's blank line must not turn into a requirement nobody can meet."""
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str | None) -> str | None:
        """Accept the plain URLs people copy from elsewhere and pick the async driver."""
        if url is None:
            return None
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url.removeprefix(plain)
        return url

    @field_validator("notify_time_zone")
    @classmethod
    def _time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone like Asia/Ho_Chi_Minh: {name!r}") from exc
        return name

    @field_validator("agent_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """An origin is scheme://host[:port]; a path or a trailing slash would never match."""
        for origin in origins:
            if origin == "*":  # safe enough: agents authenticate with a bearer secret, no cookies
                continue
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest:
                raise ValueError(f"not an origin like https://host[:port]: {origin!r}")
        return origins

    @field_validator("monitor_link_references")
    @classmethod
    def _references(cls, references: list[str]) -> list[str]:
        for reference in references:
            host, _, port = reference.rpartition(":")
            if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"not an address like host:port: {reference!r}")
        return references

    @field_validator("worker_url")
    @classmethod
    def _worker_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"not a URL like http://host:port: {url!r}")
        return url

    @field_validator("public_url", "dashboard_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        """A base to append `/agent` to: an http(s) address with a host, no query or fragment
        (a path is fine: the service may sit under one behind a reverse proxy)."""
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises on a port that is not a number or past 65535)
        except ValueError as exc:
            raise ValueError(f"not a URL like https://host[:port]: {url!r}") from exc
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c in "?#" or c.isspace() for c in url)
        ):
            raise ValueError(f"not a URL like https://host[:port]: {url!r}")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _claim_outlasts_a_send(self) -> Self:
        """A claim that ran out while its send was still waiting would let a second sender in."""
        if self.notify_claim_seconds <= self.notify_send_timeout_seconds:
            raise ValueError("notify_claim_seconds must be longer than notify_send_timeout_seconds")
        return self

    @model_validator(mode="after")
    def _relay_needs_turn(self) -> Self:
        """Relay only with no TURN server: every page would gather nothing and never connect."""
        turn_urls = [
            u for s in self.ice_servers for u in s.urls if u.startswith(("turn:", "turns:"))
        ]
        if self.ice_transport_policy == "relay" and self.turn is None and not turn_urls:
            raise ValueError(
                "ice_transport_policy relay needs a TURN server (BRIDGEWATCH_TURN, or a turn: URL "
                "in BRIDGEWATCH_ICE_SERVERS)"
            )
        return self

    @property
    def scale_out(self) -> bool:
        """PostgreSQL: engines in several processes may share the database (leases, relay)."""
        return make_url(self.resolved_database_url).get_backend_name() == "postgresql"

    @property
    def resolved_worker_url(self) -> str:
        if self.worker_url:
            return self.worker_url.rstrip("/")
        # Listening on every interface: others reach this host by its name.
        host = socket.getfqdn() if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url
        # As for the worker URL: listening on every interface, sites reach this host by its name.
        host = socket.getfqdn() if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def resolved_dashboard_url(self) -> str:
        return self.dashboard_url or self.resolved_public_url

    @property
    def default_database_path(self) -> Path:
        """The embedded SQLite file used when no database URL is set."""
        return self.data_dir.resolve() / "bridgewatch.db"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.default_database_path}"
