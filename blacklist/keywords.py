"""What a reply to the shortcode asks for: STOP, START, HELP, or nothing (an ordinary reply).

Pure Python, no Django: the inbound webhook, the API and the tests use this one rule.
Missing a real STOP is the costly error (the law, and fines), so the rule leans towards
STOP; but a word that merely contains "stop" (Christophe, autostop, nonstop, Stopover)
is not one.

A reply is read after trimming, case folding, and stripping accents and punctuation,
as words ("Merci, STOP!" → ["merci", "stop"]). It is a STOP when

1. the word STOP stands on its own anywhere (`stop`, `Stop.`, `STOP 36034`, `stop merci`),
   or glued to the shortcode or to "sms" (`STOP36034`, `36034STOP`, `STOPSMS`), held
   (`STOOOP`) or spelled out (`S.T.O.P`);
2. it begins with a French stop verb (`stopper`, `stoppez`, `arrêtez`, `arrête`…);
3. a word is a form of désabonner, désinscrire or unsubscribe (`désabonnez-moi`,
   `je veux me désinscrire`, `unsubscribed`);
4. the whole reply is one of the carriers' opt-out words (`STOPALL`, `UNSUBSCRIBE`,
   `CANCEL`, `END`, `QUIT`, `ARRET`, `OPTOUT`/`OPT-OUT`, `REVOKE`).

`START`, `UNSTOP` or `YES` alone re-subscribe; `HELP`, `AIDE` or `INFO` alone ask for help.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

STOP_WORD = "stop"
# STOP glued to digits (the shortcode) or to "sms", on either side, letters held or not
# ("STOOOP").
GLUED_STOP = re.compile(r"^(?:\d+|sms)?s+t+o+p+(?:\d+|sms)?$")
# A reply that begins with one of these words is a STOP (French imperatives and
# infinitives of "to stop"; "arret" alone is also an opt-out word below).
STOP_VERBS = frozenset(
    {
        "stopper", "stoppez", "stoppe", "stoppes", "stoppons",
        "arreter", "arretez", "arrete", "arretes", "arretons", "arret",
        "cesser", "cessez", "cesse",
    }
)  # fmt: skip
# A word beginning with one of these is a form of désabonner / désinscrire / unsubscribe.
UNSUBSCRIBE_STEMS = ("desabonn", "desinscri", "unsubscrib")
# The carriers' opt-out words, when they are the whole reply ("opt-out" reads "optout").
OPT_OUT_WORDS = frozenset(
    {"stopall", "unsubscribe", "cancel", "end", "quit", "arret", "optout", "revoke"}
)
START_WORDS = frozenset({"start", "unstop", "yes"})
HELP_WORDS = frozenset({"help", "aide", "info"})


class Intent(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reading:
    intent: Intent
    rule: str  # which rule matched, for support staff: "word", "verb", "stem", "opt-out"…


def words(text: str) -> list[str]:
    """The reply's words: accents stripped, case folded, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    # œ and æ have no decomposition; ß folds to "ss" already.
    bare = bare.replace("œ", "oe").replace("æ", "ae")
    return re.findall(r"[^\W_]+", bare)


def read_reply(text: str) -> Reading:
    """What the reply asks for. Never raises, whatever the text."""
    tokens = words(text)
    if not tokens:
        return Reading(Intent.OTHER, "empty")
    if any(token == STOP_WORD or GLUED_STOP.match(token) for token in tokens):
        return Reading(Intent.STOP, "word")
    if tokens[0] in STOP_VERBS:
        return Reading(Intent.STOP, "verb")
    if any(token.startswith(UNSUBSCRIBE_STEMS) for token in tokens):
        return Reading(Intent.STOP, "stem")
    whole = "".join(tokens)
    if len(tokens) > 1 and GLUED_STOP.match(whole):  # spelled out: "S.T.O.P", "s t o p"
        return Reading(Intent.STOP, "spelled")
    if whole in OPT_OUT_WORDS:
        return Reading(Intent.STOP, "opt-out")
    if whole in START_WORDS:
        return Reading(Intent.START, "start")
    if whole in HELP_WORDS:
        return Reading(Intent.HELP, "help")
    return Reading(Intent.OTHER, "other")
