"""The local gateway of the embedded default: nothing leaves the machine.

Every message is accepted and stays readable on the Outbox page (the message rows with
gateway "local"). Delivery reports are simulated a moment later through the same path
as a real gateway's: numbers ending in 99 fail ("unknown subscriber"), the rest are
delivered, so a newcomer sees the whole life of a message and its failure path.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from campaigns.gateways.base import Gateway, OutgoingSms, SendResult

FAILING_SUFFIX = "99"


def simulated_outcome(phone_number: str) -> tuple[str, str]:
    """(status, detail) the local gateway reports for a number."""
    if phone_number.endswith(FAILING_SUFFIX):
        return "failed", "simulated: unknown subscriber"
    return "delivered", "simulated"


class LocalGateway(Gateway):
    name = "local"

    def _send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        return [
            SendResult(message_id=m.message_id, accepted=True, gateway_id=f"local-{m.message_id}")
            for m in messages
        ]

    def after_accepted(self, message_ids: Sequence[int]) -> None:
        if not settings.SMS_LOCAL_REPORTS or not message_ids:
            return
        from campaigns.tasks import simulate_reports
        from smsplatform.tasks import enqueue_later

        enqueue_later(simulate_reports, settings.SMS_LOCAL_REPORT_DELAY, list(message_ids))
