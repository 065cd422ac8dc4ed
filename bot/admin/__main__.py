"""Command line of the admin loop, for people, cron and CI:

    python -m bot.admin inbox [--low-confidence 0.6] [--fallback] [--handed-off]
                              [--language fi|en] [--intent NAME] [--since D] [--until D] [--json]
    python -m bot.admin label KEY [KEY ...] (--intent NAME | --dismiss) [--by NAME]
    python -m bot.admin unlabel KEY [KEY ...] [--by NAME]
    python -m bot.admin labels [--history] [--json]
    python -m bot.admin train [--by NAME]          # trains, then compares with the active model
    python -m bot.admin evaluate [--run ID] [--json]
    python -m bot.admin models
    python -m bot.admin activate (MODEL_ID | --run ID) [--by NAME]
    python -m bot.admin rollback [--by NAME]
    python -m bot.admin dashboard [--days 14] [--json]

Reads settings like the bot service (`.env`, then the environment). Exit status 0
when the step did what was asked, 1 when it could not (the reason is printed).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date

from dotenv import load_dotenv

from bot.admin import registry
from bot.admin.evaluation import evaluate
from bot.admin.inbox import InboxFilter
from bot.admin.labels import LabelError, label_history, list_labels
from bot.admin.rasa_models import RasaModelError
from bot.admin.runs import SUCCEEDED, RunBusy, get_run, list_runs, update_run
from bot.admin.service import Admin
from bot.admin.summary import comparison_lines
from bot.admin.trainer import comparison_messages, execute
from bot.config import ConfigError, Settings
from bot.db import create_engine
from bot.migrations import upgrade


def _user(args: argparse.Namespace) -> str:
    return args.by or f"{getpass.getuser()} (cli)"


def cmd_inbox(admin: Admin, args: argparse.Namespace) -> int:
    """List customer messages from the logs, grouped, masked, newest problems first."""
    filters = InboxFilter(
        low_confidence=args.low_confidence,
        fallback=args.fallback,
        handed_off=args.handed_off,
        language=args.language,
        intent=args.intent,
        since=args.since,
        until=args.until,
        search=args.search,
    )
    items = admin.inbox(filters, labelled=args.all)[: args.limit]
    if args.json:
        print(json.dumps([_item_json(item) for item in items], ensure_ascii=False, indent=2))
        return 0
    for item in items:
        confidence = f"{item.confidence:.2f}" if item.confidence is not None else "-"
        outcomes = ",".join(f"{name}:{count}" for name, count in sorted(item.outcomes.items()))
        print(
            f"{item.key}  x{item.count:<3} {item.language}  {item.intent or '-'} ({confidence})"
            f"  [{outcomes}]  {item.text}"
        )
    print(f"{len(items)} message(s).", file=sys.stderr)
    return 0


def _item_json(item) -> dict:
    data = asdict(item)
    data["first_seen"] = item.first_seen.isoformat()
    data["last_seen"] = item.last_seen.isoformat()
    return data


def cmd_label(admin: Admin, args: argparse.Namespace) -> int:
    """Label inbox messages (by key) with an intent, or mark them not a training example."""
    intent = None if args.dismiss else args.intent
    labels = admin.label(args.keys, intent, _user(args))
    for label in labels:
        print(f"{label.key}  {label.intent or 'not a training example'}  ({label.training_file})")
    return 0


def cmd_unlabel(admin: Admin, args: argparse.Namespace) -> int:
    """Take labels back: the messages return to the inbox, their examples leave data/."""
    missing = [key for key in args.keys if not admin.undo_label(key, _user(args))]
    for key in args.keys:
        print(f"{key}  {'no such label' if key in missing else 'taken back'}")
    return 1 if missing else 0


def cmd_labels(admin: Admin, args: argparse.Namespace) -> int:
    """Every label: who decided what and when, and whether it differs from the prediction."""
    if args.history:
        return _print_history(admin, args.json)
    labels = list_labels(admin.engine)
    if args.json:
        rows = [{**asdict(label), "labelled_at": label.labelled_at.isoformat()} for label in labels]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for label in labels:
        change = "changed" if label.changed else "same"
        print(
            f"{label.labelled_at:%Y-%m-%d %H:%M} {label.labelled_by:<16} {label.key} "
            f"{label.predicted_intent or '-'} -> {label.intent or 'dismissed'} ({change})  "
            f"{label.text}"
        )
    return 0


def _print_history(admin: Admin, as_json: bool) -> int:
    events = label_history(admin.engine)
    if as_json:
        rows = [{**asdict(event), "done_at": event.done_at.isoformat()} for event in events]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for event in events:
        what = event.intent if event.action == "labelled" else event.action
        when = f"{event.done_at:%Y-%m-%d %H:%M}"
        print(f"{when} {event.done_by:<16} {event.key} {what}  {event.text}")
    return 0


def cmd_train(admin: Admin, args: argparse.Namespace) -> int:
    """Train a candidate model from data/ and compare it with the active one."""
    if args.run is not None:  # the admin page queued this run and started us
        run = get_run(admin.engine, args.run)
        if run is None or run.status != "queued":
            print(f"Run {args.run} is not waiting to start.", file=sys.stderr)
            return 1
    else:
        run = admin.new_run(_user(args))
    echo = None if args.quiet else (lambda line: print(line, flush=True))
    finished = execute(admin.engine, admin.project, admin.settings, run.id, echo=echo)
    if finished.status != SUCCEEDED:
        print(f"Training run {finished.id} failed: {finished.error}", file=sys.stderr)
        return 1
    print(f"Training run {finished.id} succeeded: {finished.model_path}")
    for line in comparison_lines(finished.evaluation or {}):
        print(line)
    return 0


def cmd_evaluate(admin: Admin, args: argparse.Namespace) -> int:
    """Compare a run's model (default: the newest trained) with the active model."""
    runs = [
        run for run in list_runs(admin.engine, 100) if run.model_path and run.model_path.is_file()
    ]
    run = next((r for r in runs if args.run is None or r.id == args.run), None)
    if run is None or run.model_path is None:
        print("There is no trained candidate model to evaluate.", file=sys.stderr)
        return 1
    active = admin.active_model()
    report = evaluate(active.path, run.model_path, comparison_messages(admin.engine, admin.project))
    update_run(admin.engine, run.id, evaluation=report, compared_with=active.name)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for line in comparison_lines(report):
            print(line)
    return 0


