"""The Celery app. Reads every `CELERY_*` Django setting (see settings.py for the
at-least-once choices: late acks, reject on worker loss, prefetch of one)."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

app = Celery("smsplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _refuse_to_start_misconfigured(**kwargs: object) -> None:
    from smsplatform.checks import refuse_to_start_on_errors

    refuse_to_start_on_errors()
