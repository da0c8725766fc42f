"""The STOP SMS mention (French law, CNIL) and where it goes."""

from __future__ import annotations

FRENCH_REGION = "FR"


def mention_for(region: str, *, shortcode: str, unsubscribe_link: str) -> str:
    """The mention for a destination: `STOP <shortcode>` in France, the link elsewhere.

    The shortcode only works on French networks; abroad the recipient opens the
    platform's unsubscribe page through the account's short link.
    """
    if region == FRENCH_REGION:
        return f"STOP {shortcode}"
    return unsubscribe_link


def separator(text: str) -> str:
    """One space between the text and the mention; nothing more after a line break."""
    if not text or text.endswith("\n"):
        return ""
    return " "


def with_mention(text: str, mention: str) -> str:
    """The text as sent: text, separator and mention (the text alone without mention)."""
    if not mention:
        return text
    return f"{text}{separator(text)}{mention}"


def mention_applies(*, marketing: bool, requested: bool) -> bool:
    """Whether a send carries the mention.

    A Marketing account always adds it, whatever was asked; a Notification account
    adds it when asked (its Settings › Alerts default, or the box on one send).
    """
    return marketing or requested
