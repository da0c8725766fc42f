"""The inbound webhook carriers call with the replies to the shortcode.

Kannel (its sms-service `get-url`), the connection's token in the path:

    /webhooks/kannel/inbound/<token>/?from=%p&to=%P&text=%a&id=%I&smsc=%i

(the same parameters POSTed as a form are read too).

- unknown or missing token: 403, nothing stored but a log line;
- a request that cannot be read (no id, an unreadable number, a text over
  MAX_TEXT_CHARS): 400 with the reason, the raw request kept for support;
- otherwise 200 once the reply and its effect (the Blacklist entry, the confirmation)
  are committed. A carrier's retry of the same id gets 200 and changes nothing.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from blacklist.models import GatewayKind, RejectedInbound
from blacklist.services import connection_for_secret, receive_inbound
from campaigns.phone import InvalidNumber, normalize_number

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 10_000  # a concatenated SMS of 255 parts holds under 40,000 bytes
MAX_ID_CHARS = 100


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


def sender_number(raw: str) -> str:
    """The sender as E.164: Kannel gives "+33612345678", "0033612345678",
    "33612345678" or a national "0612345678", depending on the SMSC."""
    raw = raw.strip()
    try:
        return normalize_number(raw).e164
    except InvalidNumber:
        if raw.isdigit() and not raw.startswith("0"):
            return normalize_number("+" + raw).e164
        raise


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_inbound(request: HttpRequest, token: str) -> HttpResponse:
    connection = connection_for_secret(token, GatewayKind.KANNEL)
    if connection is None:
        log.warning("inbound refused: unknown token from %s", request.META.get("REMOTE_ADDR"))
        return _text("forbidden: unknown connection token", 403)
    params = request.GET.copy()
    if request.method == "POST":
        params.update(request.POST)

    def reject(reason: str) -> HttpResponse:
        raw = f"{request.method} {request.get_full_path()}\n\n" + request.body.decode(
            "utf-8", "replace"
        )
        RejectedInbound.objects.create(connection=connection, reason=reason, raw=raw[:100_000])
        log.warning("inbound on %s refused: %s", connection.name, reason)
        return _text(f"bad request: {reason}", 400)

    carrier_id = params.get("id", "").strip()
    if not carrier_id:
        return reject("missing id (the carrier's message id, Kannel's %I)")
    if len(carrier_id) > MAX_ID_CHARS:
        return reject(f"id longer than {MAX_ID_CHARS} characters")
    text = params.get("text", "")
    if len(text) > MAX_TEXT_CHARS:
        return reject(f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})")
    try:
        sender = sender_number(params.get("from", ""))
    except InvalidNumber as error:
        return reject(f"unreadable sender number {params.get('from', '')!r} ({error.code})")
    _inbound, new = receive_inbound(
        connection=connection,
        carrier_id=carrier_id,
        sender=sender,
        receiver=params.get("to", "").strip()[:20],
        text=text,
    )
    return _text("ok" if new else "ok: already received", 200)
