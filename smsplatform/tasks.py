"""Handing work to the background.

With a broker (CELERY_BROKER_URL), tasks go to the Celery workers. In the embedded
default there is no worker: the task runs in a thread of the web process, so the page
that started it returns at once and can show the progress. Tests run them inline.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction

log = logging.getLogger(__name__)


def _run_in_thread(task: Any, args: tuple[Any, ...]) -> None:
    close_old_connections()
    try:
        task.apply(args=args, throw=False)
    except Exception:
        log.exception("background task %s%r failed", task.name, args)
    finally:
        connection.close()


def enqueue(task: Any, *args: Any) -> None:
    """Run `task(*args)` in the background once the current transaction commits."""

    def start() -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            task.delay(*args)
        elif settings.SMS_TASKS_IN_THREAD:
            threading.Thread(target=_run_in_thread, args=(task, args), daemon=True).start()
        else:
            task.apply(args=args, throw=True)

    transaction.on_commit(start)


def enqueue_later(task: Any, delay: float, *args: Any) -> None:
    """Run `task(*args)` about `delay` seconds after the current transaction commits.

    Inline in tests (no delay): a test sees the effect at once.
    """

    def start() -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            task.apply_async(args=args, countdown=delay)
        elif settings.SMS_TASKS_IN_THREAD:
            timer = threading.Timer(delay, _run_in_thread, args=(task, args))
            timer.daemon = True
            timer.start()
        else:
            task.apply(args=args, throw=True)

    transaction.on_commit(start)
