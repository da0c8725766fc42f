"""The inbound webhook carriers call with the replies to the shortcode.

Kannel, the connection's token in the path, through its sms-service's `get-url`:

    /webhooks/kannel/inbound/<token>/?from=%p&to=%P&text=%a&id=%I&smsc=%i

(the same parameters POSTed as a form are read too), or its `post-url` (with
`send-sender = true`), which long replies need: a 255-part SMS does not fit in a
request line, and a UCS-2 text comes whole as the body instead of %a's bytes:

    /webhooks/kannel/inbound/<token>/?id=%I

Other carriers POST JSON to /webhooks/inbound/<connection name>/, signed with
HMAC-SHA256 (see json_inbound): no signature is 401, a bad one or a timestamp outside
5 minutes 403.

- unknown or missing token: 403, nothing stored but a log line;
- a request that cannot be read (no id, an unreadable number, a text over
  MAX_TEXT_CHARS, a body over MAX_BODY_BYTES or not in its declared charset): 400
  with the reason, the raw request kept for support (the token left out);
- otherwise 200 once the reply and its effect (the Blacklist entry, the confirmation)
  are committed, with the replies of concurrent requests (blacklist/intake.py); 503
  if that takes longer than SMS_INBOUND_TIMEOUT. A carrier's retry of the same id gets
  200 and changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse, QueryDict
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
# Above any real call: a 255-part reply is at most ~80 KB as Kannel's post-url body
# (UTF-8 or UTF-16BE) and ~240 KB URL-encoded in a form. Checked on Content-Length,
# before anything is read.
MAX_BODY_BYTES = 256 * 1024
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Kannel's post-url: the text as the body, "text/plain" with the charset of its coding
# (UTF-8 for GSM, UTF-16BE for UCS-2), "application/octet-stream" for 8-bit data.
POST_URL_TYPES = frozenset({"text/plain", "application/octet-stream"})
# The headers a rejected request is kept with: they carry a post-url's fields.
KEPT_HEADERS = ("Content-Type", "Content-Length")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unreadable(Exception):
    """A request the webhook cannot read: the message is the reason given back."""


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


def _raw(request: HttpRequest, *, with_body: bool = True) -> str:
    """The request as support staff read it: its request line (the token replaced: only
    its hash is kept), the headers that carry data, and its body in its charset."""
    path = request.get_full_path()
    token = request.resolver_match.kwargs.get("token") if request.resolver_match else None
    if token:
        path = path.replace(token, "<token>", 1)
    lines = [f"{request.method} {path}"]
    lines += [
        f"{name}: {value}"
        for name, value in request.headers.items()
        if name in KEPT_HEADERS or name.lower().startswith("x-kannel-")
    ]
    body = _body_for_support(request) if with_body else "(body not read)"
    # PostgreSQL cannot store a NUL character: written as its escape.
    return "\n".join(lines) + "\n\n" + body.replace("\x00", "\\x00")


def _body_for_support(request: HttpRequest) -> str:
    """The body (its first 100,000 bytes) in its declared charset, else UTF-8; bytes it
    cannot be read in (binary, the wrong charset) as \\xNN escapes, so that what came
    can be read back exactly."""
    body = request.body[:100_000]
    try:
        return body.decode(request.content_params.get("charset") or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return body.decode("ascii", "backslashreplace")


def _reject(
    request: HttpRequest, connection: GatewayConnection, reason: str, *, with_body: bool = True
) -> HttpResponse:
    """400 with the reason; the (authenticated) request is kept for support."""
    raw = _raw(request, with_body=with_body)
    RejectedInbound.objects.create(connection=connection, reason=reason[:255], raw=raw)
    log.warning("inbound on %s refused: %s", connection.name, reason)
    return _text(f"bad request: {reason}", 400)


def _receive(
    request: HttpRequest, connection: GatewayConnection, params: Mapping[str, object]
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
    if request.method == "GET":
        return _receive(request, connection, _query(request))
    if _content_length(request) > MAX_BODY_BYTES:
        return _reject(
            request, connection, f"body larger than {MAX_BODY_BYTES} bytes", with_body=False
        )
    try:
        params = _post_fields(request)
    except Unreadable as error:
        return _reject(request, connection, str(error))
    return _receive(request, connection, params)


def _query(request: HttpRequest) -> dict[str, object]:
    """The query string's parameters, read as UTF-8.

    Not request.GET: Django reads it in the charset of the body's Content-Type, and
    Kannel's post-url declares "UTF-16BE" for a UCS-2 text. The query "?id=%I" would
    then come out as garbage (no id: 400, retried, lost) whenever its length is even,
    and "%2B" (the "+" of a %p) as a replacement character. The fields read from the
    query (%I, %p, %P) are ASCII."""
    query = QueryDict(request.META.get("QUERY_STRING", ""), encoding="utf-8")
    return {name: query.get(name) for name in query}


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body then either


def _post_fields(request: HttpRequest) -> dict[str, object]:
    """A POST's fields: a form's (the get-url's parameters), or Kannel's post-url."""
    if request.content_type in FORM_TYPES:
        return _query(request) | {name: request.POST.get(name) for name in request.POST}
    if request.content_type in POST_URL_TYPES:
        return _post_url_fields(request)
    if not request.content_type:
        # No body to read: the fields are in the query string, as for a get-url.
        return _query(request)
    raise Unreadable(
        f"unsupported Content-Type {request.content_type[:60]!r} "
        "(Kannel's get-url or post-url, or a form)"
    )


def _post_url_fields(request: HttpRequest) -> dict[str, object]:
    """Kannel's post-url: the text is the body, the sender and the shortcode are in
    X-Kannel-From and X-Kannel-To, and the message id only in the query string (no
    header carries it: post-url = "…/?id=%I"). Escape codes in the query are read too;
    the headers win over them."""
    fields = _query(request)
    for name, header in (("from", "X-Kannel-From"), ("to", "X-Kannel-To")):
        if header in request.headers:
            fields[name] = request.headers[header]
    if not fields.get("from"):
        # Kannel sends X-Kannel-From only when the sms-service says send-sender = true.
        raise Unreadable("missing sender: no X-Kannel-From (set send-sender = true) nor from=%p")
    fields["text"] = _post_url_text(request)
    return fields


def _post_url_text(request: HttpRequest) -> str:
    """The body, decoded with the charset Kannel declares: "UTF-8" for a GSM text,
    "UTF-16BE" for UCS-2 (an emoji as a surrogate pair); UTF-8 when none is given."""
    if request.content_type == "application/octet-stream":
        # Kannel's 8-bit messages (coding 1): binary data, which no phone sends as a reply.
        raise Unreadable("an 8-bit (binary) message, not a text")
    charset = request.content_params.get("charset") or "utf-8"
    try:
        return request.body.decode(charset)
    except UnicodeDecodeError as error:
        raise Unreadable(
            f"body is not {charset[:40]} ({error.reason} at byte {error.start})"
        ) from None
    except LookupError:
        raise Unreadable(f"unknown charset {charset[:40]!r}") from None


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
    if _content_length(request) > MAX_BODY_BYTES:
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
