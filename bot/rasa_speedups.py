"""The same check of action-server answers as Rasa's, with the validator built once.

Rasa 3.6 checks every custom action's answer with `jsonschema.validate(result,
schema)`, which first validates the schema itself against JSON Schema's
meta-schema: about 20 ms per call on these 2-core machines, for a schema that never
changes. Each customer message runs two or three custom actions, and py-spy showed
this check taking most of the Rasa server's time under load (README, "Benchmarks"). Here the
validator is made and its schema checked once; every answer is still validated in
full and a bad one raises the same `ValidationError` with Rasa's own explanation.

Installed by the widget channel when Rasa builds it (credentials.yml), because
Rasa has no hook of its own for this.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_ORIGINAL = RemoteAction._validate_action_result


@cache
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error: ValidationError | None = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    """Use the cached validator in this Rasa process (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result


def uninstall() -> None:
    RemoteAction._validate_action_result = _ORIGINAL
