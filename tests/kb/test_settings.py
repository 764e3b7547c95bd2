from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from kb.errors import SettingsError
from kb.settings import describe_settings, load_settings, redacted_url

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [s.env_var for s in describe_settings()
               if f"`{s.env_var}`" not in text or f"`{s.name}`" not in text]
    assert missing == []


def test_order_is_defaults_then_toml_then_environment(tmp_path: Path):
    (tmp_path / "kb.toml").write_text('timezone = "Europe/Paris"\nfetch_host_delay = 2.5\n', encoding="utf-8")
    settings = load_settings(tmp_path, environ={"KB_FETCH_HOST_DELAY": "0.5",
                                                "KB_FETCH_ALLOW_PRIVATE": "127.0.0.0/8, 10.0.0.0/8"})
    assert settings.timezone == "Europe/Paris"
    assert settings.fetch_host_delay == 0.5
    assert settings.fetch_allow_private == (ipaddress.ip_network("127.0.0.0/8"),
                                            ipaddress.ip_network("10.0.0.0/8"))
    assert settings.fetch_max_redirects == 5
    assert settings.db_path == tmp_path.resolve() / "kb.sqlite3"


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("KB_SECURE_COOKIES", "maybe", "true or false"),
    ("KB_FETCH_ALLOW_PRIVATE", "not-a-network", "'not-a-network' is not one"),
    ("KB_FETCH_ALLOW_PRIVATE", "127.0.0.0/8, 10.0.0.0/33", "'10.0.0.0/33' is not one"),
    ("KB_SMTP_SECURITY", "ssl3", "starttls, tls, none"),
    ("KB_WEB_THREADS", "0", "at least 1"),
    ("KB_DIGEST_HOUR", "30", "from 0 to 23"),
    ("KB_DIGEST_HOUR", "-1", "from 0 to 23"),
    ("KB_DIGEST_HOUR", "nine", "whole number"),
    ("KB_DIGEST_WEEKDAY", "monday", "mon, tue"),
    ("KB_FETCH_RETRIES", "-1", "at least 0"),
    ("KB_FETCH_RETRIES", "2.5", "whole number"),
    ("KB_FETCH_MAX_REDIRECTS", "-3", "at least 0"),
    ("KB_EXTRACT_PROCESSES", "-4", "at least 0"),
    ("KB_FETCH_MAX_BYTES", "0", "at least 1"),
    ("KB_FETCH_CONCURRENCY", "0", "at least 1"),
    ("KB_SOURCE_INTERVAL", "0", "at least 1"),
    ("KB_INDEX_BATCH_SIZE", "-200", "at least 1"),
    ("KB_FETCH_LEASE_SECONDS", "0", "at least 1"),
    ("KB_SCHEDULE_SECONDS", "0", "at least 1"),
    ("KB_SESSION_MINUTES", "0", "at least 1"),
    ("KB_FETCH_CONNECT_TIMEOUT", "0", "more than 0"),
    ("KB_FETCH_READ_TIMEOUT", "-5", "more than 0"),
    ("KB_FETCH_READ_TIMEOUT", "nan", "more than 0"),
    ("KB_FETCH_READ_TIMEOUT", "inf", "at most 3600"),
    ("KB_FETCH_HOST_DELAY", "-1", "from 0 to 3600"),
    ("KB_FETCH_HOST_DELAY", "1e12", "from 0 to 3600"),
    ("KB_FETCH_HOST_DELAY", "soon", "number of seconds"),
    ("KB_SMTP_PORT", "0", "from 1 to 65535"),
    ("KB_SMTP_PORT", "70000", "from 1 to 65535"),
    ("KB_SMTP_HOST", "smtp://mail.lab.example", "host name"),
    ("KB_SMTP_HOST", "mail.lab.example:587", "without a scheme, a user or a port"),
    ("KB_BASE_URL", "kb.lab.example", "http:// or https://"),
    ("KB_BASE_URL", "ftp://kb.lab.example", "http:// or https://"),
    ("KB_TIMEZONE", "Mars/Olympus", "unknown time zone"),
    ("KB_QUEUE_URL", "http://redis.lab.example:6379", "redis://, rediss:// or unix://"),
    ("KB_QUEUE_URL", "localhost:6379", "redis://, rediss:// or unix://"),
    ("KB_QUEUE_URL", "redis://", "needs a host"),
    ("KB_QUEUE_URL", "redis://redis.lab.example:99999/0", "ports are 1 to 65535"),
    ("KB_QUEUE_URL", "redis://redis.lab.example:0", "port 0"),
    ("KB_QUEUE_URL", "redis://redis.lab.example/queue", "database number"),
    ("KB_QUEUE_URL", "unix://", "path of the socket"),
    ("KB_QUEUE_URL", "unix:///run/redis.sock?db=first", "database number"),
    ("KB_QUEUE_URL", "redis://redis.lab .example/0", "spaces"),
])
def test_bad_values_name_the_setting(tmp_path: Path, variable: str, value: str, words: str) -> None:
    """A bad value stops start-up with a message naming the setting, where it came from, and the rule."""
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={variable: value})
    message = str(caught.value)
    assert variable in message and variable[3:].lower() in message
    assert "(in the environment)" in message and words in message


