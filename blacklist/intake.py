"""Group commit for the inbound webhook: the replies of concurrent requests of one web
process are stored and applied in one transaction.

A reply's work is a dozen short statements and a commit, and on a small machine their
round trips, not the database, are what a request waits for. `receive_replies` is
set-based, so twenty replies cost about what one does: a thread per process takes every
reply waiting when it becomes free, applies them together, commits, and only then lets
each request answer the carrier. Nothing is answered before its commit, exactly as when
each request commits its own transaction.

- No added wait: a reply that finds the thread free goes alone at once. Replies group
  only when they arrive while a commit is under way (under load), which is when
  grouping pays.
- One reply cannot fail the others: if a group fails (a deadlock, a lost connection,
  a bug a single text triggers), each of its replies is tried again alone, and only
  those that fail alone get a 503 (the carrier retries; its retry is deduplicated).
- Inline instead (the request applies its own reply) when the database is SQLite (one
  writer anyway), when the request is already inside a transaction (a test), or when
  SMS_INBOUND_GROUP_COMMIT is off.

Needs a threaded server to group anything (gunicorn's gthread workers, runserver); a
sync worker handles one request at a time, so its groups are of one.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection

from blacklist.services import Received, Reply, receive_replies

log = logging.getLogger(__name__)

MAX_GROUP = 500
# How long the thread keeps its database connection while no reply comes.
IDLE_SECONDS = 5.0


class IntakeTimeout(Exception):
    """The reply was not committed in time: the carrier must send it again."""


def _taken() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Pending:
    """A reply waiting for its group's commit. `done` is released once it has a result
    or an error (a lock costs less to make than an Event, one per request)."""

    reply: Reply
    done: threading.Lock = field(default_factory=_taken)
    result: Received | None = None
    error: BaseException | None = None


@dataclass
class _Close:
    """Asks the thread to close its database connection."""

    done: threading.Event = field(default_factory=threading.Event)


class Intake:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Pending | _Close] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups = 0  # statistics for the tests and the benchmark
        self.replies = 0

    def receive(self, reply: Reply) -> Received:
        """Store and apply `reply`; returns once it is committed."""
        if not self._grouping():
            return receive_replies(replies=[reply])[0]
        pending = _Pending(reply)
        self._start()
        self._queue.put(pending)
        if not pending.done.acquire(timeout=settings.SMS_INBOUND_TIMEOUT):
            # It may still commit later: the carrier's retry will then find it stored.
            raise IntakeTimeout(f"reply {reply.carrier_id} not committed in time")
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def close_connection(self) -> None:
        """Have the thread close its database connection now (tests, before the test
        database goes)."""
        if self._thread is None or not self._thread.is_alive():
            return
        request = _Close()
        self._queue.put(request)
        request.done.wait(10)

    def _grouping(self) -> bool:
        return (
            settings.SMS_INBOUND_GROUP_COMMIT
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        )

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                # Started in the process that serves requests (after gunicorn's fork).
                self._thread = threading.Thread(
                    target=self._run, name="inbound-intake", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                connection.close()  # idle: no connection held for nothing
                item = self._queue.get()
            if isinstance(item, _Close):
                connection.close()
                item.done.set()
                continue
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Close):
                    self._queue.put(item)  # served after this group
                    break
                group.append(item)
            self._apply(group)

    def _apply(self, group: list[_Pending]) -> None:
        # As Django does around each request: drop a connection that broke or aged.
        close_old_connections()
        try:
            results = receive_replies(replies=[pending.reply for pending in group])
        except Exception as error:
            close_old_connections()
            if len(group) == 1:
                log.exception("inbound reply %s failed", group[0].reply.carrier_id)
                group[0].error = error
                group[0].done.release()
                return
            log.warning("a group of %d replies failed (%s): each alone", len(group), error)
            for pending in group:
                self._apply([pending])
            return
        self.groups += 1
        self.replies += len(group)
        for pending, result in zip(group, results, strict=True):
            pending.result = result
            pending.done.release()


intake = Intake()
