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

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

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
    if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
        return webhooks(environ, start_response)
    return pages(environ, start_response)


refuse_to_start_on_errors()
