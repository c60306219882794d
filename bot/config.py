"""Configuration from environment variables (and an optional `.env` file).

Every setting has a `DODAM_` prefixed variable; the README lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "dodam.sqlite3"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything Dodam reads from its environment."""

    telegram_token: str = ""
    database_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_base_file_url: str = "https://api.telegram.org/file/bot"
    bot_username: str = "DodamBot"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    timezone: str = "Asia/Seoul"
    default_language: str = "en"
    default_pool: str = "default"
    consent_version: str = "2026-11"
    log_level: str = "INFO"
    content_dir: Path = PROJECT_ROOT / "content"
    delivery_hour: int = 10
    quiet_start_hour: int = 21
    quiet_end_hour: int = 8
    send_rate_per_second: float = 25.0
    worker_id: str = ""
    lease_seconds: float = 60.0  # how long a claimed outbox row is a worker's before another may take it
    # The programme's instrument for scheduled screens: EPDS needs RCPsych's permission; PHQ-9 is free.
    screening_instrument: str = "epds"
    nlu_url: str = ""  # an external Rasa server; empty: Dodam starts its own (if installed and trained)
    nlu_timeout: float = 0.5
    retention_days: int = 365  # free-text message bodies older than this are purged
    heartbeat_file: Path = PROJECT_ROOT / "var" / "dodam-heartbeat.json"  # liveness, read by `dodam health`

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sandbox(self) -> bool:
        """No token: the bot can only talk to the local emulator."""
        return not self.telegram_token

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)


def load_settings(*, env_file: str | Path | None = None) -> Settings:
    """Read settings from the environment, after loading `.env` if present.

    Variables already set in the environment win over the file, so CI and tests can override it.
    """
    path = Path(env_file) if env_file else PROJECT_ROOT / ".env"
    if path.is_file():
        load_dotenv(path, override=False)
    token = _env("DODAM_TELEGRAM_TOKEN") or _env("TELEGRAM_BOT_TOKEN")
    settings = Settings(
        telegram_token=token,
        database_url=_env("DODAM_DATABASE_URL") or Settings.database_url,
        bot_api_base_url=_env("DODAM_BOT_API_BASE_URL") or Settings.bot_api_base_url,
        bot_api_base_file_url=_env("DODAM_BOT_API_BASE_FILE_URL") or Settings.bot_api_base_file_url,
        bot_username=_env("DODAM_BOT_USERNAME") or Settings.bot_username,
        webhook_url=_env("DODAM_WEBHOOK_URL"),
        webhook_secret=_env("DODAM_WEBHOOK_SECRET"),
        webhook_listen=_env("DODAM_WEBHOOK_LISTEN") or Settings.webhook_listen,
        webhook_port=int(_env("DODAM_WEBHOOK_PORT") or Settings.webhook_port),
        timezone=_env("DODAM_TIMEZONE") or Settings.timezone,
        default_language=_env("DODAM_DEFAULT_LANGUAGE") or Settings.default_language,
        default_pool=_env("DODAM_DEFAULT_POOL") or Settings.default_pool,
        consent_version=_env("DODAM_CONSENT_VERSION") or Settings.consent_version,
        log_level=_env("DODAM_LOG_LEVEL") or Settings.log_level,
        content_dir=Path(_env("DODAM_CONTENT_DIR")) if _env("DODAM_CONTENT_DIR") else Settings.content_dir,
        delivery_hour=int(_env("DODAM_DELIVERY_HOUR") or Settings.delivery_hour),
        quiet_start_hour=int(_env("DODAM_QUIET_HOURS", "21-8").split("-")[0]),
        quiet_end_hour=int(_env("DODAM_QUIET_HOURS", "21-8").split("-")[1]),
        send_rate_per_second=float(_env("DODAM_SEND_RATE") or Settings.send_rate_per_second),
        worker_id=_env("DODAM_WORKER_ID"),
        lease_seconds=float(_env("DODAM_LEASE_SECONDS") or Settings.lease_seconds),
        screening_instrument=_env("DODAM_SCREENING_INSTRUMENT") or Settings.screening_instrument,
        nlu_url=_env("DODAM_NLU_URL"),
        nlu_timeout=float(_env("DODAM_NLU_TIMEOUT") or Settings.nlu_timeout),
        retention_days=int(_env("DODAM_RETENTION_DAYS") or Settings.retention_days),
        heartbeat_file=Path(_env("DODAM_HEARTBEAT_FILE")) if _env("DODAM_HEARTBEAT_FILE") else Settings.heartbeat_file,
    )
    if settings.screening_instrument not in ("epds", "phq9"):
        raise ValueError("DODAM_SCREENING_INSTRUMENT must be epds or phq9")
    ZoneInfo(settings.timezone)  # fail at start-up, not at the first message, on a typo
    if settings.webhook_url and not settings.webhook_secret:
        raise ValueError("DODAM_WEBHOOK_URL is set but DODAM_WEBHOOK_SECRET is empty: a webhook needs a secret")
    return settings
