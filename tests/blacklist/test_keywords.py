"""The reply rule (blacklist/keywords.py): every form of STOP, the near misses, START and
HELP, and no crash on any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blacklist.keywords import Intent, read_reply

STOPS = [
    "STOP",
    "stop",
    "Stop.",
    "  STOP  ",
    "STOP!",
    "STOP 36034",
    "STOP36034",
    "36034 STOP",
    "36034STOP",
    "stop merci",
    "Merci, stop",
    "merci de ne plus m'écrire. STOP",
    "STOP SMS",
    "STOPSMS",
    "Stop svp",
    "STOOOP",
    "S.T.O.P",
    "s t o p",
    "«STOP»",
    "Ｓｔｏｐ",  # full-width letters
    "stop\n",
    "Oui stop",
    # French stop verbs at the start
    "stopper",
    "Stoppez les messages",
    "Arrêtez",
    "arretez svp",
    "Arrête de m'envoyer des SMS",
    "Arrêter",
    "Cessez ces envois",
    # désabonner / désinscrire / unsubscribe in any form
    "désabonner",
    "Désabonnez-moi",
    "je veux me desabonner",
    "Me désinscrire svp",
    "désinscription",
    "unsubscribe me please",
    "Unsubscribed",
    # the carriers' opt-out words alone
    "STOPALL",
    "Stop all",
    "UNSUBSCRIBE",
    "cancel",
    "END",
    "Quit",
    "ARRET",
    "Arrêt",
    "OPTOUT",
    "opt-out",
    "Opt out",
    "REVOKE",
]

NOT_STOPS = [
    "Christophe",
    "autostop",
    "nonstop",
    "Non-stop",  # "non" + "stop": STOP stands on its own, so this one is a STOP, see below
    "Stopover",
    "stopover à Dubaï",
    "Bonjour, c'est Christophe",
    "arrêt de bus",  # "arret" begins it: counted as STOP (leaning), see below
    "Je suis en autostop",
    "the end of the world",
    "cancel my order #123? no, keep it",
    "",
    "   ",
    "!!!",
    "Merci beaucoup",
    "stops",
    "stopped",
    "estop",
]
# Leaning towards STOP: these hold the word on its own, or begin with a stop word.
LEANING = {"Non-stop": Intent.STOP, "arrêt de bus": Intent.STOP}


@pytest.mark.parametrize("text", STOPS)
def test_every_form_of_stop_is_a_stop(text: str) -> None:
    assert read_reply(text).intent is Intent.STOP, text


@pytest.mark.parametrize("text", NOT_STOPS)
def test_words_that_merely_contain_stop_are_not_stops(text: str) -> None:
    assert read_reply(text).intent is LEANING.get(text, Intent.OTHER), text


@pytest.mark.parametrize("text", ["START", "start", "Start.", "UNSTOP", "unstop", "YES", "Yes!"])
def test_start_unstop_yes_alone_resubscribe(text: str) -> None:
    assert read_reply(text).intent is Intent.START


@pytest.mark.parametrize("text", ["HELP", "help?", "AIDE", "Aide", "INFO", "info."])
def test_help_aide_info_alone_ask_for_help(text: str) -> None:
    assert read_reply(text).intent is Intent.HELP


@pytest.mark.parametrize(
    "text",
    ["start the car", "yes please call me", "help me choose a size", "plus d'info svp"],
)
def test_start_and_help_words_in_a_sentence_are_ordinary_replies(text: str) -> None:
    assert read_reply(text).intent is Intent.OTHER


@pytest.mark.parametrize("text", ["START STOP", "yes stop", "help stop"])
def test_stop_wins_over_every_other_word(text: str) -> None:
    assert read_reply(text).intent is Intent.STOP


def test_the_rule_that_matched_is_named() -> None:
    assert read_reply("STOP 36034").rule == "word"
    assert read_reply("Arrêtez").rule == "verb"
    assert read_reply("désabonnez-moi").rule == "stem"
    assert read_reply("opt-out").rule == "opt-out"
    assert read_reply("S.T.O.P").rule == "spelled"


@given(st.text(max_size=300))
def test_any_text_is_read_without_error(text: str) -> None:
    assert read_reply(text).intent in set(Intent)


@given(st.text(max_size=40), st.text(max_size=40))
def test_stop_on_its_own_anywhere_is_a_stop(before: str, after: str) -> None:
    assert read_reply(f"{before} STOP {after}").intent is Intent.STOP


def test_lone_surrogates_and_10_kb_texts() -> None:
    assert read_reply("\ud800\udfff\ud83d").intent is Intent.OTHER
    assert read_reply("a" * 10_000 + " stop").intent is Intent.STOP  # read to the end
    assert read_reply("stop " + "a" * 10_000).intent is Intent.STOP