def cmd_models(admin: Admin, args: argparse.Namespace) -> int:
    """The known models, the active one marked."""
    admin.active_model()
    for model in registry.list_models(admin.engine):
        mark = "*" if model.active else " "
        missing = "" if model.exists else "  (file missing)"
        made = f"{model.created_at:%Y-%m-%d %H:%M}"
        print(f"{mark} {model.id:>3}  {made}  {model.name}  {model.note}{missing}")
    return 0


def cmd_activate(admin: Admin, args: argparse.Namespace) -> int:
    """Load a model into the running Rasa server (no restart) and make it the active one."""
    model_id = args.model_id
    if args.run is not None:
        run = get_run(admin.engine, args.run)
        found = next(
            (m for m in registry.list_models(admin.engine) if run and m.run_id == run.id), None
        )
        if found is None:
            print(f"Run {args.run} has no model.", file=sys.stderr)
            return 1
        model_id = found.id
    if model_id is None:
        print("Name the model: activate MODEL_ID or activate --run ID.", file=sys.stderr)
        return 1
    model = admin.activate(model_id, _user(args))
    print(f"Rasa now answers with {model.name}.")
    return 0


def cmd_rollback(admin: Admin, args: argparse.Namespace) -> int:
    """Go back to the model that was active before the current one."""
    model = admin.rollback(_user(args))
    print(f"Rolled back: Rasa now answers with {model.name}.")
    return 0


def cmd_dashboard(admin: Admin, args: argparse.Namespace) -> int:
    """Containment, handoffs by reason, promises kept and ratings per day."""
    board = admin.dashboard(days=args.days)
    rows = [
        {
            "day": day.day.isoformat(),
            "conversations": day.conversations,
            "contained": day.contained,
            "containment": day.containment,
            "handoffs_by_reason": day.handoffs_by_reason,
            "promises_kept": day.promises_kept,
            "promises_broken": day.promises_broken,
            "average_rating": day.average_rating,
        }
        for day in board.days
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("day         convs  contained  handoffs  kept/broken  rating")
    for row in rows:
        rating = f"{row['average_rating']:.1f}" if row["average_rating"] is not None else "-"
        handoffs = sum(row["handoffs_by_reason"].values())
        print(
            f"{row['day']}  {row['conversations']:>5}  {row['contained']:>9}  {handoffs:>8}"
            f"  {row['promises_kept']:>4}/{row['promises_broken']:<6}  {rating}"
        )
    return 0


Handler = Callable[[Admin, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=handler.__doc__)
        sub.set_defaults(handler=handler)
        return sub

    inbox = command("inbox", cmd_inbox)
    inbox.add_argument("--low-confidence", type=float, metavar="BELOW")
    inbox.add_argument("--fallback", action="store_true", help="only fallback / clarified")
    inbox.add_argument("--handed-off", action="store_true")
    inbox.add_argument("--language", choices=("fi", "en"))
    inbox.add_argument("--intent", help="predicted intent")
    inbox.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD")
    inbox.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD")
    inbox.add_argument("--search")
    inbox.add_argument("--all", action="store_true", help="include labelled messages")
    inbox.add_argument("--limit", type=int, default=200)
    inbox.add_argument("--json", action="store_true")

    label = command("label", cmd_label)
    label.add_argument("keys", nargs="+", metavar="KEY")
    choice = label.add_mutually_exclusive_group(required=True)
    choice.add_argument("--intent")
    choice.add_argument("--dismiss", action="store_true", help="not a training example")
    label.add_argument("--by", help="who labels (default: your login name)")

    unlabel = command("unlabel", cmd_unlabel)
    unlabel.add_argument("keys", nargs="+", metavar="KEY")
    unlabel.add_argument("--by", help="who takes the labels back (default: your login name)")

    labels = command("labels", cmd_labels)
    labels.add_argument("--json", action="store_true")
    labels.add_argument(
        "--history", action="store_true", help="every decision and undo, newest first"
    )

    train = command("train", cmd_train)
    train.add_argument("--by")
    train.add_argument("--run", type=int, help=argparse.SUPPRESS)
    train.add_argument("--quiet", action="store_true", help="no live log")

    evaluate_parser = command("evaluate", cmd_evaluate)
    evaluate_parser.add_argument("--run", type=int)
    evaluate_parser.add_argument("--json", action="store_true")

    command("models", cmd_models)

    activate = command("activate", cmd_activate)
    activate.add_argument("model_id", type=int, nargs="?")
    activate.add_argument("--run", type=int)
    activate.add_argument("--by")

    rollback = command("rollback", cmd_rollback)
    rollback.add_argument("--by")

    dashboard = command("dashboard", cmd_dashboard)
    dashboard.add_argument("--days", type=int, default=14)
    dashboard.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv()
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    upgrade(settings.helpdesk_db_url)
    admin = Admin(
        settings, create_engine(settings.helpdesk_db_url), create_engine(settings.tracker_store_url)
    )
    try:
        return args.handler(admin, args)
    except (LabelError, RunBusy, RasaModelError, registry.RegistryError) as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        admin.engine.dispose()
        admin.tracker_engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
