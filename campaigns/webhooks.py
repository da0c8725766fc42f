"""The delivery-report webhook Kannel calls (its `dlr-url`).

GET /webhooks/kannel/report/?secret=…&id=<our message id>&type=<%d>&answer=<%A>

The secret is the gateway's own (KANNEL_REPORT_SECRET); a wrong or missing one is 403
and changes nothing. A well-formed report always gets 200 once it is recorded, even
for an id we do not know (kept for support): Kannel would otherwise retry forever.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.reports import KANNEL_TYPES, apply_report

log = logging.getLogger(__name__)


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def kannel_report(request: HttpRequest) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    expected = settings.KANNEL_REPORT_SECRET
    given = params.get("secret", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("delivery report refused: bad secret from %s", request.META.get("REMOTE_ADDR"))
        return _text("forbidden: bad or missing secret", 403)
    ref = params.get("id", "").strip()
    raw_type = params.get("type", "").strip()
    if not ref:
        return _text("bad request: missing id", 400)
    try:
        status = KANNEL_TYPES[int(raw_type)]
    except (ValueError, KeyError):
        return _text(f"bad request: unknown report type {raw_type!r}", 400)
    report = apply_report(
        gateway="kannel",
        message_ref=ref,
        status=status,
        raw=raw_type,
        detail=params.get("answer", ""),
    )
    if report.message_id is None:
        log.warning("delivery report for unknown message id %r kept unmatched", ref)
        return _text("ok: unknown id recorded", 200)
    return _text("ok", 200)
