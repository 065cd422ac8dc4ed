"""Liveness check for process managers, load balancers and the test fixture."""

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json


def health_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("health")

    @blueprint.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    return blueprint
