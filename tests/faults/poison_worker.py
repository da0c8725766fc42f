"""A real `celery worker -B` whose gateway client chokes on one number (issue 7 item 4).

Run as `python tests/faults/poison_worker.py <log dir>` with POISON_NUMBER and
POISON_KIND set: `raise` makes the client raise before anything of the chunk leaves (a
text it cannot encode), `die` kills the worker process on it (a segfault, the OOM
killer). The local gateway is the carrier here; every submission is appended to
`<log dir>/submitted` and every crash to `<log dir>/crashes`, one line each, so the
test counts them from outside the worker.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

import django

django.setup()

from campaigns.gateways.base import OutgoingSms, SendResult  # noqa: E402
from campaigns.gateways.local import LocalGateway  # noqa: E402
from smsplatform.celery import app  # noqa: E402

LOGS = Path(sys.argv[1])
POISON = os.environ["POISON_NUMBER"]
KIND = os.environ["POISON_KIND"]


def _append(name: str, lines: list[str]) -> None:
    with (LOGS / name).open("a") as log:  # O_APPEND: one write per call, whole lines
        log.write("".join(f"{line}\n" for line in lines))
        log.flush()


def prepare(self: LocalGateway, messages: Sequence[OutgoingSms]) -> None:
    for sms in messages:
        if sms.to == POISON:
            _append("crashes", [f"{os.getpid()} {sms.message_id}"])
            if KIND == "die":
                os._exit(70)  # the process is gone: no cleanup, no give-back
            raise UnicodeEncodeError("ascii", sms.to, 0, 1, "the client cannot encode it")


def send(self: LocalGateway, messages: Sequence[OutgoingSms]) -> list[SendResult]:
    _append("submitted", [str(sms.message_id) for sms in messages])
    return LocalGateway._local_send(self, messages)


LocalGateway._local_send = LocalGateway._send  # type: ignore[attr-defined]
LocalGateway.prepare = prepare  # type: ignore[method-assign]
LocalGateway._send = send  # type: ignore[method-assign]

if __name__ == "__main__":
    app.worker_main(
        ["worker", "-B", "-Q", "sms", "-c", "2", "-P", "prefork", "-l", "info",
         "--without-gossip", "--without-mingle", "-s", str(LOGS / "beat-schedule")]
    )  # fmt: skip
