"""SMTP sending against a real local server (aiosmtpd): settings errors in words, refusals per message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from kb.digest.mail import MailError, RecipientRefused, SmtpConfig, SmtpSession, header_safe
from kb.errors import SettingsError
from tests.factories import make_settings
from tests.smtpserver import LocalSMTPServer

SENDER = "Media monitoring <digest@lab.example>"


@pytest.fixture
def smtp_server() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


def _config(server: LocalSMTPServer, **overrides: object) -> SmtpConfig:
    values: dict[str, object] = {"host": server.host, "port": server.port, "security": "none", "user": "",
                                 "password": "", "sender": SENDER, "timeout": 5.0}
    values.update(overrides)
    return SmtpConfig(**values)  # type: ignore[arg-type]


def _message(to: str, subject: str = "Hello") -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Body\n")
    return message


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("overrides", "named"), [
    ({}, ["smtp_host (KB_SMTP_HOST)", "smtp_sender (KB_SMTP_SENDER)"]),
    ({"smtp_host": "mail.lab.example"}, ["smtp_sender (KB_SMTP_SENDER)"]),
    ({"smtp_sender": "digest@lab.example"}, ["smtp_host (KB_SMTP_HOST)"]),
])
def test_missing_smtp_settings_are_named(tmp_path: Path, overrides: dict[str, str], named: list[str]) -> None:
    settings = make_settings(tmp_path, **overrides)
    with pytest.raises(SettingsError) as caught:
        SmtpConfig.from_settings(settings)
    for name in named:
        assert name in str(caught.value)


def test_a_sender_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_host="mail.lab.example", smtp_sender="the lab")
    with pytest.raises(SettingsError, match="smtp_sender"):
        SmtpConfig.from_settings(settings)


def test_settings_make_a_config_with_the_password_hidden(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_host=" mail.lab.example ", smtp_port=465, smtp_security="tls",
                             smtp_user="digest", smtp_password="s3cret", smtp_sender=SENDER)
    config = SmtpConfig.from_settings(settings)
    assert (config.host, config.port, config.security, config.sender_address) == (
        "mail.lab.example", 465, "tls", "digest@lab.example")
    assert "s3cret" not in repr(config)


def test_connection_refused_names_host_and_port() -> None:
    config = SmtpConfig("127.0.0.1", _closed_port(), "none", "", "", SENDER, 2.0)
    with pytest.raises(MailError) as caught:
        SmtpSession(config).open()
    assert "smtp_host" in str(caught.value) and "smtp_port" in str(caught.value)


def test_starttls_not_offered_names_the_security_setting(smtp_server: LocalSMTPServer) -> None:
    with pytest.raises(MailError, match="STARTTLS.*smtp_security"):
        SmtpSession(_config(smtp_server, security="starttls")).open()


def test_tls_against_a_plain_server_names_the_security_setting(smtp_server: LocalSMTPServer) -> None:
    with pytest.raises(MailError, match="smtp_security"):
        SmtpSession(_config(smtp_server, security="tls")).open()


def test_a_refused_login_names_user_and_password() -> None:
    with LocalSMTPServer(users={"digest": "right password"}) as server:
        with pytest.raises(MailError) as caught:
            SmtpSession(_config(server, user="digest", password="wrong password")).open()
        assert "smtp_user" in str(caught.value) and "smtp_password" in str(caught.value)
        assert "535" in str(caught.value)
        assert "wrong password" not in str(caught.value)

        with SmtpSession(_config(server, user="digest", password="right password")) as smtp:
            smtp.send(_message("a@partner.example"), "a@partner.example")
        assert server.envelope_recipients() == ["a@partner.example"]


def test_one_session_sends_each_recipient_a_message_despite_a_refusal(smtp_server: LocalSMTPServer) -> None:
    smtp_server.refuse.add("gone@partner.example")
    with SmtpSession(_config(smtp_server)) as smtp:
        smtp.send(_message("a@partner.example"), "a@partner.example")
        with pytest.raises(RecipientRefused) as caught:
            smtp.send(_message("gone@partner.example"), "gone@partner.example")
        smtp.send(_message("b@partner.example"), "b@partner.example")
    assert caught.value.recipient == "gone@partner.example"
    assert caught.value.answer.startswith("550 5.1.1")
    assert "mailbox unavailable" in caught.value.answer
    assert [r.recipients for r in smtp_server.received] == [("a@partner.example",), ("b@partner.example",)]
    assert {r.envelope_from for r in smtp_server.received} == {"digest@lab.example"}


def test_a_server_closing_the_session_is_a_session_error(smtp_server: LocalSMTPServer) -> None:
    smtp_server.close_after = 1
    with SmtpSession(_config(smtp_server)) as smtp:
        smtp.send(_message("a@partner.example"), "a@partner.example")
        with pytest.raises(MailError, match="421"):
            smtp.send(_message("b@partner.example"), "b@partner.example")
        with pytest.raises(MailError):
            smtp.send(_message("c@partner.example"), "c@partner.example")
    assert smtp_server.envelope_recipients() == ["a@partner.example"]


def test_sending_without_an_open_session_is_an_error(smtp_server: LocalSMTPServer) -> None:
    with pytest.raises(MailError, match="not open"):
        SmtpSession(_config(smtp_server)).send(_message("a@partner.example"), "a@partner.example")


@pytest.mark.parametrize(("raw", "safe"), [
    ("Pay cut\r\nBcc: spy@evil.example", "Pay cut Bcc: spy@evil.example"),
    ("a\nb\rc\x00d\x1be\u2028f\x85g", "a b c d e f g"),
    ("  spaced   out  ", "spaced out"),
])
def test_header_safe_removes_line_breaks_and_control_characters(raw: str, safe: str) -> None:
    assert header_safe(raw) == safe
