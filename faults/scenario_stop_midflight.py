"""Issue 7 item 8: 1,000 recipients send STOP, through the real inbound webhook under
gunicorn, while a 100,000-recipient campaign is being dispatched by real workers.

The 1,000 numbers are spread over the part of the campaign not sent yet when the STOPs
begin (the first ones race dispatch's frontier). Each had a marketing message from the
account an hour before, so its STOP is attributed to the account. Counted: campaign
messages the carrier received for a number after that number's Blacklist entry was
created (`created_at`, written under the lock that orders it against dispatch): there
must be none. The rest as for every dispatch scenario: every other recipient once, the
ledger exact (skipped messages refunded), each STOP applied and confirmed once.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from faults.base import Result, Scenario
from faults.dispatch_faults import Context, run_campaign, verdict
from faults.edge_support import kannel_token, stamp
from faults.gunicorn_server import hammer

RECIPIENTS = 100_000
STOPS = 1_000
START_AT = 0.2  # share of the campaign received when the STOPs begin


def _stop_indexes() -> list[int]:
    first = int(RECIPIENTS * (START_AT + 0.01))
    step = (RECIPIENTS - first) // STOPS // 2 or 1  # over half of what is left
    return [first + n * step for n in range(STOPS)]


def _messaged_before(account: Any, numbers: list[str]) -> None:
    """A marketing message to each STOP number an hour ago: the STOP's attribution."""
    from django.utils import timezone

    from campaigns.dispatch import _remember_sent
    from campaigns.models import Message, MessageState

    chosen = [numbers[index] for index in _stop_indexes()]
    sent = Message.objects.bulk_create(
        Message(
            account=account, phone_number=number, region="GB", text="Soldes d'automne",
            segments=1, credits=1, marketing=True, state=MessageState.DELIVERED,
            gateway="local", sent_at=timezone.now() - timedelta(hours=1),
        )
        for number in chosen
    )  # fmt: skip
    _remember_sent([message.pk for message in sent])


def _stops(context: Context) -> str:
    token = kannel_token("faults-stop")
    run_id = stamp()
    chosen = [context.numbers[index] for index in _stop_indexes()]
    random.shuffle(chosen)
    path = f"/webhooks/kannel/inbound/{token}/"
    requests = [
        ("POST", path, {"id": f"{run_id}-{n}", "from": number, "to": "36034", "text": "STOP"})
        for n, number in enumerate(chosen)
    ]
    took: list[float] = []
    answers = hammer(context.web, requests, connections=20, durations=took)
    took.sort()
    # Each answer comes once the STOP is committed: while dispatch runs, a STOP also
    # waits for the chunk being submitted to its account (the STOP guard).
    p50, p99 = (took[int(len(took) * share)] * 1000 for share in (0.5, 0.99))
    return (
        f"{STOPS:,} STOPs posted to the inbound webhook: answers {dict(answers)}; "
        f"answered in p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {took[-1] * 1000:.0f} ms"
    )


def run() -> Result:
    from accounts.models import CreditEntry, EntryKind
    from blacklist.models import BlacklistEntry
    from campaigns.models import Message

    outcome = run_campaign(
        name="stop",
        recipients=RECIPIENTS,
        faults=[(START_AT, _stops)],
        prepare=_messaged_before,
    )
    result = verdict(outcome, RECIPIENTS)
    campaign = outcome.campaign
    if campaign is None or outcome.carrier is None:
        return result
    entries = dict(
        BlacklistEntry.objects.filter(account_id=campaign.account_id).values_list(
            "phone_number", "created_at"
        )
    )
    ids = dict(
        Message.objects.filter(campaign_id=campaign.pk, phone_number__in=list(entries)).values_list(
            "id", "phone_number"
        )
    )
    after = before = 0
    late: list[str] = []
    for record in outcome.carrier.received():
        number = ids.get(record.message_id)
        if number is None:
            continue
        if record.at > entries[number].timestamp():
            after += 1
            late.append(f"{number} {record.at - entries[number].timestamp():+.3f} s")
        else:
            before += 1
    skipped = Message.objects.filter(campaign_id=campaign.pk, state="skipped").count()
    debits = CreditEntry.objects.filter(
        account_id=campaign.account_id, kind=EntryKind.STOP_CONFIRMATION
    ).count()
    confirmations = Message.objects.filter(
        account_id=campaign.account_id, campaign__isnull=True, marketing=False
    ).count()
    result.notes.append(
        f"{len(entries):,} Blacklist entries, {debits:,} confirmation debits, "
        f"{confirmations:,} confirmations; of their campaign messages {before:,} reached "
        f"the carrier before the STOP, {after:,} AFTER IT (must be 0), {skipped:,} skipped"
    )
    if late:
        result.notes.append("after the STOP: " + "; ".join(late[:5]))
    result.passed = (
        result.passed and after == 0 and len(entries) == STOPS == debits == confirmations
    )
    return result


SCENARIO = Scenario(
    name="stop_midflight",
    description="1,000 STOPs through the webhook while 100,000 messages go out",
    run=run,
)
