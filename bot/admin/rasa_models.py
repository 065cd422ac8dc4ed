"""Rasa's model API: which model the server runs, and loading another one.

`PUT /model` loads the new model next to the old one and swaps them when it is
ready, so conversations keep going (Rasa's event loop is busy for the few seconds
the load takes; messages wait, none is lost).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path


class RasaModelError(RuntimeError):
    """Rasa did not load the model; the message says why."""


@dataclass(frozen=True)
class RasaModelApi:
    url: str
    token: str
    timeout: float = 300.0

    def _request(self, method: str, path: str, body: dict | None = None) -> bytes:
        query = urllib.parse.urlencode({"token": self.token})
        request = urllib.request.Request(
            f"{self.url.rstrip('/')}{path}?{query}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise RasaModelError(_rasa_message(error)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RasaModelError(
                f"the Rasa server at {self.url} did not answer ({reason})"
            ) from None

    def loaded_model(self) -> str | None:
        """The file name of the model the server runs (None: no model loaded)."""
        try:
            status = json.loads(self._request("GET", "/status") or b"{}")
        except RasaModelError as error:
            if "no model" in str(error).lower() or "409" in str(error):
                return None
            raise
        return status.get("model_file")

    def load(self, model: Path) -> None:
        """Make the server answer with `model` (an absolute path on the same machine)."""
        if not model.is_file():
            raise RasaModelError(f"the model file {model} does not exist")
        self._request("PUT", "/model", {"model_file": str(model.resolve())})
        loaded = self.loaded_model()
        if loaded != model.name:
            raise RasaModelError(f"the server reports {loaded!r} after loading {model.name}")


def _rasa_message(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read() or b"{}").get("message") or ""
    except ValueError:
        detail = ""
    return f"Rasa answered {error.code}" + (f": {detail}" if detail else "")
