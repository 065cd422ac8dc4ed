"""Rasa's check of action-server answers still accepts good answers and refuses bad ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_speedups
from bot.channels.widget import WidgetInput

GOOD = {
    "events": [{"event": "slot", "name": "language", "value": "fi", "timestamp": None}],
    "responses": [{"response": "utter_greet"}],
}
BAD = [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 5}]},
    {"responses": ["not an object"]},
    ["not", "an", "object"],
]


@pytest.fixture
def action() -> Iterator[RemoteAction]:
    yield RemoteAction("action_anything", EndpointConfig("http://127.0.0.1:1/webhook"))
    rasa_speedups.uninstall()


@pytest.mark.parametrize("installed", [False, True])
def test_good_answers_pass_and_bad_ones_fail_the_same_way(
    action: RemoteAction, installed: bool
) -> None:
    if installed:
        rasa_speedups.install()
    assert action._validate_action_result(GOOD) is True
    for answer in BAD:
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(answer)


def test_the_widget_channel_installs_it_when_rasa_builds_it(
    action: RemoteAction, tmp_path: Path
) -> None:
    rasa_speedups.uninstall()
    WidgetInput.from_credentials(
        {
            "session_secret": "s" * 32,
            "allowed_origins": "http://x",
            "store_url": f"sqlite:///{tmp_path / 'widget.db'}",
        }
    )
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result
