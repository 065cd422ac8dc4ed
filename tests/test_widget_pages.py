"""The demo pages and RASA_PUBLIC_URL, without a browser (tests/test_widget_browser.py has one)."""

from __future__ import annotations

import re

import pytest

from bot.config import ConfigError, Settings
from bot.widget import page_headers, render_page

ENV = {"HELPDESK_API_TOKEN": "test-token"}


def test_rasa_public_url_follows_the_rasa_port_unless_set() -> None:
    assert Settings.from_env(ENV).rasa_public_url == "http://localhost:5005"
    assert Settings.from_env({**ENV, "RASA_PORT": "6006"}).rasa_public_url == (
        "http://localhost:6006"
    )
    configured = Settings.from_env({**ENV, "RASA_PUBLIC_URL": "https://chat.example.fi/rasa/"})
    assert configured.rasa_public_url == "https://chat.example.fi/rasa"


@pytest.mark.parametrize("wrong", ["chat.example.fi", "ftp://example.fi", "https://"])
def test_a_wrong_rasa_public_url_names_the_variable(wrong: str) -> None:
    with pytest.raises(ConfigError, match="RASA_PUBLIC_URL"):
        Settings.from_env({**ENV, "RASA_PUBLIC_URL": wrong})


@pytest.mark.parametrize(
    ("language", "other", "switch"), [("fi", "/en", "In English"), ("en", "/", "Suomeksi")]
)
def test_each_page_embeds_the_widget_with_one_script_tag(
    language: str, other: str, switch: str
) -> None:
    settings = Settings(helpdesk_api_token="x", rasa_public_url="https://chat.example.fi")
    html = render_page(settings, language)
    assert f'<html lang="{language}">' in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == [
        '<script src="/widget.js" data-server="https://chat.example.fi" '
        f'data-lang="{language}" data-color="#0b5cab" defer>'
    ]
    assert re.search(rf'<a class="lang-switch" href="{re.escape(other)}"[^>]*>{switch}</a>', html)
    assert "asiakaspalvelu@example.com" in html
    # Opening hours come from OPENING_HOURS, in the page's language.
    assert ("ma–pe klo 8.00–16.00" if language == "fi" else "Mon–Fri 8:00–16:00") in html


def test_the_public_url_is_escaped_in_the_page() -> None:
    settings = Settings(helpdesk_api_token="x", rasa_public_url='https://a.example/"><b>x')
    assert '"><b>x' not in render_page(settings, "fi")


def test_pages_allow_no_inline_script_and_sockets_only_to_rasa() -> None:
    headers = page_headers(Settings(helpdesk_api_token="x", rasa_public_url="https://chat.ex.fi"))
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "connect-src 'self' https://chat.ex.fi wss://chat.ex.fi" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
