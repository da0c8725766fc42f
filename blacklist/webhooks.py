"""The inbound webhook carriers call with the replies to the shortcode.

Kannel (its sms-service `get-url`), the connection's token in the path:

    /webhooks/kannel/inbound/<token>/?from=%p&to=%P&text=%a&id=%I&smsc=%i

(the same parameters POSTed as a form are read too). Other carriers POST JSON to
/webhooks/inbound/<connection name>/, signed with HMAC-SHA256 (see json_inbound):
no signature is 401, a bad one or a timestamp outside 5 minutes 403.

- unknown or missing token: 403, nothing stored but a log line;
- a request that cannot be read (no id, an unreadable number, a text over
  MAX_TEXT_CHARS): 400 with the reason, the raw request kept for support;
- otherwise 200 once the reply and its effect (the Blacklist entry, the confirmation)
  are committed, with the replies of concurrent requests (blacklist/intake.py); 503
  if that takes longer than SMS_INBOUND_TIMEOUT. A carrier's retry of the same id gets
  200 and changes nothing.
"""

from __future__ import annotations

import json
import logging
import re

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from blacklist.intake import IntakeTimeout, intake
from blacklist.models import GatewayConnection, GatewayKind, RejectedInbound
from blacklist.services import Reply, connection_for_secret
from blacklist.signing import check, unseal
from campaigns.phone import InvalidNumber, NormalizedNumber, normalize_number

log = logging.getLogger(__name__)

# The longest text a concatenated SMS can carry: 255 parts of 153 GSM characters.
MAX_TEXT_CHARS = 255 * 153
MAX_ID_CHARS = 100
MAX_BODY_BYTES = 256 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


def sender_number(raw: str) -> NormalizedNumber:
    """The sender, E.164 and region: Kannel gives "+33612345678", "0033612345678",
    "33612345678" or a national "0612345678", depending on the SMSC."""
    raw = raw.strip()
    try:
        return normalize_number(raw)
    except InvalidNumber:
        if raw.isdigit() and not raw.startswith("0"):
            return normalize_number("+" + raw)
        raise


def _reject(request: HttpRequest, connection: GatewayConnection, reason: str) -> HttpResponse:
    """400 with the reason; the (authenticated) request is kept for support."""
    raw = f"{request.method} {request.get_full_path()}\n\n" + request.body[:100_000].decode(
        "utf-8", "replace"
    ).replace("\x00", "\ufffd")
    RejectedInbound.objects.create(connection=connection, reason=reason[:255], raw=raw)
    log.warning("inbound on %s refused: %s", connection.name, reason)
    return _text(f"bad request: {reason}", 400)


def _receive(
    request: HttpRequest, connection: GatewayConnection, params: dict[str, object]
) -> HttpResponse:
    """Check a reply's fields (the same for every format), then store and apply it."""
    values = {name: params.get(name) for name in ("id", "from", "to", "text")}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            return _reject(request, connection, f"{name} must be a string")
    carrier_id = (values["id"] or "").strip()
    if not carrier_id:
        return _reject(request, connection, "missing id (the carrier's message id)")
    if len(carrier_id) > MAX_ID_CHARS:
        return _reject(request, connection, f"id longer than {MAX_ID_CHARS} characters")
    text = values["text"] or ""
    if any("\x00" in (value or "") for value in values.values()):
        # No SMS carries one (GSM's "@" is code 0, and Kannel hands it over as "@"), and
        # PostgreSQL cannot store it: refused here, not a 500 the carrier retries forever.
        return _reject(request, connection, "a field contains a NUL character")
    if any(_SURROGATE.search(value or "") for value in values.values()):
        # JSON may escape half of a UTF-16 pair ("\ud800"), which no database encoding
        # can store: refused here too, not a 500 retried forever.
        return _reject(request, connection, "a field contains a lone surrogate character")
    if len(text) > MAX_TEXT_CHARS:
        return _reject(
            request, connection, f"text longer than {MAX_TEXT_CHARS} characters ({len(text)})"
        )
    raw_sender = values["from"] or ""
    try:
        sender = sender_number(raw_sender)
    except InvalidNumber as error:
        return _reject(
            request, connection, f"unreadable sender number {raw_sender[:40]!r} ({error.code})"
        )
    reply = Reply(
        connection_id=connection.pk,
        carrier_id=carrier_id,
        sender=sender.e164,
        receiver=(values["to"] or "").strip()[:20],
        text=text,
        region=sender.region,
    )
    try:
        received = intake.receive(reply)
    except IntakeTimeout:
        log.error("inbound %s on %s: not committed in time", carrier_id, connection.name)
        return _text("unavailable: try again", 503)
    return _text("ok" if received.new else "ok: already received", 200)


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
    return _receive(request, connection, {name: params.get(name) for name in params})


@csrf_exempt
@require_POST
def json_inbound(request: HttpRequest, name: str) -> HttpResponse:
    """A carrier's reply as JSON, signed (blacklist/signing.py):

    POST /webhooks/inbound/<connection name>/
    {"id": "carrier-123", "from": "+33612345678", "to": "36034", "text": "STOP"}
    """
    timestamp = request.headers.get("X-Signature-Timestamp", "")
    signature = request.headers.get("X-Signature", "")
    if not timestamp or not signature:
        log.warning("inbound on %r refused: no signature", name[:40])
        return _text("unauthorized: X-Signature and X-Signature-Timestamp are required", 401)
    connection = GatewayConnection.objects.filter(
        name=name, kind=GatewayKind.JSON, active=True
    ).first()
    secret = unseal(connection.signing_secret) if connection else None
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        why = "body too large to check"
    else:
        why = check(secret, timestamp, signature, request.body) if secret else "unknown connection"
    if why or connection is None:
        log.warning("inbound on %r refused: %s", name[:40], why)
        return _text("forbidden: bad signature", 403)
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        return _reject(request, connection, f"body is not JSON ({error})")
    if not isinstance(payload, dict):
        return _reject(request, connection, "body must be a JSON object")
    return _receive(request, connection, payload)
