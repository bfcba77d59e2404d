"""One settings class for the whole service; every variable has the ``BZPEER_`` prefix except the
two URLs every operator tool already knows (``DATABASE_URL``, ``REDIS_URL``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BZPEER_", extra="ignore")

    env: Literal["development", "production"] = "development"
    introspection: bool | None = None
    """Schema introspection and "Did you mean" suggestions in errors, together; unset, on in
    development and off in production (clients there use the SDL, ``schema.graphql``)."""
    metrics_token: str | None = None
    """``/metrics`` answers only with ``Authorization: Bearer <this>``. Unset, it answers
    clients on loopback in development and nobody in production."""
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
    response_cache_entries: int = 10_000
    """Answers each API process keeps for anonymous reads of the profile page, the integrator
    document and researchers' graph slices (``service.graphql.response_cache``); 0 turns the
    cache off. Never served stale: every hit checks the change versions of what it shows."""
    response_cache_ttl_s: float = 300.0
    """The longest an answer is kept: bounds what a writer that lost Redis after its commit
    (its bump lost) could leave stale."""
    freeze_startup_objects: bool = True
    """``gc.freeze()`` once an API process, a worker or an import process has started
    (``service.heap``): full garbage collections no longer walk the schema's and mappers'
    objects (pauses of about 100 ms under load). Off only where one process starts many apps
    (the test suite: what is frozen is never collected)."""

    default_page_size: int = 20
    max_page_size: int = 100
    """Hard cap on ``first``/``last`` of every connection."""
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3_000
    max_query_cost: int = 500_000
    """Cap on the summed product of list bounds along every path of an operation
    (``service.graphql.limits``): the integrator document at 50 works with the worst case of
    100 authors each costs about 371,000, the profile page 358."""
    max_body_bytes: int = 256 * 1024
    """Request bodies larger than this get 413, in bytes; ``bzpeer serve`` also caps WebSocket
    messages at it."""

    public_url: str = "http://127.0.0.1:8000"
    """Where users reach the service: links in mails and the ORCID redirect are built on it."""
    session_ttl_days: int = 30
    email_token_ttl_hours: int = 48
    password_reset_ttl_minutes: int = 60
    smtp_url: str | None = None
    """``smtp://user:pass@host:port`` (``smtps://`` for TLS); unset, mails become .eml files
    under ``data_dir/mail``."""
    mail_from: str = "BZPEER <no-reply@bzpeer.test>"

    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    """Argon2id memory per hash, in KiB (OWASP's floor is 19 MiB)."""
    argon2_parallelism: int = 1

    orcid_base_url: str = "https://orcid.org"
    """ORCID's OAuth endpoints live under it (``/oauth/authorize``, ``/oauth/token``)."""
    orcid_client_id: str | None = None
    orcid_client_secret: str | None = None
    orcid_state_ttl_minutes: int = 10
    claim_email_recent_years: int = 5
    """An institutional address backs a claim when its domain is listed by the record's
    affiliation or by an institution on one of its works published in this many years before
    the current one (or since)."""
    """How long an ORCID sign-in started by ``requestClaim`` can be completed: the OAuth
    ``state`` is a bearer of the claim, so it lives minutes, not a mail link's hours."""

    rate_limit_sign_in_per_email_and_address: str = "5/minute"
    """Sign-in attempts for one address from one client address: what stops guessing."""
    rate_limit_sign_in_per_email: str = "100/hour"
    """The ceiling for one address from everywhere: far above what one guesser gets, so that
    failing from elsewhere does not lock the owner out (lockout is not a weapon)."""
    rate_limit_sign_in_per_address: str = "20/minute"
    rate_limit_sign_up_per_address: str = "10/hour"
    rate_limit_password_reset_per_address: str = "10/hour"
    rate_limit_password_reset_per_email: str = "3/hour"
    rate_limit_follows_per_account: str = "60/minute"
    rate_limit_invitations_per_account: str = "10/hour"
    rate_limit_claims_per_account: str = "10/hour"
    rate_limit_imports_per_key: str = "120/minute"
    """``importWorks`` and ``addWork`` calls per API key (each call is one transaction)."""

    import_max_records: int = 500
    """Records one ``importWorks`` call may carry; more is BAD_USER_INPUT (``extensions.max``).
    The request body must also fit ``max_body_bytes``, which full OpenAlex work records (median
    16 KB) reach first."""

    cluster_seed: int = 42
    """Seed of the Leiden runs, so that clusters are reproducible."""
    recluster_interval_s: float = 3_600.0
    """Each worker asks this often for a full recluster (one runs, in a child process, if the
    last finished longer ago than this); new works re-cluster their neighbourhood in between.
    0 turns the schedule off."""

    graph_slice_fanout: int = 25
    """Neighbours a graph slice takes of one node per relation (co-authors, works, topics,
    members...): a 100-author work or a 2,000-researcher institution adds at most this many."""
    graph_slice_max_depth: int = 3
    graph_slice_max_limit: int = 200
    graph_slices_per_operation: int = 2
    """Graph slices one operation may ask for (each ranks its neighbourhood)."""
    max_authors_per_work: int = 100
    search_window: int = Field(default=1_000, ge=1)
    """A works search ranks, counts and facets at most this many works, taken in citation order
    when ranked by relevance, else in the list's own order (as Elasticsearch's
    ``track_total_hits`` and ``max_result_window``); a list by year or citations still pages
    through every match. A common word matches most works: at 2M works, finding, ranking and
    grouping all of them took seconds, a window of 10,000 about 200 ms, of 1,000 about 40."""
    """``Work.authorships`` lists the first this many authors (OpenAlex's own cut)."""

    frontend_origins: Annotated[list[str], NoDecode] = []
    """Origins of the web front-ends whose pages may open a WebSocket to ``/graphql``,
    comma-separated (``https://app.example.org``). Pages of the service's own origin and
    clients that send no Origin (not browsers) always may; any other handshake gets 403."""
    ws_init_timeout_s: float = 10.0
    """A WebSocket must send ``connection_init`` within this, else it is closed (4408)."""
    ws_max_subscriptions_per_connection: int = 20
    ws_max_connections_per_account: int = 10
    """Open WebSockets per signed-in account (or API key), across all API processes."""
    ws_max_connections_per_address: int = 100
    """Open anonymous WebSockets per client address, across all API processes. Behind a
    proxy, run uvicorn with ``--proxy-headers`` so that this is the client's address."""
    live_resync_interval_s: float = 30.0
    """Every API process re-reads the values its subscribers watch this often, whatever the
    pub/sub said: the bound on how long a lost message can leave a value stale. 0 = never."""

    in_process_workers: bool = True
    """``bzpeer serve`` runs the relay and an event worker in its own process (the embedded
    default); ``bzpeer serve --api-only`` turns it off for separate ``relay``/``worker``."""
    broker_namespace: str = "bzpeer"
    """Prefix of the broker's Redis keys: deployments sharing one Redis need different ones."""
    worker_threads: int = 64
    """Dramatiq threads per worker process. They mostly wait while their events are applied
    together (group commit), so more threads make bigger batches: 10,000 follow events took
    11.1 s with 32, 9.6 s with 64, 7.7 s with 128 and 7.3 s with 256 on one process here. But
    idle threads wake every 20 ms (Dramatiq polls with one timeout for all), which cost 16% of
    a core at 32 and 32% at 128 while idle: 64 is the compromise."""
    worker_heartbeat_timeout_ms: int = 5_000
    """A worker silent this long is dead and its unacknowledged messages run again (Dramatiq's
    default is a minute)."""
    worker_maintenance_chance: int = 50_000
    """Broker calls per million that run queue maintenance, which requeues dead workers'
    messages (Dramatiq's default of 1,000 leaves them for minutes)."""
    event_max_retries: int = 12
    event_min_backoff_ms: int = 200
    event_max_backoff_ms: int = 30_000
    """Retries back off exponentially between these (about 2.5 minutes in all, enough to ride
    out a database restart); then the event is dead-lettered."""
    event_time_limit_ms: int = 60_000
    trust_coalesce_ms: int = 150
    """Trust of researchers touched by events is recomputed at most this long after the first
    of a burst, once for the whole burst."""
    trust_refresh_batch: int = 500
    relay_batch_size: int = 500
    relay_poll_interval_ms: int = 1_000
    """Polling fallback of the relay on PostgreSQL, which otherwise wakes on NOTIFY."""
    relay_sqlite_poll_interval_ms: int = 1_000
    """On SQLite (no NOTIFY): the relay's poll for rows other processes (commands) wrote; this
    process's commits wake it at once (``service.events.wakeups``)."""
    reconcile_interval_s: float = 5.0
    reconcile_after_s: float = 30.0
    """An event published this long ago with no processed mark is sent again."""
    outbox_retention_hours: int = 168
    """Processed events older than this are deleted from the outbox."""
    failpoints: str = ""
    """Fault injection for tests, ``name=kill:N,...``: the Nth time the process reaches the
    named point it kills itself with SIGKILL (see ``service/failpoints.py``)."""

    @field_validator("frontend_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def debug(self) -> bool:
        return self.env == "development"

    @property
    def introspection_on(self) -> bool:
        """Introspection and field suggestions: ``introspection`` if set, else in development."""
        return self.debug if self.introspection is None else self.introspection

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def orcid_configured(self) -> bool:
        return bool(self.orcid_client_id and self.orcid_client_secret)

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
