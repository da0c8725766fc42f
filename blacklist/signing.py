"""Signed inbound requests from carriers (the JSON format) and the signing key at rest.

A carrier signs each request with its connection's secret:

    X-Signature-Timestamp: 1795425600            (Unix seconds)
    X-Signature: hex(HMAC-SHA256(secret, "<timestamp>." + body))

A request is authentic when the signature matches (compared in constant time) and the
timestamp is within SIGNATURE_WINDOW_SECONDS of the platform's clock, either way.

HMAC needs the secret itself, so it is kept encrypted (Fernet) with a key derived from
SECRET_KEY; changing SECRET_KEY means rotating the JSON connections' secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

SIGNATURE_WINDOW_SECONDS = 300


def _fernet() -> Fernet:
    key = hashlib.sha256(f"gateway-signing:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check(
    secret: str, timestamp: str, signature: str, body: bytes, *, now: float | None = None
) -> str | None:
    """None when authentic, else why not (for the log line, never for the caller)."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "unreadable timestamp"
    skew = abs((now if now is not None else time.time()) - int(timestamp))
    if skew > SIGNATURE_WINDOW_SECONDS:
        return f"timestamp {skew:.0f} s away from the platform's clock"
    # As bytes: compare_digest raises TypeError on a str that is not ASCII, and a forged
    # header may hold anything.
    given = signature.strip().lower().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), given):
        return "signature does not match"
    return None
