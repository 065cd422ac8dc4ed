"""The 1-5 rating asked after an agent resolves a handed-off conversation.

Spec "Handoff" step 6: resolving resumes the bot and asks for a rating. The agent
console starts the form from outside, through Rasa's HTTP API:
`POST /conversations/<id>/tracker/events [{"event": "resume"}]`, then
`POST /conversations/<id>/execute {"name": "rating_form"}`. The customer answers
the way people do ("4", "4/5", "neljä", "five", "★★★★", a button), or ignores the
question and carries on with something else, which leaves the form (rules in
data/rules/rating.yml). An answer that isn't a rating is asked about once more;
after that the bot lets it go.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.conversation import latest_intent, latest_text
from actions.helpdesk import HelpdeskError, HelpdeskRejected
from actions.verified_form import INTERRUPTING_INTENTS, PatientForm, SlotValues, failure_events

logger = logging.getLogger(__name__)

FORM = "rating_form"
LOWEST, HIGHEST = 1, 5
# Ratings up to this one get an invitation to say more in their own words.
LOW_RATING = 2
# A second answer that isn't a rating ends the question: no nagging.
MAX_RATING_TRIES = 2

# Intents with their own rule while the rating is asked (data/rules/rating.yml):
# a customer who moves on leaves the question unanswered.
RATING_INTERRUPTIONS = INTERRUPTING_INTENTS | {"give_feedback", "thank"}

# Number words (Finnish with common inflections and the school-grade nouns
# ykkönen...vitonen, and English), read as digits before the patterns below.
NUMBER_WORDS = {
    "1": ("yksi", "yks", "yhden", "yhen", "ykkönen", "ykkosen", "ykkösen", "ykkonen", "one"),
    "2": ("kaksi", "kaks", "kahden", "kakkonen", "kakkosen", "two"),
    "3": ("kolme", "kolmen", "kolmonen", "kolmosen", "three"),
    "4": ("neljä", "nelja", "neljän", "neljan", "nelonen", "nelosen", "four"),
    "5": ("viisi", "viis", "viiden", "vitonen", "vitosen", "viitonen", "viitosen", "five"),
    "10": ("kymmenen", "kympin", "kymppi", "ten"),
}
_WORD_TO_DIGIT = {word: digit for digit, words in NUMBER_WORDS.items() for word in words}
_NUMBER_WORD = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _WORD_TO_DIGIT), key=len, reverse=True)) + r")\b"
)
FILLED_STARS = "★⭐🌟"
# "4/5", "4 / 5", "4 out of 5", "4 viidestä", "8/10", "80/100"
_FRACTION = re.compile(
    r"(?<![\d.,])(\d{1,3})\s*(?:/|out of|of|viidestä|viidesta|kymmenestä|kymmenesta)\s*"
    r"(5|10|100)?(?![\d.,]?\d)"
)
_DENOMINATOR_WORDS = {"viidestä": 5, "viidesta": 5, "kymmenestä": 10, "kymmenesta": 10}
# "4 tähteä", "5 stars", "3 pistettä"
_WITH_UNIT = re.compile(
    r"(?<![\d.,])([1-5])\s*(?:(?:tähte\w*|tähti|tähden|tahte\w*|tahti|stars?|pistett\w*|"
    r"pisteen|points?)\b|[★⭐🌟])"
)
# "arvosana 4", "arvioisin 4", "rating: 5", "score 3"
_AFTER_KEYWORD = re.compile(
    r"\b(?:arvosana\w*|arvio\w*|rating|rate|score|grade)\b[^\d]{0,15}?(?<![\d.,])([1-5])"
    r"(?![\d.,]?\d)"
)
_FULL_MARKS = re.compile(r"\b(?:täydet pisteet|taydet pisteet|full marks|top marks)\b")
# Words that may come with a bare number without changing what it means.
FILLERS = frozenset(
    """
    ehkä ehka noin vaikka sanoisin sanon annan antaisin annetaan annoin kai no niin joo juu
    ok okei okay kiitos kiitti kiitoksia paljon hyvä hyva ihan oma arvioni arvosana
    arvosanaksi arvosanan arvio arvioisin on olisi oli se tämä tama palvelu palvelulle
    palvelusta asiakaspalvelu asiakaspalvelulle minulta multa mun musta sulle teille
    i d i'd id im say would give gave it a an about maybe perhaps probably thanks thank
    you so my is was just well the service for hmm hm um uh öö oh yes sure that's thats
    rating score
    """.split()
)


def parse_rating(text: str) -> int | None:
    """The 1-5 rating in a customer's answer, or None if there isn't exactly one.

    Explicit forms count anywhere in the message ("Kiitos, 5/5!", "four stars",
    "★★★★☆"); a bare number only when the message is little else ("4", "ehkä
    kolme", "I'd say 4"), so "can I have 2 more weeks" is not read as a 2.
    """
    lowered = " ".join(str(text or "").lower().split())
    if not lowered:
        return None
    found = set()
    stars = sum(lowered.count(star) for star in FILLED_STARS)
    # "★★★★" is a 4; a single star next to a number is its unit ("5★").
    if stars > 1 or (stars and not re.search(r"\d", lowered)):
        found.add(stars)
    elif re.fullmatch(r"[*\s]+", lowered):
        found.add(lowered.count("*"))
    words = _NUMBER_WORD.sub(lambda match: _WORD_TO_DIGIT[match.group(1)], lowered)
    for match in _FRACTION.finditer(words):
        value = _scaled(match, words)
        if value is not None:
            found.add(value)
    found.update(int(match.group(1)) for match in _WITH_UNIT.finditer(words))
    found.update(int(match.group(1)) for match in _AFTER_KEYWORD.finditer(words))
    if _FULL_MARKS.search(lowered):
        found.add(HIGHEST)
    tokens = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+", words)
    left = [token for token in tokens if token not in FILLERS]
    if len(left) == 1 and left[0].isdigit():
        found.add(int(left[0]))
    valid = {value for value in found if LOWEST <= value <= HIGHEST}
    return valid.pop() if len(valid) == 1 and len(found) == 1 else None


def _scaled(match: re.Match[str], text: str) -> int | None:
    """ "8/10" -> 4: a rating on another scale, brought to 1-5."""
    number = int(match.group(1))
    denominator = match.group(2)
    if denominator is None:
        # "4 viidestä": the word carries the scale; "4 of" alone means nothing.
        word = re.search(r"viidest|kymmenest", match.group(0))
        if word is None:
            return None
        scale = 5 if word.group(0).startswith("viide") else 10
    else:
        scale = int(denominator)
    if not 0 <= number <= scale:
        return None
    if scale == 5:
        return number
    return max(LOWEST, round(number * HIGHEST / scale))


def _failures(tracker: Tracker) -> int:
    return int((tracker.get_slot("form_failures") or {}).get("rating", 0))


def started_from_outside(tracker: Tracker) -> bool:
    """True when the form was started by Rasa's HTTP API (`/execute`), not by a rule.

    What happened right before the form tells: a rule starts it after a customer
    message or another action; `/execute` after a `resume`, a session start or the
    bot's own listening. The form's own events (and the slots Rasa adds) are skipped.
    """
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("slot", "active_loop", "bot", "loop_interrupted", "action_execution_rejected"):
            continue
        if kind == "action" and event.get("name") == FORM:
            continue
        if kind in ("resume", "session_started", "restart"):
            return True
        if kind == "action":
            return event.get("name") in ("action_listen", "action_session_start")
        return False
    return True


class ValidateRatingForm(PatientForm):
    """Reads the rating from what the customer wrote or the button they pressed."""

    own_slots = ("rating",)
    hands_off_on_failure = False

    def name(self) -> str:
        return "validate_rating_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        starting = tracker.get_slot("requested_slot") is None
        from_outside = starting and started_from_outside(tracker)
        events = await super().run(dispatcher, tracker, domain)
        if from_outside:
            # `/execute` runs the form and stops: nothing logs that the bot now
            # listens, so Rasa would see the answer as coming right after the form
            # and predict `action_listen` instead of letting the form read it.
            events.append(ActionExecuted("action_listen"))
        return events

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return [] if _failures(tracker) >= MAX_RATING_TRIES else domain_slots

    async def extract_rating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> SlotValues:
        if tracker.get_slot("requested_slot") != "rating":
            return {}
        if tracker.slots_to_validate().get("rating") is not None:
            return {}  # a button: validate_rating checks it
        value = parse_rating(latest_text(tracker))
        if value is not None:
            return {"rating": value}
        if latest_intent(tracker) in RATING_INTERRUPTIONS:
            return {}  # moved on: the form steps aside for the intent's rule
        return self._not_a_rating(tracker, dispatcher)

    async def validate_rating(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> SlotValues:
        if value is None:
            return {"rating": None}  # already answered by extract_rating
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            number = parse_rating(str(value))
        if number is None or not LOWEST <= number <= HIGHEST:
            return self._not_a_rating(tracker, dispatcher)
        return self.accept("rating", tracker, {"rating": number})

    def _not_a_rating(self, tracker: Tracker, dispatcher: CollectingDispatcher) -> SlotValues:
        """Say once what a rating looks like; the second time, let it go."""
        events, _ = failure_events(tracker, "rating", hand_off=False)
        self._record(events, tracker)
        if _failures(tracker) < MAX_RATING_TRIES:
            dispatcher.utter_message(response="utter_invalid_rating")
        return {"rating": None}


class ActionSaveRating(Action):
    """Saves the rating on the ticket and thanks the customer for it."""

    def name(self) -> str:
        return "action_save_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rating = tracker.get_slot("rating")
        # Cleared, or the next rating question would take this answer as given.
        events: list[EventType] = [SlotSet("rating", None), SlotSet("form_failures", None)]
        if rating is None:
            return events  # not given; the rule goes on to "anything else?"
        rating = int(rating)
        helpdesk = services.helpdesk()
        number = tracker.get_slot("ticket_number")
        if not number:
            # Filed from the outbox after the helpdesk came back: ask for it.
            try:
                number = await helpdesk.latest_ticket_number(tracker.sender_id)
            except HelpdeskError as error:
                logger.warning("no ticket number for %s's rating: %s", tracker.sender_id, error)
        if number:
            try:
                # When the helpdesk is down this keeps it in the outbox for later.
                await helpdesk.rate_ticket(number, rating)
            except HelpdeskRejected:
                logger.exception("helpdesk refused rating %s for ticket %s", rating, number)
        else:
            logger.warning("rating %s in %s has no ticket to go to", rating, tracker.sender_id)
        low = rating <= LOW_RATING
        response = "utter_thanks_for_low_rating" if low else "utter_thanks_for_rating"
        dispatcher.utter_message(response=response, rating=rating)
        return events
