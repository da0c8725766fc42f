"""A real Kannel (bearerbox + smsbox) with fakesmsc as the carrier, behind the same
interface as `faults/carrier.py`, for running a dispatch scenario through Kannel.

What the carrier received is fakesmsc's output (one line per SMS), mapped back to the
platform's message ids by number (a campaign writes to each number once). Kannel calls
the platform's delivery-report webhook by itself (the worker's dlr-mask); `report()`
only waits for the reports of the given messages to have settled them. `hold()` stops
smsbox (SIGSTOP) so answers wait, `release()` lets it go on (SIGCONT).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from faults.carrier import Received


class KannelCarrier:
    def __init__(self, run: Any) -> None:
        self.run = run  # tests.kannel_harness.KannelRun
        self.numbers: dict[str, int] = {}  # the campaign's number -> message id
        self.campaign: Any = None
        self._pending: list[int] = []
        self.dropped = 0

    @property
    def url(self) -> str:
        return self.run.sendsms_url

    @property
    def env(self) -> dict[str, str]:
        """What the workers need to be let in by smsbox."""
        return {"KANNEL_USERNAME": self.run.username, "KANNEL_PASSWORD": self.run.password}

    def bind(self, campaign: Any) -> None:
        from campaigns.models import Message

        self.campaign = campaign
        self.numbers = dict(
            Message.objects.filter(campaign_id=campaign.pk).values_list("phone_number", "id")
        )

    # -- stalls ------------------------------------------------------------------------

    def _smsbox(self) -> int:
        return self.run.processes["smsbox"].pid

    def hold(self) -> None:
        os.kill(self._smsbox(), signal.SIGSTOP)

    def release(self) -> int:
        os.kill(self._smsbox(), signal.SIGCONT)
        return -1  # requests waiting in smsbox's sockets: not counted

    # -- what fakesmsc received --------------------------------------------------------------

    def count(self) -> int:
        return self.run.received_count()

    def received(self) -> list[Received]:
        return [
            Received(self.numbers.get(sms.receiver, -1), 0.0, sms.receiver, "")
            for sms in self.run.received()
        ]

    def per_id(self) -> Counter[int]:
        return Counter(record.message_id for record in self.received())

    # -- delivery reports: Kannel's own ------------------------------------------------------

    def report(self, message_ids: Iterable[int]) -> int:
        received = self.per_id()
        self._pending = [message_id for message_id in message_ids if received.get(message_id)]
        return len(self._pending)

    def wait_reports(self, timeout: float = 300) -> bool:
        """Until every message Kannel took among those asked about has left `unknown`."""
        from campaigns.models import Message

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Message.objects.filter(id__in=self._pending, state="unknown").exists():
                return True
            time.sleep(0.5)
        return False


@contextmanager
def kannel_carrier() -> Iterator[KannelCarrier]:
    from tests.kannel_harness import running_kannel

    workdir = Path(tempfile.mkdtemp(prefix="faults-kannel-"))
    try:
        with running_kannel(workdir, log_level=3, access_log=False) as run:
            carrier = KannelCarrier(run)
            try:
                yield carrier
            finally:
                try:
                    os.kill(carrier._smsbox(), signal.SIGCONT)  # never leave it stopped
                except (ProcessLookupError, KeyError):
                    pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
