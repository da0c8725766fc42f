"""System checks that stop a misconfigured production start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Refuse to run with the public development key once DEBUG is off.

    The check runs on every management command and on `runserver`/gunicorn start
    (through `manage.py check --deploy` in the compose file), so a production
    deployment that forgot SECRET_KEY never starts signing sessions with a known key.
    """
    from smsplatform.settings import DEFAULT_SECRET_KEY

    if settings.DEBUG or settings.SECRET_KEY != DEFAULT_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is the public development default while DEBUG is off.",
            hint="Set the SECRET_KEY environment variable to a long random value "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").',
            id="smsplatform.E001",
        )
    ]


def refuse_to_start_on_errors() -> None:
    """Run the system checks and exit with their messages if any is an error.

    `manage.py runserver`/`migrate` run the checks themselves; gunicorn and Celery do
    not, so wsgi.py, asgi.py and the worker call this before serving anything.
    """
    from django.conf import settings
    from django.core.checks import run_checks

    silenced = set(settings.SILENCED_SYSTEM_CHECKS)
    errors = [m for m in run_checks() if m.is_serious() and m.id not in silenced]
    if errors:
        lines = [f"{message.id}: {message.msg} {message.hint or ''}".strip() for message in errors]
        raise SystemExit("Refusing to start:\n" + "\n".join(lines))
