"""One JSON shape for every error the API answers:

    {"error": {"code": "insufficient_credits",
               "message": "Not enough credits: 120 needed, 80 available.",
               "details": {"needed": 120, "available": 80}}}

Statuses: 400 an unreadable body or header, 401 no valid key, 402 too few credits, 403 not
allowed, 404 not found (or another account's), 409 a conflict with the state of things
(a campaign already launched, an Idempotency-Key used for another request), 422 fields
or a rule refuse the request (an invalid number, a Blacklisted one, no STOP mention on
a Marketing account), 429 too many requests.

`code` is stable and meant for programs; `message` is for people (translated when the
request asks for French); `details` holds the field errors of a refused input
({"to": ["This is not a phone number."]}) or the figures of a domain error.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response

from smsplatform.errors import DomainError

# DRF's exception classes to our codes (anything else keeps DRF's own `default_code`).
CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def domain_error_response(error: DomainError) -> tuple[int, dict[str, Any]]:
    return error.http_status, error_body(error.code, error.message, error.details)


def _validation_details(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    # A refusal of the whole input rather than of one field.
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every refusal in the one shape above."""
    if isinstance(exc, DomainError):
        code, body = domain_error_response(exc)
        return Response(body, status=code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500, logged with its traceback
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    code = next(
        (name for kind, name in CODES.items() if isinstance(exc, kind)),
        str(exc.default_code),
    )
    status = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        # 422 as GitHub's API does: the body was read, its fields are refused (400 stays
        # for a body that cannot be read at all, or a malformed header).
        status = 422
        body = error_body(
            code, _("Some fields are missing or invalid."), _validation_details(exc.detail)
        )
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(wait)
        body = error_body(
            code,
            _("Too many requests: try again in %(seconds)d seconds.") % {"seconds": wait},
            {"retry_after": wait},
        )
    else:
        body = error_body(code, str(exc.detail))
    return Response(body, status=status, headers=headers)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    """handler404: a JSON 404 in the same shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return page_not_found(request, exception or Http404())