@pytest.mark.parametrize(("line", "key", "words"), [
    ("fetch_retries = 2.5", "fetch_retries", "whole number"),
    ("web_threads = true", "web_threads", "not true or false"),
    ("fetch_host_delay = false", "fetch_host_delay", "not true or false"),
    ("smtp_host = 25", "smtp_host", "must be text"),
    ("digest_hour = 24", "digest_hour", "from 0 to 23"),
    ('queue_url = "memcached://cache:11211"', "queue_url", "redis://, rediss:// or unix://"),
])
def test_bad_toml_values_name_the_file(tmp_path: Path, line: str, key: str, words: str) -> None:
    """Values from kb.toml are checked the same way, and the message names the file. TOML keeps types, so a
    number where text belongs, or a fraction where a count belongs, is refused rather than converted."""
    (tmp_path / "kb.toml").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={})
    message = str(caught.value)
    assert key in message and "kb.toml" in message and words in message


def test_whole_numbers_from_toml_and_text(tmp_path: Path) -> None:
    toml = 'digest_hour = "7"\nweb_threads = 4.0\nfetch_retries = 0\n'
    (tmp_path / "kb.toml").write_text(toml, encoding="utf-8")
    settings = load_settings(tmp_path, environ={})
    assert (settings.digest_hour, settings.web_threads, settings.fetch_retries) == (7, 4, 0)


@pytest.mark.parametrize(("environ", "expected"), [
    ({"KB_DIGEST_HOUR": "0"}, ("digest_hour", 0)),
    ({"KB_DIGEST_HOUR": " 23 "}, ("digest_hour", 23)),
    ({"KB_FETCH_RETRIES": "0"}, ("fetch_retries", 0)),
    ({"KB_EXTRACT_PROCESSES": "0"}, ("extract_processes", 0)),
    ({"KB_FETCH_HOST_DELAY": "0"}, ("fetch_host_delay", 0.0)),
    ({"KB_FETCH_READ_TIMEOUT": "0.25"}, ("fetch_read_timeout", 0.25)),
    ({"KB_SMTP_PORT": "65535"}, ("smtp_port", 65535)),
    ({"KB_SMTP_HOST": " mail.lab.example "}, ("smtp_host", "mail.lab.example")),
    ({"KB_SMTP_HOST": "::1"}, ("smtp_host", "::1")),
    ({"KB_QUEUE_URL": ""}, ("queue_url", "")),
    ({"KB_QUEUE_URL": "redis://localhost:6379/0"}, ("queue_url", "redis://localhost:6379/0")),
    ({"KB_QUEUE_URL": "rediss://:pw@redis.lab.example:6380"}, ("queue_url", "rediss://:pw@redis.lab.example:6380")),
    ({"KB_QUEUE_URL": "unix:///run/redis/redis.sock?db=2"}, ("queue_url", "unix:///run/redis/redis.sock?db=2")),
    ({"KB_QUEUE_URL": "redis://[::1]:6379"}, ("queue_url", "redis://[::1]:6379")),
])
def test_edge_values_are_accepted(
    tmp_path: Path, environ: dict[str, str], expected: tuple[str, object]
) -> None:
    name, value = expected
    assert getattr(load_settings(tmp_path, environ=environ), name) == value


def test_the_queue_password_is_never_shown(tmp_path: Path) -> None:
    """KB_QUEUE_URL may hold the Redis password: masked in errors, left out of the settings' repr."""
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={"KB_QUEUE_URL": "redis://:s3cret-pw@redis.lab.example:6379/x"})
    message = str(caught.value)
    assert "s3cret-pw" not in message and "redis://:***@redis.lab.example:6379/x" in message
    settings = load_settings(tmp_path, environ={"KB_QUEUE_URL": "redis://:s3cret-pw@redis.lab.example/0",
                                                "KB_SMTP_PASSWORD": "other-s3cret"})
    assert "s3cret" not in repr(settings)
    assert redacted_url(settings.queue_url) == "redis://:***@redis.lab.example/0"
    assert redacted_url("redis://localhost:6379/0") == "redis://localhost:6379/0"
