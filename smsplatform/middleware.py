"""A request body is refused on its declared size, before anything reads it.

Django reads a whole multipart upload into memory or a temporary file before the view
runs (the CSRF check alone reads the form), and the REST API's JSON parser reads its
body without Django's DATA_UPLOAD_MAX_MEMORY_SIZE: a client announcing a gigabyte would
be taken at its word. This middleware, first in the chain, answers 413 to a request
whose Content-Length is larger than the largest body the platform accepts:

- a file upload (multipart/form-data): the contact import's limit, and a little for the
  form's other fields;
- anything else (forms, JSON): MAX_BODY_BYTES, ten times what the API's largest request
  (10,000 contacts to import) needs.

Carriers' webhooks do not go through this chain (smsplatform/wsgi.py): they check their
own limit (blacklist/webhooks.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

MAX_BODY_BYTES = 10 * 1024 * 1024
FORM_FIELDS_BYTES = 1024 * 1024


def declared_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def body_limit(request: HttpRequest) -> int:
    from campaigns.imports import MAX_UPLOAD_BYTES

    if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        return MAX_UPLOAD_BYTES + FORM_FIELDS_BYTES
    return MAX_BODY_BYTES


class RequestSizeLimit:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request)
        if declared_length(request) <= limit:
            return self.get_response(request)
        # Before the locale middleware: the browser's language, read here.
        with translation.override(translation.get_language_from_request(request)):
            message = _(
                "This request is too large: at most %(size)d MB. Import a smaller file, "
                "or split it."
            ) % {"size": limit // 2**20}
        # The body stays unread: gunicorn drains at most 64 KiB of it before it drops the
        # connection instead of keeping it alive.
        return HttpResponse(message + "\n", status=413, content_type="text/plain; charset=utf-8")
