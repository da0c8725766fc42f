"""The embedded default's stand-in for Celery beat.

With a broker, `celery beat` runs the tick (`make beat`). In the embedded default there
is no beat, so the web process runs the tick in a daemon thread every SMS_TICK_SECONDS:
scheduled campaigns start on time and French messages waiting for the sending hours
leave when they open, with nothing else to start.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

log = logging.getLogger(__name__)


def _serving() -> bool:
    # runserver's child process (the one that serves), or a production server.
    if os.environ.get("RUN_MAIN") == "true":
        return True
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    return program in {"gunicorn", "uvicorn", "daphne"}


def _loop() -> None:
    from campaigns.lifecycle import tick

    while True:
        time.sleep(settings.SMS_TICK_SECONDS)
        close_old_connections()
        try:
            tick()
        except Exception:
            log.exception("embedded tick failed; trying again in %s s", settings.SMS_TICK_SECONDS)
        finally:
            connection.close()


def start_if_embedded() -> bool:
    """Start the ticker thread once, in a serving process of the embedded default."""
    if not (settings.CELERY_TASK_ALWAYS_EAGER and settings.SMS_TASKS_IN_THREAD):
        return False
    if not _serving() or getattr(start_if_embedded, "running", False):
        return False
    start_if_embedded.running = True  # type: ignore[attr-defined]
    threading.Thread(target=_loop, name="sms-ticker", daemon=True).start()
    log.info("embedded ticker started: every %s s", settings.SMS_TICK_SECONDS)
    return True
