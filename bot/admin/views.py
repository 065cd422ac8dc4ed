"""The admin area's pages: inbox, labels, training, models and the dashboard.

Routes (admins only; agents get 403, anonymous users the sign-in page):
    GET  /admin/inbox                       customer messages from the logs, filters
    GET  /admin/inbox.csv                   the same, as a spreadsheet (masked too)
    GET  /admin/inbox/similar/<key>         messages like one, for bulk labelling
    POST /admin/inbox/label                 label selected messages (or dismiss them)
    GET  /admin/labels                      every label, what changed from the prediction
    POST /admin/labels/<key>/undo           take a label back
    GET  /admin/training                    start a run; the runs so far
    POST /admin/training                    start a run (one at a time)
    GET  /admin/training/<id>               progress, live log, the comparison
    GET  /admin/models                      models, the active one; activate, roll back
    POST /admin/models/<id>/activate
    POST /admin/models/rollback
    GET  /admin/dashboard                   containment, handoffs, promises, ratings
    GET  /admin/api/inbox, /admin/api/runs/<id>   the same as JSON
    GET  /admin/static/<name>               the area's script
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect, text

from actions.outbox import Outbox
from bot.accounts.guard import require_user
from bot.accounts.web import render_staff, staff_asset, staff_templates
from bot.admin import registry
from bot.admin.charts import bar_chart
from bot.admin.dashboard import dashboard_charts
from bot.admin.inbox import InboxFilter, InboxItem, similar_items
from bot.admin.labels import LabelError, label_history, list_labels
from bot.admin.rasa_models import RasaModelError
from bot.admin.runs import RunBusy, get_run, give_up_stale, list_runs, run_under_way
from bot.admin.service import INBOX_DAYS, Admin, utc_now
from bot.admin.summary import FIGURES, percent
from bot.admin.trainer import NOISE
from bot.inbound import MAX_INTEGER
from bot.stack import PROJECT_ROOT

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
ASSETS = {"admin.js": "text/javascript"}
LOG_TAIL_LINES = 200
DISMISS = "__dismiss__"


def admin_of(request: Request) -> Admin:
    app = request.app
    return Admin(app.ctx.settings, app.ctx.engine, app.ctx.tracker_engine, app.ctx.log_cache)


class FilterError(ValueError):
    pass


def parse_filters(args: Any) -> InboxFilter:
    """The inbox filters from query arguments; a wrong value is a kind error, not a 500."""

    def day(name: str) -> date | None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise FilterError(f"Write the date as YYYY-MM-DD (got {raw[:20]!r}).") from None

    low = (args.get("low_confidence") or "").strip()
    try:
        low_confidence = float(low) if low else None
    except ValueError:
        raise FilterError("Low confidence must be a number between 0 and 1.") from None
    if low_confidence is not None and not 0 < low_confidence <= 1:
        raise FilterError("Low confidence must be a number between 0 and 1.")
    language = args.get("language") or None
    if language not in (None, "fi", "en"):
        raise FilterError("Language is fi or en.")
    return InboxFilter(
        low_confidence=low_confidence,
        fallback=args.get("fallback") == "1",
        handed_off=args.get("handed_off") == "1",
        language=language,
        intent=(args.get("intent") or "").strip() or None,
        since=day("since"),
        until=day("until"),
        search=(args.get("search") or "").strip()[:200] or None,
    )


def stored_id(value: int) -> bool:
    """Whether a path's id could be a row id: the database can't even compare larger ones."""
    return 0 < value <= MAX_INTEGER


def safe_back(target: str | None, default: str = "/admin/inbox") -> str:
    if (
        target
        and target.startswith("/admin/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return default


def comparison_view(report: dict[str, Any]) -> dict[str, Any]:
    """Rows and a chart for the template, from a bot.admin.evaluation report."""
    rows = []
    for source, title in (
        ("holdout", "Held-out test set"),
        ("labelled", "Newly labelled messages"),
    ):
        models = report.get("sources", {}).get(source, {})
        active = models.get("active", {}).get("languages", {})
        candidate = models.get("candidate", {}).get("languages", {})
        for language in sorted(set(active) | set(candidate)):
            before, after = active.get(language, {}), candidate.get(language, {})
            figures = []
            for key, name in FIGURES:
                old, new = before.get(key), after.get(key)
                if old is None and new is None:
                    continue
                better = key != "false_escalation"
                delta = None if old is None or new is None else new - old
                trend = (
                    "same"
                    if delta is None or abs(delta) < 1e-9
                    else "up"
                    if (delta > 0) == better
                    else "down"
                )
                figures.append(
                    {
                        "name": name,
                        "active": percent(old),
                        "candidate": percent(new),
                        "trend": trend,
                    }
                )
            rows.append(
                {
                    "source": title,
                    "language": language,
                    "messages": after.get("messages") or before.get("messages") or 0,
                    "figures": figures,
                }
            )
    holdout = report.get("sources", {}).get("holdout", {})
    before_f1 = holdout.get("active", {}).get("per_intent_f1", {})
    after_f1 = holdout.get("candidate", {}).get("per_intent_f1", {})
    intents = sorted(set(before_f1) | set(after_f1))
    chart = bar_chart(
        "F1 per intent on the held-out test set",
        intents,
        {
            "active": [before_f1.get(intent) for intent in intents],
            "candidate": [after_f1.get(intent) for intent in intents],
        },
        max_value=1.0,
        width=900,
        height=320,
    )
    return {"rows": rows, "chart": chart, "changed": report.get("changed", [])}


def inbox_as_csv(items: list[InboxItem]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["text", "count", "language", "predicted_intent", "confidence", "outcomes", "last_seen"]
    )
    for item in items:
        outcomes = ";".join(f"{name}:{count}" for name, count in sorted(item.outcomes.items()))
        confidence = "" if item.confidence is None else f"{item.confidence:.3f}"
        text_cell = item.text
        if text_cell[:1] in ("=", "+", "-", "@"):  # never a formula in a spreadsheet
            text_cell = "'" + text_cell
        writer.writerow(
            [
                text_cell,
                item.count,
                item.language,
                item.intent or "",
                confidence,
                outcomes,
                item.last_seen.isoformat(),
            ]
        )
    return buffer.getvalue()


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    kept = [line for line in text.splitlines() if line.strip() and not NOISE.search(line)]
    return kept[-lines:]


async def spawn_training(request: Request, run_id: int) -> None:
    """Train in a process of its own: the service keeps answering, the run survives a reload."""
    admin = admin_of(request)
    output = admin.project.runs_dir / f"run-{run_id}.out"
    with open(output, "ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.admin",
            "train",
            "--run",
            str(run_id),
            "--quiet",
            cwd=str(PROJECT_ROOT),
            env=dict(os.environ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    # Reap the process when it ends (no zombie); the run row tells the outcome.
    request.app.add_task(process.wait())


def admin_blueprint() -> Blueprint:
    """A new blueprint per app, so several apps can live in one process (tests)."""
    blueprint = Blueprint("admin_loop")
    environment = staff_templates(str(TEMPLATES))

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
        return render_staff(request, template, status=status, environment=environment, **context)

    # --- inbox --------------------------------------------------------------
    @blueprint.get("/admin/inbox")
    @require_user("admin")
    async def inbox(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        error = ""
        try:
            filters = parse_filters(request.args)
        except FilterError as problem:
            filters, error = InboxFilter(), str(problem)
        labelled = request.args.get("labelled_too") == "1"
        items = await asyncio.to_thread(admin.inbox, filters, labelled=labelled)
        return page(
            request,
            "inbox.html",
            status=400 if error else 200,
            items=items[:500],
            total=len(items),
            filters=filters,
            labelled_too=labelled,
            intents=admin.intents(),
            error=error,
            inbox_days=INBOX_DAYS,
            query=request.query_string,
            done=request.args.get("done", ""),
            back=request.path + (f"?{request.query_string}" if request.query_string else ""),
        )

    @blueprint.get("/admin/api/inbox")
    @require_user("admin", api=True)
    async def inbox_json(request: Request) -> HTTPResponse:
        try:
            filters = parse_filters(request.args)
        except FilterError as problem:
            return json({"error": str(problem)}, status=400)
        items = await asyncio.to_thread(
            admin_of(request).inbox, filters, labelled=request.args.get("labelled_too") == "1"
        )
        return json(
            {
                "items": [
                    {
                        "key": item.key,
                        "text": item.text,
                        "count": item.count,
                        "language": item.language,
                        "intent": item.intent,
                        "confidence": item.confidence,
                        "outcomes": item.outcomes,
                        "handoff_reasons": item.handoff_reasons,
                        "last_seen": item.last_seen.isoformat(),
                    }
                    for item in items
                ]
            }
        )

    @blueprint.get("/admin/inbox.csv")
    @require_user("admin")
    async def inbox_csv(request: Request) -> HTTPResponse:
        """The filtered inbox as a spreadsheet; masked like the page."""
        try:
            filters = parse_filters(request.args)
        except FilterError as problem:
            return text(str(problem), status=400)
        items = await asyncio.to_thread(
            admin_of(request).inbox, filters, labelled=request.args.get("labelled_too") == "1"
        )
        return text(
            inbox_as_csv(items),
            content_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="inbox.csv"',
                "Cache-Control": "no-store",
            },
        )

    @blueprint.get("/admin/inbox/similar/<key:str>")
    @require_user("admin")
    async def similar(request: Request, key: str) -> HTTPResponse:
        admin = admin_of(request)
        items = await asyncio.to_thread(admin.inbox)
        target = next((item for item in items if item.key == key), None)
        if target is None:
            return page(
                request,
                "inbox_gone.html",
                status=404,
                message="That message is no longer in the inbox.",
            )
        return page(
            request,
            "similar.html",
            target=target,
            items=similar_items(items, target),
            intents=admin.intents(),
            back=f"/admin/inbox/similar/{key}",
        )

    @blueprint.post("/admin/inbox/label")
    @require_user("admin")
    async def label(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        form = request.form or {}
        keys = [key for key in form.getlist("key") or [] if key][:500]
        choice = (form.get("intent") or "").strip()
        back = safe_back(form.get("back"))
        intent = None if choice == DISMISS or form.get("dismiss") else choice
        if intent == "":
            return page(
                request,
                "inbox_gone.html",
                status=400,
                message="Pick an intent, or choose “Not a training example”.",
                back=back,
            )
        try:
            labels = await asyncio.to_thread(admin.label, keys, intent, request.ctx.user.username)
        except LabelError as error:
            return page(request, "inbox_gone.html", status=400, message=str(error), back=back)
        joiner = "&" if "?" in back else "?"
        return redirect(f"{back}{joiner}done=labelled-{len(labels)}", status=303)

    # --- labels -------------------------------------------------------------
    @blueprint.get("/admin/labels")
    @require_user("admin")
    async def labels(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        found = await asyncio.to_thread(list_labels, admin.engine)
        history = await asyncio.to_thread(label_history, admin.engine)
        return page(
            request,
            "labels.html",
            labels=found,
            history=history,
            done=request.args.get("done", ""),
        )

    @blueprint.post("/admin/labels/<key:str>/undo")
    @require_user("admin")
    async def undo(request: Request, key: str) -> HTTPResponse:
        admin = admin_of(request)
        removed = await asyncio.to_thread(admin.undo_label, key, request.ctx.user.username)
        return redirect(f"/admin/labels?done={'undone' if removed else 'gone'}", status=303)

    # --- training -----------------------------------------------------------
    @blueprint.get("/admin/training")
    @require_user("admin")
    async def training(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        give_up_stale(admin.engine, utc_now())
        return page(
            request,
            "training.html",
            runs=list_runs(admin.engine),
            under_way=run_under_way(admin.engine),
            labels=sum(1 for label in list_labels(admin.engine) if label.intent),
            busy=request.args.get("busy", ""),
        )

    @blueprint.post("/admin/training")
    @require_user("admin")
    async def start_training(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        try:
            run = await asyncio.to_thread(admin.new_run, request.ctx.user.username)
        except RunBusy as busy:
            return redirect(f"/admin/training/{busy.run.id}?busy=1", status=303)
        await spawn_training(request, run.id)
        return redirect(f"/admin/training/{run.id}", status=303)

    @blueprint.get("/admin/training/<run_id:int>")
    @require_user("admin")
    async def training_run(request: Request, run_id: int) -> HTTPResponse:
        admin = admin_of(request)
        run = get_run(admin.engine, run_id) if stored_id(run_id) else None
        if run is None:
            raise NotFound(f"no training run {run_id}")
        model = next((m for m in registry.list_models(admin.engine) if m.run_id == run.id), None)
        return page(
            request,
            "run.html",
            run=run,
            log=log_tail(run.log_path),
            comparison=comparison_view(run.evaluation) if run.evaluation else None,
            model=model,
            busy=request.args.get("busy", ""),
        )

    @blueprint.get("/admin/api/runs/<run_id:int>")
    @require_user("admin", api=True)
    async def run_json(request: Request, run_id: int) -> HTTPResponse:
        admin = admin_of(request)
        run = get_run(admin.engine, run_id) if stored_id(run_id) else None
        if run is None:
            return json({"error": f"no training run {run_id}"}, status=404)
        return json({**run.as_json(), "log": log_tail(run.log_path)})

    # --- models -------------------------------------------------------------
    @blueprint.get("/admin/models")
    @require_user("admin")
    async def models(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        active = await asyncio.to_thread(admin.active_model)
        return page(
            request,
            "models.html",
            models=registry.list_models(admin.engine),
            active=active,
            history=registry.activations(admin.engine)[:20],
            rollback_to=registry.rollback_target(admin.engine),
            done=request.args.get("done", ""),
            error=request.args.get("error", ""),
        )

    async def change_model(request: Request, action) -> HTTPResponse:
        try:
            model = await asyncio.to_thread(action)
        except (RasaModelError, registry.RegistryError) as error:
            return page(
                request,
                "inbox_gone.html",
                status=409,
                message=f"The model was not changed: {error}",
                back="/admin/models",
            )
        return redirect(f"/admin/models?done={model.id}", status=303)

    @blueprint.post("/admin/models/<model_id:int>/activate")
    @require_user("admin")
    async def activate(request: Request, model_id: int) -> HTTPResponse:
        admin = admin_of(request)
        return await change_model(
            request, lambda: admin.activate(model_id, request.ctx.user.username)
        )

    @blueprint.post("/admin/models/rollback")
    @require_user("admin")
    async def rollback(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        return await change_model(request, lambda: admin.rollback(request.ctx.user.username))

    # --- deliveries ---------------------------------------------------------
    @blueprint.get("/admin/deliveries")
    @require_user("admin")
    async def deliveries(request: Request) -> HTTPResponse:
        """What the actions' outbox could not deliver: refused items and what waits."""
        outbox = Outbox(request.app.ctx.settings.outbox_path)
        parked = await asyncio.to_thread(outbox.parked)
        waiting, oldest = await asyncio.to_thread(outbox.waiting)
        return page(
            request,
            "deliveries.html",
            parked=[(item, _utc(item.created_at)) for item in parked],
            waiting=waiting,
            oldest=_utc(oldest) if oldest is not None else None,
        )

    # --- dashboard ----------------------------------------------------------
    @blueprint.get("/admin/dashboard")
    @require_user("admin")
    async def dashboard(request: Request) -> HTTPResponse:
        admin = admin_of(request)
        try:
            days = min(max(int(request.args.get("days", "14")), 1), 366)
        except ValueError:
            days = 14
        board = await asyncio.to_thread(admin.dashboard, days)
        return page(
            request, "dashboard.html", board=board, charts=dashboard_charts(board), days=days
        )

    @blueprint.get("/admin/static/<name>")
    @require_user("admin")
    async def asset(request: Request, name: str) -> HTTPResponse:
        return await staff_asset(STATIC, ASSETS, name)

    return blueprint


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)
