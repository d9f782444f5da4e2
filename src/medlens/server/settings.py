"""Server settings, from keyword arguments or ``MEDLENS_SERVER_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServerSettings"]


class ServerSettings(BaseSettings):
    """How the service runs. Every field can be set as ``MEDLENS_SERVER_<FIELD>`` (e.g. ``MEDLENS_SERVER_DB_URL``)."""

    model_config = SettingsConfigDict(env_prefix="MEDLENS_SERVER_", extra="forbid", frozen=True)

    db_url: str = Field(default="sqlite:///medlens.db", description="sqlite:///path or postgresql+psycopg://...")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs session cookies and keys patient hashes. Set it in any deployment: when unset a random "
        "key is made at start-up, so sessions and patient keys do not survive a restart.",
    )
    auto_migrate: bool = Field(default=True, description="Upgrade the database schema at start-up.")
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Larger request bodies get 413.")
    max_records_per_request: int = Field(default=500, ge=1, description="Documents accepted in one submission.")
    workers: int = Field(default=2, ge=1, le=64, description="Threads running jobs.")
    queue_size: int = Field(default=16, ge=0, description="Jobs waiting beyond the running ones; more get 503.")
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After sent with 503 and as the 429 minimum.")
    rate_limit_per_minute: float = Field(default=600, gt=0, description="Sustained requests per token per minute.")
    rate_limit_burst: int = Field(default=120, ge=1, description="Requests a token may make at once.")
    session_idle_minutes: int = Field(default=30, ge=1, description="Idle web sessions are logged out after this.")
    cookie_secure: bool = Field(default=False, description="Send the session cookie over HTTPS only.")
    tasks: tuple[str, ...] = Field(
        default=("notes.extract", "radiology.labels"), description="Tasks jobs may run (embedded rules backends)."
    )
    batch_size: int = Field(default=16, ge=1, description="Records a job runs and stores per transaction.")
    review_min_confidence: float = Field(
        default=0.8, ge=0, le=1, description="Results with any evidence score below this are flagged low_confidence."
    )
    review_sample_rate: float = Field(
        default=0.1, ge=0, le=1, description="Share of other results flagged 'sampled' for review."
    )
