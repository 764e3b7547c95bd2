"""Settings: declared once as data, built from defaults, `<data-dir>/kb.toml`, then `KB_*` variables.

Built once at the edge (CLI, app factory) and passed in; core code never reads the environment.
"""

from __future__ import annotations

import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kb.errors import SettingsError

SETTINGS_FILE = "kb.toml"
ENV_PREFIX = "KB_"
MAX_SECONDS = 3600.0  # for timeouts and delays: an hour is far past any sensible value
QUEUE_SCHEMES = ("redis", "rediss", "unix")


# --- converters: each turns a raw value (a TOML value, or the text of a KB_* variable) into the setting's
# value, or raises ValueError saying what the value must be; load_settings names the setting around it.


def _whole(value: Any) -> int:
    """A whole number from an int, a float without a fraction (TOML 8.0) or text; never a bool."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError("must be a whole number")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError("must be a whole number") from None


def _count(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    """A converter to a whole number of at least `minimum` (and at most `maximum`, when given)."""

    def convert(value: Any) -> int:
        number = _whole(value)
        if maximum is not None and not minimum <= number <= maximum:
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        if number < minimum:
            raise ValueError(f"must be a whole number of at least {minimum}")
        return number

    return convert


def _seconds(*, zero_allowed: bool) -> Callable[[Any], float]:
    """A converter to a finite number of seconds above 0 (or from 0), at most MAX_SECONDS.

    The upper bound keeps values inside what sockets and waits accept: a year of seconds overflows them,
    and "inf" or "nan" would make every comparison with a deadline meaningless.
    """

    def convert(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number of seconds, not true or false")
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ValueError("must be a number of seconds") from None
        above_low = number >= 0 if zero_allowed else number > 0
        if not (math.isfinite(number) and above_low and number <= MAX_SECONDS):
            span = f"from 0 to {MAX_SECONDS:g}" if zero_allowed else f"more than 0, at most {MAX_SECONDS:g}"
            raise ValueError(f"must be a number of seconds {span}")
        return number

    return convert


def _text(value: Any) -> str:
    """Text as given: a TOML number or list where text belongs is a mistake, not text to make of it."""
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}")
    return value


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
    networks = []
    for item in (str(item).strip() for item in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"must list networks such as 127.0.0.0/8 or ::1/128, and {item[:60]!r} is not one"
            ) from None
    return tuple(networks)


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


def _has_space_or_control(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _web_url(value: Any) -> str:
    """An absolute http(s) address such as https://kb.lab.example (e-mails link to it)."""
    text = _text(value).strip()
    problem = ValueError("must be an http:// or https:// address such as https://kb.lab.example")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number from 0 to 65535
    except ValueError:
        raise problem from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or _has_space_or_control(text):
        raise problem
    return text


def _host(value: Any) -> str:
    """Empty, or a host name or IP address: no scheme, user or port (the port is a setting of its own)."""
    text = _text(value).strip()
    if not text:
        return ""
    if _has_space_or_control(text) or any(ch in text for ch in "/@[]") or (":" in text and not _ipv6(text)):
        raise ValueError("must be a host name such as smtp.example.org, without a scheme, a user or a port")
    return text


def _ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _queue_url(value: Any) -> str:
    """Empty (the SQLite queue in the data folder), or the URL of the Redis server workers share.

    redis://[[user]:password@]host[:port][/db], rediss:// the same over TLS, or
    unix://[[user]:password@]/path/to/redis.sock[?db=N], as redis-py reads them.
    """
    text = _text(value).strip()
    if not text:
        return ""
    if _has_space_or_control(text):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("has a host or a port that cannot be read (ports are 1 to 65535)") from None
    scheme = parts.scheme.lower()
    if scheme not in QUEUE_SCHEMES:
        raise ValueError("must be a redis://, rediss:// or unix:// URL (empty: a queue in the data folder)")
    if any(not number.isdigit() for number in parse_qs(parts.query).get("db", [])):
        raise ValueError("has a db= that is not a database number")
    if scheme == "unix":
        if not parts.path.strip("/"):
            raise ValueError("needs the path of the socket after unix://, e.g. unix:///run/redis/redis.sock")
        return text
    if not parts.hostname:
        raise ValueError("needs a host, e.g. redis://queue.lab.example:6379/0")
    if port == 0:
        raise ValueError("has port 0 (a port is a number from 1 to 65535)")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ValueError("has a path that is not a database number (redis://host:6379/0)")
    return text


