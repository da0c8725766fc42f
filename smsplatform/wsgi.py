"""The WSGI entry point (gunicorn smsplatform.wsgi).

Carriers' calls (`/webhooks/…`) go through Django without the middleware the pages
need (sessions, CSRF, language, messages, static files, htmx): a carrier sends no
cookie and reads no page, and on a small machine that middleware costs about a third
of the Django time of each call (measured by bench/inbound_load.py). Everything
else, pages, API and admin, gets the full stack. The test client and runserver's
autoreload use settings.MIDDLEWARE for everything; the webhooks' views do not depend
on it.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.utils.http import parse_header_parameters

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

pages = get_wsgi_application()

from django.test.utils import override_settings  # noqa: E402

from smsplatform.checks import refuse_to_start_on_errors  # noqa: E402

WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]

# The middleware chain is built once, when the handler is made: made with the short
# list, it keeps it (override_settings only changes the list while the handler loads).
with override_settings(MIDDLEWARE=WEBHOOK_MIDDLEWARE):
    webhooks = WSGIHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    refused = _charset_refused(environ.get("CONTENT_TYPE", "")) or _length_refused(
        environ.get("CONTENT_LENGTH", "")
    )
    if refused:
        start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"bad request: {refused}\n".encode()]
    if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
        return webhooks(environ, start_response)
    return pages(environ, start_response)


def _length_refused(length: str) -> str:
    """Django reads Content-Length with int() when a view reads the body: anything but
    digits is a 500 there (gunicorn refuses most such headers before us)."""
    if not length or (length.isascii() and length.isdigit()):
        return ""
    return f"Content-Length {length[:20]!r} is not a number of bytes"


def _charset_refused(content_type: str) -> str:
    """Why a request's charset cannot be served, or "".

    Django accepts any codec Python knows as a request's charset, then crashes (500,
    before any middleware) on one that is not a text encoding ("charset=base64",
    "rot13") the first time it decodes the query or the body. An unknown charset is
    ignored by Django (it reads UTF-8), so only those codecs are refused here.
    """
    if "charset" not in content_type.lower():
        return ""
    charset = parse_header_parameters(content_type)[1].get("charset", "")
    try:
        codecs.lookup(charset)
    except LookupError:
        return ""
    try:
        "".encode(charset)
    except LookupError:
        return f"{charset[:40]!r} is not a text encoding"
    return ""


refuse_to_start_on_errors()
