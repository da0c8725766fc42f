"""What a message will send and cost for an account and its recipients.

The Django side of the text engine: it brings the account's STOP rules, the platform's
shortcode, the rates and the recipients' regions, and lets `campaigns.text` decide.
The compose page, its JSON endpoint and `manage.py preview_sms` all go through here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef

from accounts.models import Account
from accounts.selectors import rate_for_region, rates_table
from campaigns.models import Contact, ContactList
from campaigns.phone import NormalizedNumber
from campaigns.text import Composition, StopRules, compose_for, mention_applies
from campaigns.text.mention import FRENCH_REGION

# The region that stands for "any other country" in the international variant.
INTERNATIONAL_SAMPLE_REGION = "ZZ"


def stop_rules(account: Account, *, requested: bool | None = None) -> StopRules:
    """The account's STOP rules for one send.

    `requested` is what the sender asked for this send (None: the account's default in
    Settings › Alerts). A Marketing account gets the mention whatever was asked.
    """
    wanted = account.add_stop_mention if requested is None else requested
    return StopRules(
        shortcode=settings.SMS_SHORTCODE,
        unsubscribe_link=account.unsubscribe_link,
        add_mention=mention_applies(marketing=account.is_marketing, requested=wanted),
    )


def compose_one(
    account: Account,
    text: str,
    *,
    region: str,
    requested: bool | None = None,
    rates: dict[str, int] | None = None,
) -> Composition:
    """The exact message one destination of `region` receives, with its cost.

    Pass `rates` (accounts.selectors.rates_table()) when composing for many numbers.
    """
    return compose_for(
        text,
        region=region,
        rules=stop_rules(account, requested=requested),
        rate=rate_for_region(region=region, rates=rates),
    )


@dataclass(frozen=True)
class RecipientCount:
    """How many recipients per destination region."""

    by_region: dict[str, int] = field(default_factory=dict)

    @property
    def french(self) -> int:
        return self.by_region.get(FRENCH_REGION, 0)

    @property
    def international(self) -> int:
        return sum(n for region, n in self.by_region.items() if region != FRENCH_REGION)

    @property
    def total(self) -> int:
        return sum(self.by_region.values())


def count_recipients(
    account: Account,
    *,
    numbers: list[NormalizedNumber],
    all_contacts: bool,
    lists: Iterable[ContactList] = (),
) -> RecipientCount:
    """Regions of the typed numbers and of the chosen contacts (all, or those of the
    lists), each number once."""
    counts: Counter[str] = Counter()
    typed = {number.e164: number.region for number in numbers}
    list_ids = [item.pk for item in lists]
    if all_contacts or list_ids:
        contacts = Contact.objects.filter(account=account)
        if not all_contacts:
            contacts = contacts.filter(
                Exists(
                    Contact.lists.through.objects.filter(
                        contact_id=OuterRef("pk"), contactlist_id__in=list_ids
                    )
                )
            )
        for row in contacts.values("region").order_by().annotate(n=Count("id")):
            counts[row["region"]] += row["n"]
        known = set(contacts.filter(phone_number__in=typed).values_list("phone_number", flat=True))
        typed = {e164: region for e164, region in typed.items() if e164 not in known}
    counts.update(typed.values())
    return RecipientCount(by_region=dict(counts))


@dataclass(frozen=True)
class VariantCost:
    composition: Composition
    recipients: int
    credits: int
    # Credits this variant would cost with one segment less, per the rates of its regions.
    credits_per_segment: int


@dataclass(frozen=True)
class Preview:
    """The compose page's right-hand panel: both variants, the totals and the advice."""

    text: str
    add_mention: bool
    mention_locked: bool
    french: VariantCost
    international: VariantCost
    recipients: RecipientCount
    balance: int

    @property
    def credits(self) -> int:
        return self.french.credits + self.international.credits

    @property
    def enough_credits(self) -> bool:
        return self.credits <= self.balance

    @property
    def missing_credits(self) -> int:
        return max(0, self.credits - self.balance)

    @property
    def variants(self) -> tuple[VariantCost, VariantCost]:
        return (self.french, self.international)

    @property
    def non_gsm(self) -> tuple[Any, ...]:
        # The mention is plain ASCII: both variants list the same characters.
        return self.french.composition.non_gsm

    def replacement_saving(self) -> int:
        """Credits replacing every replaceable non-GSM character saves on these recipients."""
        if not any(c.replacement is not None for c in self.non_gsm):
            return 0
        saved = 0
        for variant in self.variants:
            better = variant.composition.with_replacements()
            saved += (variant.composition.segments - better.segments) * variant.credits_per_segment
        return saved


def build_preview(
    account: Account,
    text: str,
    *,
    requested: bool | None = None,
    recipients: RecipientCount | None = None,
) -> Preview:
    counts = recipients or RecipientCount()
    rules = stop_rules(account, requested=requested)
    rates = rates_table()

    def variant(region: str, regions: dict[str, int]) -> VariantCost:
        composition = compose_for(
            text, region=region, rules=rules, rate=rate_for_region(region=region, rates=rates)
        )
        # One rate per recipient's region: the same segments, each at its country's price.
        per_segment = sum(n * rate_for_region(region=r, rates=rates) for r, n in regions.items())
        return VariantCost(
            composition=composition,
            recipients=sum(regions.values()),
            credits=composition.segments * per_segment,
            credits_per_segment=per_segment,
        )

    french_regions = {r: n for r, n in counts.by_region.items() if r == FRENCH_REGION}
    other_regions = {r: n for r, n in counts.by_region.items() if r != FRENCH_REGION}
    return Preview(
        text=text,
        add_mention=rules.add_mention,
        mention_locked=account.stop_mention_locked,
        french=variant(FRENCH_REGION, french_regions),
        international=variant(INTERNATIONAL_SAMPLE_REGION, other_regions),
        recipients=counts,
        balance=account.credit_balance,
    )


def composition_json(composition: Composition, **extra: Any) -> dict[str, Any]:
    """The JSON shape of one message, shared by the endpoint and `preview_sms`."""
    return {
        **extra,
        "text_sent": composition.text_sent,
        "encoding": composition.encoding.value,
        "units": composition.units,
        "segments": composition.segments,
        "credits": composition.credits,
        "mention": composition.mention or None,
        "non_gsm_chars": [
            {
                "char": c.char,
                "count": c.count,
                "replacement": c.replacement,
                "fidelity": c.fidelity.value if c.fidelity else None,
            }
            for c in composition.non_gsm
        ],
    }