def redacted_url(url: str) -> str:
    """A URL fit for messages and logs: the password in it, if any, replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(a URL that cannot be read)"
    if not password:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user_info.split(':', 1)[0]}:***@{host}"))


def _setting(default: Any, convert: Callable[[Any], Any], help: str, *, secret: bool = False) -> Any:
    """A setting's field: its default, converter and help; a secret is left out of repr and messages."""
    metadata = {"convert": convert, "help": help, "secret": secret}
    return field(default=default, repr=not secret, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """Every setting with its default, converter and help; `KB_<NAME>` overrides `<name>`."""

    data_dir: Path
    timezone: str = _setting(
        "UTC", _timezone, "The lab's time zone: digest and dashboard weeks are counted in it."
    )
    base_url: str = _setting(
        "http://127.0.0.1:5000", _web_url, "Public address of the web UI, used in e-mail links."
    )
    # Fetching
    fetch_connect_timeout: float = _setting(
        10.0, _seconds(zero_allowed=False), "Seconds to wait for a connection (more than 0, at most 3600)."
    )
    fetch_read_timeout: float = _setting(
        30.0, _seconds(zero_allowed=False),
        "Seconds to wait for data on a connection (more than 0, at most 3600).",
    )
    fetch_max_bytes: int = _setting(
        10_000_000, _count(1), "Largest body accepted, after decompression (at least 1)."
    )
    fetch_max_redirects: int = _setting(
        5, _count(0), "Redirects followed per request, each hop checked again (0 or more)."
    )
    fetch_retries: int = _setting(
        2, _count(0), "Retries after a timeout, a 5xx, or a 429/503 with Retry-After (0 or more)."
    )
    fetch_host_delay: float = _setting(
        1.0, _seconds(zero_allowed=True), "Seconds between two requests to one host (0 to 3600)."
    )
    fetch_concurrency: int = _setting(
        8, _count(1), "Requests in flight at once, over all hosts (at least 1)."
    )
    fetch_allow_private: tuple[Any, ...] = _setting(
        (), _networks, "Comma-separated CIDRs the fetcher may reach although private (e.g. 127.0.0.0/8)."
    )
    fetch_respect_robots: bool = _setting(True, _bool, "Obey robots.txt when fetching pages.")
    # Ingest
    source_interval: int = _setting(
        60, _count(1), "Default minutes between two fetches of a source (at least 1)."
    )
    extract_processes: int = _setting(
        0, _count(0), "Processes for extraction, language and tagging (0: one per core)."
    )
    # Each commit writes a segment with its own term dictionary: with real vocabularies a backlog of 3,000
    # items took 63 s to write 200 at a time and 13 s 1,000 at a time.
    index_batch_size: int = _setting(
        1000, _count(1), "Items written to the search index per commit (at least 1)."
    )
    # The monitor's task queue
    queue_url: str = _setting(
        "", _queue_url,
        "Redis URL of a shared task queue, so worker machines can share the fetching (redis://, rediss:// "
        "or unix://); empty: a queue in the data folder.",
        secret=True,  # it may hold the Redis password
    )
    fetch_lease_seconds: int = _setting(
        600, _count(1),
        "Seconds a fetch may take before its source is handed out again (a lost task; at least 1).",
    )
    schedule_seconds: int = _setting(
        10, _count(1), "Seconds between two looks for due sources by the scheduler (kb serve; at least 1)."
    )
    # Web
    web_threads: int = _setting(8, _count(1), "Threads of each web server process (kb serve; at least 1).")
    session_minutes: int = _setting(480, _count(1), "Minutes after which a web session expires (at least 1).")
    secure_cookies: bool = _setting(False, _bool, "Mark cookies Secure; turn on when served over HTTPS.")
    # Digest
    smtp_host: str = _setting("", _host, "SMTP server for the digest (a host name; the port is smtp_port).")
    smtp_port: int = _setting(587, _count(1, 65535), "SMTP port (1-65535).")
    smtp_security: str = _setting("starttls", _choice("starttls", "tls", "none"), "starttls, tls or none.")
    smtp_user: str = _setting("", _text, "SMTP user name (empty: no login).")
    smtp_password: str = _setting("", _text, "SMTP password.", secret=True)
    # Checked as an e-mail address when a digest is sent (kb.digest.mail), which names it when it is not.
    smtp_sender: str = _setting("", _text, "From address of the digest.")
    digest_weekday: str = _setting(
        "", _choice("", "mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        "Day on which the monitor (kb serve) sends the digest (empty: never).",
    )
    digest_hour: int = _setting(
        9, _count(0, 23), "Hour (0-23, lab time zone) at which the monitor (kb serve) sends the digest."
    )

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
    origins: dict[str, str] = {}  # where each value came from, for the error message
    toml_path = folder / SETTINGS_FILE
    if toml_path.is_file():
        try:
            values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path} is not valid TOML: {exc}") from exc
        origins.update(dict.fromkeys(values, f" (in {toml_path})"))
    known = {f.name: f for f in fields(Settings) if f.metadata}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise SettingsError(f"{toml_path}: unknown setting(s) {', '.join(unknown)}")
    for name in known:
        env_var = ENV_PREFIX + name.upper()
        if env_var in env:
            values[name] = env[env_var]
            origins[name] = " (in the environment)"
    values.update(overrides)
    for name in overrides:
        origins.pop(name, None)
    converted: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in known:
            raise SettingsError(f"unknown setting {name!r}")
        try:
            converted[name] = known[name].metadata["convert"](raw)
        except (TypeError, ValueError) as exc:
            raise SettingsError(
                f"setting {name} ({ENV_PREFIX}{name.upper()}) = {_shown(known[name], raw)}"
                f"{origins.get(name, '')} is invalid: {exc}"
            ) from exc
    return Settings(data_dir=folder, **converted)


def _shown(setting: Field[Any], raw: Any) -> str:
    """A raw value as an error message shows it: a secret is not repeated, a URL's password is masked."""
    if setting.metadata.get("secret"):
        return repr(redacted_url(raw)) if setting.name == "queue_url" and isinstance(raw, str) else "(hidden)"
    return repr(raw)[:200]
