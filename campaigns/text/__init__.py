"""The text rules: encoding, segments, STOP mention, replacements, sender IDs and cost.

Pure Python with no Django import, so the preview, the dispatch workers and the API
all compute exactly the same thing. `compose()` is the entry point most callers want.
"""

from campaigns.text.compose import Composition, StopRules, compose, compose_for
from campaigns.text.mention import mention_applies, mention_for, with_mention
from campaigns.text.replacements import NonGsmChar, non_gsm_chars, replace_non_gsm
from campaigns.text.segments import Encoding, Measure, measure
from campaigns.text.sender import SenderProblem, validate_sender_id

__all__ = [
    "Composition",
    "Encoding",
    "Measure",
    "NonGsmChar",
    "SenderProblem",
    "StopRules",
    "compose",
    "compose_for",
    "measure",
    "mention_applies",
    "mention_for",
    "non_gsm_chars",
    "replace_non_gsm",
    "validate_sender_id",
    "with_mention",
]
