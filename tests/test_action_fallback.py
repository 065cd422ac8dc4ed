"""action_clarify_or_handoff: ask once which topic was meant, then bring in a person."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionClarifyOrHandoff
from tests.action_helpers import action, bot, parse_data, responses, slot_sets, slots, user

RANKING = [
    ("nlu_fallback", 0.35),
    ("request_invoice_copy", 0.3),
    ("greet", 0.2),
    ("report_already_paid", 0.1),
    ("ask_contact_info", 0.05),
]


@pytest.mark.parametrize(
    ("language", "title_1", "title_2"),
    [("fi", "Laskukopio", "Olen jo maksanut"), ("en", "Invoice copy", "I've already paid")],
)
async def test_first_misunderstanding_offers_the_two_likeliest_topics(
    domain: dict, language: str, title_1: str, title_2: str
) -> None:
    said = parse_data("paperi ei tullut perille", "nlu_fallback", 0.35, ranking=RANKING)
    tracker = Tracker(
        sender_id=f"clarify-{language}",
        slots=slots(language=language),
        latest_message=said,
        events=[
            action("action_listen"),
            user("Hei", "greet"),
            bot("Hei ja tervetuloa!", "utter_greet"),
            action("action_listen"),
            user("paperi ei tullut perille", "nlu_fallback", confidence=0.35, ranking=RANKING),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionClarifyOrHandoff().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_clarify"]
    message = dispatcher.messages[0]
    # greet has no topic button, so the next labelled intent takes the second place.
    assert (message["topic_1"], message["topic_2"]) == (
        "request_invoice_copy",
        "report_already_paid",
    )
    assert (message["topic_1_title"], message["topic_2_title"]) == (title_1, title_2)
    assert slot_sets(events) == {"handoff_reason": None, "needs_handoff": False}


async def test_without_a_good_guess_the_common_topics_are_offered(domain: dict) -> None:
    ranking = [("out_of_scope", 0.8), ("greet", 0.1)]
    said = parse_data("mikä on elämän tarkoitus", "out_of_scope", 0.8, ranking=ranking)
    tracker = Tracker(
        sender_id="clarify-defaults",
        slots=slots(),
        latest_message=said,
        events=[
            action("action_listen"),
            user("mikä on elämän tarkoitus", "out_of_scope", confidence=0.8, ranking=ranking),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    await ActionClarifyOrHandoff().run(dispatcher, tracker, domain)

    message = dispatcher.messages[0]
    assert (message["topic_1"], message["topic_2"]) == (
        "request_due_date_extension",
        "request_payment_plan",
    )
    assert (message["topic_1_title"], message["topic_2_title"]) == (
        "Eräpäivän siirto",
        "Maksusuunnitelma",
    )


async def test_second_misunderstanding_in_a_row_brings_in_a_person(domain: dict) -> None:
    said = parse_data("no se juttu siinä", "out_of_scope", 0.6, ranking=RANKING)
    tracker = Tracker(
        sender_id="clarify-twice",
        slots=slots(),
        latest_message=said,
        events=[
            action("action_listen"),
            user("paperi ei tullut perille", "nlu_fallback", confidence=0.35, ranking=RANKING),
            action("action_clarify_or_handoff"),
            bot("En ole varma, ymmärsinkö oikein.", "utter_clarify"),
            action("action_listen"),
            user("no se juttu siinä", "out_of_scope", confidence=0.6, ranking=RANKING),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionClarifyOrHandoff().run(dispatcher, tracker, domain)

    assert slot_sets(events) == {"handoff_reason": "fallback", "needs_handoff": True}
    assert dispatcher.messages == []  # the handoff intro speaks next


async def test_misunderstanding_after_an_understood_message_asks_again(domain: dict) -> None:
    said = parse_data("entäs se toinen juttu", "nlu_fallback", 0.3, ranking=RANKING)
    tracker = Tracker(
        sender_id="clarify-again-later",
        slots=slots(),
        latest_message=said,
        events=[
            action("action_listen"),
            user("paperi ei tullut perille", "nlu_fallback", confidence=0.35, ranking=RANKING),
            bot("En ole varma, ymmärsinkö oikein.", "utter_clarify"),
            action("action_listen"),
            user("/request_invoice_copy", "request_invoice_copy", confidence=1.0),
            bot(
                "Jotta löydän oikean laskun, tarvitsen laskun numeron.", "utter_ask_invoice_number"
            ),
            action("action_listen"),
            user("entäs se toinen juttu", "nlu_fallback", confidence=0.3, ranking=RANKING),
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()

    events = await ActionClarifyOrHandoff().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_clarify"]
    assert slot_sets(events)["needs_handoff"] is False
