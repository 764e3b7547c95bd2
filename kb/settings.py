"""Settings: declared once as data, built from defaults, `<data-dir>/kb.toml`, then `KB_*` variables.

Built once at the edge (CLI, app factory) and passed in; core code never reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kb.errors import SettingsError

SETTINGS_FILE = "kb.toml"
ENV_PREFIX = "KB_"


def _positive_int(value: Any) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be a whole number of at least 1")
    return number


def _non_negative_float(value: Any) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def _networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip())


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return str(value)


def _choice(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return convert


def _queue_url(value: Any) -> str:
    url = str(value).strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a redis://, rediss:// or unix:// URL (empty: a queue in the data folder)")
    return url


def _setting(default: Any, convert: Callable[[Any], Any], help: str) -> Any:
    return field(default=default, metadata={"convert": convert, "help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting with its default, converter and help; `KB_<NAME>` overrides `<name>`."""

    data_dir: Path
    timezone: str = _setting(
        "UTC", _timezone, "The lab's time zone: digest and dashboard weeks are counted in it."
    )
    base_url: str = _setting(
        "http://127.0.0.1:5000", str, "Public address of the web UI, used in e-mail links."
    )
    # Fetching
    fetch_connect_timeout: float = _setting(10.0, _non_negative_float, "Seconds to wait for a connection.")
    fetch_read_timeout: float = _setting(
        30.0, _non_negative_float, "Seconds to wait for data on a connection."
    )
    fetch_max_bytes: int = _setting(10_000_000, _positive_int, "Largest body accepted, after decompression.")
    fetch_max_redirects: int = _setting(5, int, "Redirects followed per request, each hop checked again.")
    fetch_retries: int = _setting(2, int, "Retries after a timeout, a 5xx, or a 429/503 with Retry-After.")
    fetch_host_delay: float = _setting(1.0, _non_negative_float, "Seconds between two requests to one host.")
    fetch_concurrency: int = _setting(8, _positive_int, "Requests in flight at once, over all hosts.")
    fetch_allow_private: tuple[Any, ...] = _setting(
        (), _networks, "Comma-separated CIDRs the fetcher may reach although private (e.g. 127.0.0.0/8)."
    )
    fetch_respect_robots: bool = _setting(True, _bool, "Obey robots.txt when fetching pages.")
    # Ingest
    source_interval: int = _setting(60, _positive_int, "Default minutes between two fetches of a source.")
    extract_processes: int = _setting(
        0, int, "Processes for extraction, language and tagging (0: one per core)."
    )
    index_batch_size: int = _setting(200, _positive_int, "Items written to the search index per commit.")
    # The monitor's task queue
    queue_url: str = _setting(
        "", _queue_url,
        "Redis URL of a shared task queue, so worker machines can share the fetching; empty: a queue in the "
        "data folder.",
    )
    fetch_lease_seconds: int = _setting(
        600, _positive_int, "Seconds a fetch may take before its source is handed out again (a lost task)."
    )
    schedule_seconds: int = _setting(
        10, _positive_int, "Seconds between two looks for due sources by the scheduler (kb serve)."
    )
    # Web
    web_threads: int = _setting(8, _positive_int, "Threads of the production web server (kb serve).")
    session_minutes: int = _setting(480, _positive_int, "Minutes after which a web session expires.")
    secure_cookies: bool = _setting(False, _bool, "Mark cookies Secure; turn on when served over HTTPS.")
    # Digest
    smtp_host: str = _setting("", str, "SMTP server for the digest.")
    smtp_port: int = _setting(587, _positive_int, "SMTP port.")
    smtp_security: str = _setting("starttls", _choice("starttls", "tls", "none"), "starttls, tls or none.")
    smtp_user: str = _setting("", str, "SMTP user name (empty: no login).")
    smtp_password: str = field(default="", repr=False, metadata={"convert": str, "help": "SMTP password."})
    smtp_sender: str = _setting("", str, "From address of the digest.")
    digest_weekday: str = _setting(
        "", _choice("", "mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        "Day on which kb worker sends the digest (empty: never).",
    )
    digest_hour: int = _setting(9, int, "Hour (0-23, lab time zone) at which kb worker sends the digest.")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kb.sqlite3"

    @property
    def index_root(self) -> Path:
        return self.data_dir / "index"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SettingInfo:
    name: str
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


def describe_settings() -> list[SettingInfo]:
    """Every setting with its default and help (for the README check and `kb settings`)."""
    return [SettingInfo(f.name, f.default, f.metadata["help"]) for f in fields(Settings) if f.metadata]


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings: defaults, then `<data_dir>/kb.toml`, then `KB_*` variables, then overrides."""
    env = os.environ if environ is None else environ
    folder = Path(data_dir or env.get("KB_DATA_DIR") or "kb-data").expanduser().resolve()
    values: dict[str, Any] = {}
    toml_path = folder / SETTINGS_FILE
    if toml_path.is_file():
        try:
            values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path} is not valid TOML: {exc}") from exc
    known = {f.name: f for f in fields(Settings) if f.metadata}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise SettingsError(f"{toml_path}: unknown setting(s) {', '.join(unknown)}")
    for name in known:
        env_var = ENV_PREFIX + name.upper()
        if env_var in env:
            values[name] = env[env_var]
    values.update(overrides)
    converted: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in known:
            raise SettingsError(f"unknown setting {name!r}")
        try:
            converted[name] = known[name].metadata["convert"](raw)
        except (TypeError, ValueError) as exc:
            raise SettingsError(
                f"setting {name} ({ENV_PREFIX}{name.upper()}) = {raw!r} is invalid: {exc}"
            ) from exc
    return Settings(data_dir=folder, **converted)
