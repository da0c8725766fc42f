"""What Kannel 1.4.5's smsbox sends to an sms-service's post-url, as recorded from the
real thing (tests/e2e/test_kannel_harness.py checks these against a running Kannel, so
the webhook's unit tests in tests/blacklist/ replay requests that are true).

    group = sms-service
    post-url = "http://…/?id=%I"
    send-sender = true

For each MO message smsbox POSTs the text as the body and the rest in headers:

    POST /…/?id=8fd904af-0187-4ab5-a96e-003f934a2b0a
    User-Agent: Kannel/1.4.5
    Content-Type: text/plain; charset="UTF-8"          (coding 0, GSM: UTF-8)
    Content-Type: text/plain; charset="UTF-16BE"       (coding 2, UCS-2: UTF-16BE bytes,
                                                        an emoji as a surrogate pair)
    X-Kannel-From: +33612345678     (only with send-sender = true: Kannel's default leaves
                                     the sender out)
    X-Kannel-To: 36034
    X-Kannel-Time: 2026-11-29 18:43:37    (UTC, when the SMSC got it)
    Date: 2026-11-29 18:43:37             (sic: not an HTTP date)
    X-Kannel-SMSC: fake
    X-Kannel-Coding: 0 | 2
    X-Kannel-Service: default
    Content-Length: …

There is no message id header: the id comes only from an escape code in the post-url's
query string (%I), where every escape works as in a get-url (%p, %P, %i, %c, %C, %t…).
A concatenated SMS arrives once, its parts put together by bearerbox, without UDH. An
8-bit message (coding 1) comes as application/octet-stream, without a charset.

Plain Python, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

SENDER = "+33612345678"
SHORTCODE = "36034"
USER_AGENT = "Kannel/1.4.5"
GSM_CONTENT_TYPE = 'text/plain; charset="UTF-8"'
UCS2_CONTENT_TYPE = 'text/plain; charset="UTF-16BE"'
# Headers whose value changes with each call (and the transport's own).
VARYING_HEADERS = frozenset({"x-kannel-time", "date", "host", "connection", "content-length"})


@dataclass(frozen=True)
class PostUrlCall:
    """One post-url call: its Content-Type, its other fixed headers and its body."""

    content_type: str
    headers: dict[str, str]
    body: bytes


def post_url_call(
    text: str,
    *,
    ucs2: bool = False,
    sender: str = SENDER,
    receiver: str = SHORTCODE,
    send_sender: bool = True,
    smsc: str = "fake",
) -> PostUrlCall:
    """What smsbox POSTs for an MO message `text` from `sender` to `receiver`:

    >>> post_url_call("STOP").body, post_url_call("STOP").headers["X-Kannel-Coding"]
    (b'STOP', '0')
    """
    headers = {"User-Agent": USER_AGENT}
    if send_sender:
        headers["X-Kannel-From"] = sender
    headers |= {
        "X-Kannel-To": receiver,
        "X-Kannel-SMSC": smsc,
        "X-Kannel-Coding": "2" if ucs2 else "0",
        "X-Kannel-Service": "default",
    }
    return PostUrlCall(
        content_type=UCS2_CONTENT_TYPE if ucs2 else GSM_CONTENT_TYPE,
        headers=headers,
        body=text.encode("utf-16-be" if ucs2 else "utf-8"),
    )


def fixed_headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """A recorded call's headers without those that change with each call, and without
    Content-Type (compared on its own)."""
    return {
        name: value
        for name, value in headers
        if name.lower() not in VARYING_HEADERS and name.lower() != "content-type"
    }
