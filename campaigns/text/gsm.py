"""The GSM 03.38 default alphabet and its extension table, as Unicode characters.

A basic character takes one septet; an extension character is sent as ESC + a
septet, so it takes two. ESC itself is not text a user can type: it is left out.
"""

# The 127 printable positions of the basic table (0x1B, the escape, is left out).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

# The extension table: form feed, ^ { } \ [ ~ ] | and the euro sign.
EXTENSION = frozenset("\f^{}\\[~]|€")

ALPHABET = BASIC | EXTENSION


def septets(char: str) -> int:
    """Septets one character takes in GSM-7: 1 or 2. The character must be in ALPHABET."""
    return 2 if char in EXTENSION else 1


def is_gsm(text: str) -> bool:
    """True when every character of `text` can be sent in GSM-7."""
    return ALPHABET.issuperset(text)
