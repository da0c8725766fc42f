"""Delivery reports: what a gateway tells us after a message left, applied to its row.

Statuses, from the gateway's vocabulary to ours:

    Kannel type 1  delivered to the phone      → delivered (final)
    Kannel type 2  not delivered to the phone  → failed (final)
    Kannel type 4  buffered by the SMSC        → buffered (still on its way)
    Kannel type 8  accepted by the SMSC        → accepted (still on its way)
    Kannel type 16 rejected by the SMSC        → rejected (final: failed)

The first final report wins; a later "accepted" or "buffered" never undoes "delivered".
A report settles a message whose hand-over was left `unknown` (the connection dropped,
or the worker died after submitting): the gateway had it after all.
Applying the same report twice changes nothing more. A report can overtake the batch
that sent its message (the gateway answers fast, we record the batch after): it is
kept on the row and the row's state follows when the batch is recorded.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from callbacks.services import emit_message_status
from campaigns.models import DeliveryReport, Message, MessageState

KANNEL_TYPES = {1: "delivered", 2: "failed", 4: "buffered", 8: "accepted", 16: "rejected"}
FINAL = {
    "delivered": MessageState.DELIVERED,
    "failed": MessageState.FAILED,
    "rejected": MessageState.FAILED,
}
STATUSES = frozenset(KANNEL_TYPES.values())


def _message_id(ref: str) -> int | None:
    ref = ref.strip()
    if not ref.isascii() or not ref.isdigit() or len(ref) > 18:
        return None
    return int(ref)


def apply_report(
    *, gateway: str, message_ref: str, status: str, raw: str, detail: str = ""
) -> DeliveryReport:
    """Record one report and move its message on. Unknown ids are kept, unmatched."""
    if status not in STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    now = timezone.now()
    message_id = _message_id(message_ref)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=message_id, gateway__in=[gateway, ""])
            .first()
            if message_id is not None
            else None
        )
        report = DeliveryReport.objects.create(
            gateway=gateway,
            message=message,
            message_ref=message_ref[:64],
            status=status,
            raw_status=raw[:20],
            detail=detail[:255],
        )
        if message is None:
            return report
        final = status in FINAL
        if message.state in {MessageState.DELIVERED, MessageState.FAILED}:
            return report  # the first final report stands
        if message.state in {
            MessageState.SKIPPED,
            MessageState.CANCELLED,
            MessageState.QUEUED,
            MessageState.PARKED,
        }:
            return report  # never handed over by this platform: nothing to move
        if message.report in FINAL:
            # The first final report stands, also while the row is still `sending` (its
            # batch not recorded yet): a replay or a contradiction changes nothing, and
            # the customer's callback is not announced twice.
            return report
        update = {"report": status, "report_at": now}
        if final and status != "delivered":
            update["error"] = (detail or status)[:255]  # kept when the batch follows
        if final and message.state in {MessageState.SENT, MessageState.UNKNOWN}:
            update["state"] = FINAL[status]
        elif message.state == MessageState.UNKNOWN:
            update["state"] = MessageState.SENT  # the gateway has it: settled, on its way
        Message.objects.filter(pk=message.pk).update(**update)
        if final and message.state in {
            MessageState.SENT,
            MessageState.SENDING,
            MessageState.UNKNOWN,
        }:
            # Customer callbacks: queued on commit, and only if the account listens.
            emit_message_status(message=message, status=FINAL[status], report=status, at=now)
    return report
