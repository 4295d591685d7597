"""All settings of BridgeWatch, read from `BRIDGEWATCH_*` environment variables (12-factor)."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    log_level: str = "info"
    log_json: bool = Field(True, description="One JSON object per log line.")

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

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'bridgewatch.db'}"
