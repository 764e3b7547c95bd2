from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from kb.errors import SettingsError
from kb.settings import describe_settings, load_settings

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


@pytest.mark.parametrize(("environ", "named"), [
    ({"KB_SECURE_COOKIES": "maybe"}, "KB_SECURE_COOKIES"),
    ({"KB_FETCH_ALLOW_PRIVATE": "not-a-network"}, "KB_FETCH_ALLOW_PRIVATE"),
    ({"KB_SMTP_SECURITY": "ssl3"}, "KB_SMTP_SECURITY"),
    ({"KB_WEB_THREADS": "0"}, "KB_WEB_THREADS"),
])
def test_bad_values_name_the_setting(tmp_path: Path, environ, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(tmp_path, environ=environ)
