"""One settings class for the whole service; every variable has the ``BZPEER_`` prefix except the
two URLs every operator tool already knows (``DATABASE_URL``, ``REDIS_URL``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BZPEER_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".bzpeer")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "BZPEER_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "BZPEER_REDIS_URL")
    )

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout_ms: int = 5_000
    """PostgreSQL ``statement_timeout`` for API sessions, in milliseconds."""

    default_page_size: int = 20
    max_page_size: int = 100
    """Hard cap on ``first``/``last`` of every connection."""
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3_000
    max_query_cost: int = 20_000
    """Cap on the summed product of page sizes along every path of an operation."""
    max_body_bytes: int = 256 * 1024
    """Request bodies larger than this get 413, in bytes."""

    cluster_seed: int = 42
    """Seed of the Leiden runs, so that clusters are reproducible."""

    @property
    def debug(self) -> bool:
        return self.env == "development"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "bzpeer.sqlite3"

    @property
    def resolved_database_url(self) -> str:
        """The database URL as configured, or the embedded SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
