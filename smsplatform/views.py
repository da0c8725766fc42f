from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard" if request.user.is_authenticated else "login")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the load balancer and compose: the database answers, and the broker
    when one is configured. 503 names what is down."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"down: {error.__class__.__name__}"
    if settings.CELERY_BROKER_URL:
        from smsplatform.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as error:
            checks["broker"] = f"down: {error.__class__.__name__}"
    else:
        checks["broker"] = "in-process"
    healthy = all(value in {"ok", "in-process"} for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
