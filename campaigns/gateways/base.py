"""The one small interface every SMS gateway implements.

Dispatch hands a gateway a batch of messages; the gateway answers, per message, either
accepted (with the gateway's own id) or rejected (with a reason). Delivery reports come
back later through `campaigns.reports.apply_report`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    message_id: int
    to: str  # E.164, "+33612345678"
    sender: str  # sender ID; "" for the gateway's default
    text: str  # exactly what the recipient reads, mention included
    ucs2: bool


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: int
    accepted: bool
    gateway_id: str = ""
    error: str = ""
    # The gateway certainly did not take it (unreachable): queue it again, do not fail it.
    retry: bool = False
    # The request went out and no answer came back (the connection dropped): the gateway
    # may have it. The message becomes `unknown`, for a delivery report or support staff
    # to settle; never sent again blindly.
    unknown: bool = False


class Pacer:
    """At most `per_second` messages per second from this process (0: no limit).

    Thread-safe; a batch of n waits until n slots are free. The limit is per worker
    process: set it to the gateway's limit divided by the number of worker processes.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._lock = threading.Lock()
        self._next_free = 0.0

    def wait(self, count: int) -> None:
        if self.per_second <= 0 or count <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_free)
            self._next_free = start + count / self.per_second
        # The first message of the slot may go at `start`; the rest are spread after it.
        delay = start - now
        if delay > 0:
            time.sleep(delay)


class Gateway:
    """Base class: subclasses implement `_send` for one chunk of messages."""

    name = "gateway"
    # How many messages go to `_send` at once: a pacer slot.
    chunk_size = 1000

    def __init__(self, *, max_per_second: float = 0) -> None:
        self.pacer = Pacer(max_per_second)

    def step(self, most: int) -> int:
        """How many messages go out at once, at most `most`: with a pace, small chunks
        keep the rate even (and dispatch's STOP guard short)."""
        if self.pacer.per_second > 0:
            return max(1, min(most, int(self.pacer.per_second // 10) or 1))
        return most

    def send_batch(
        self, messages: Sequence[OutgoingSms], *, paced: bool = True
    ) -> list[SendResult]:
        """Send each message once; one result per message, in the same order.

        `paced=False`: the caller waited for the pacer already (dispatch does, before it
        takes the STOP guard)."""
        results: list[SendResult] = []
        step = self.step(self.chunk_size)
        for start in range(0, len(messages), step):
            chunk = messages[start : start + step]
            if paced:
                self.pacer.wait(len(chunk))
            results.extend(self._send(chunk))
        return results

    def prepare(self, messages: Sequence[OutgoingSms]) -> None:
        """Check a chunk before any of it is marked submitted: raise for a message this
        gateway cannot take. Nothing has left then, so the claim is retried (one message
        at a time) and a message that keeps failing is parked, instead of every message
        of the chunk becoming `unknown` as after an exception while sending."""

    def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        raise NotImplementedError

    def after_accepted(self, message_ids: Sequence[int]) -> None:
        """Called once the accepted messages are recorded as sent (local: simulate DLRs)."""
