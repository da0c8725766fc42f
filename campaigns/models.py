"""Contacts of an account (lists, campaigns and messages build on them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class ConsentBasis(models.TextChoices):
    # French law (CNIL) requires prior explicit consent for commercial SMS; we keep the
    # proof the marketer gives us, we cannot check it.
    UNKNOWN = "", _("Not recorded")
    OPT_IN = "opt_in", _("Explicit opt-in")
    CUSTOMER = "customer", _("Existing customer, similar products")
    OTHER = "other", _("Other (see note)")


class ContactList(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_lists")
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="one_list_name_per_account")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    lists = models.ManyToManyField(
        ContactList, related_name="contacts", blank=True, verbose_name=_("lists")
    )
    phone_number = models.CharField(_("phone number"), max_length=16)  # E.164
    # Stored once when the number is read, so dispatch and pricing never re-parse it.
    region = models.CharField(_("country"), max_length=2)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    consent_basis = models.CharField(
        _("consent"), max_length=20, choices=ConsentBasis.choices, blank=True
    )
    consent_at = models.DateTimeField(_("consent date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "phone_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "phone_number"], name="one_contact_per_number"
            )
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.phone_number}>" if name else self.phone_number


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ContactImport(models.Model):
    """One CSV file on its way into an account's contacts, read in the background.

    The file stays on disk (`path`) and is read a batch at a time; the row counters
    are the progress bar and the final report.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    target_list = models.ForeignKey(
        ContactList, on_delete=models.SET_NULL, null=True, blank=True, related_name="imports"
    )
    original_name = models.CharField(_("file"), max_length=255)
    path = models.CharField(max_length=500)
    size = models.BigIntegerField(_("size"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("separator"), max_length=1)
    has_header = models.BooleanField(_("first line is a header"), default=True)
    columns = models.JSONField(_("columns"), default=list)  # header names or "Column N"
    mapping = models.JSONField(_("mapping"), default=dict)  # {"0": "phone_number", ...}
    consent_basis = models.CharField(
        _("consent"), max_length=20, choices=ConsentBasis.choices, blank=True
    )
    consent_at = models.DateTimeField(_("consent date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("contacts created"), default=0)
    merged_count = models.PositiveIntegerField(_("contacts merged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rows rejected"), default=0)
    blacklisted_count = models.PositiveIntegerField(_("numbers on the Blacklist"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.processed_rows * 100 // self.total_rows)

    @property
    def finished(self) -> bool:
        return self.status in {ImportStatus.DONE, ImportStatus.FAILED}


class ImportRejection(models.Model):
    """A row of an import that was not taken, with why: the downloadable report."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="rejections"
    )
    line = models.PositiveIntegerField(_("line"))
    value = models.CharField(_("value"), max_length=255)
    reason = models.CharField(_("reason"), max_length=255)

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["contact_import", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    """One text sent to a set of recipients, now or at a set time.

    Life::

        draft ── launch ──> scheduled ── tick at `scheduled_at` ──> sending ──> completed
                  │                                                   │  ^
                  └── (send now) ───────────────────────────────────> │  │ resume
                                                        pause ──> paused ┘
        scheduled / sending / paused ── cancel ──> cancelled (unsent messages refunded)

    Launching fixes the recipients, writes one message row each with its exact text and
    cost, and debits the total once: a scheduled campaign has its credits reserved.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    sender_id = models.CharField(_("sender ID"), max_length=15, blank=True)
    text = models.TextField(_("message"))
    lists = models.ManyToManyField(
        ContactList, related_name="campaigns", blank=True, verbose_name=_("lists")
    )
    all_contacts = models.BooleanField(_("all contacts"), default=False)
    # Numbers typed on the compose page: [["+33612345678", "FR"], ...]
    numbers = models.JSONField(_("typed numbers"), default=list, blank=True)
    # What the sender asked for this send; a Marketing account gets the mention anyway.
    add_stop_mention = models.BooleanField(_("add STOP mention"), default=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The compose page's form this draft came from: "Save and review" clicked twice (or
    # re-sent by the browser) finds the draft it made instead of making a second one.
    form_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # Figures fixed at launch.
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)
    excluded_count = models.PositiveIntegerField(_("left out (Blacklist)"), default=0)
    no_consent_count = models.PositiveIntegerField(_("without recorded consent"), default=0)
    credits = models.PositiveBigIntegerField(_("credits debited"), default=0)
    # When the French part waits for the legal sending hours (Marketing accounts).
    french_not_before = models.DateTimeField(_("French messages from"), null=True, blank=True)
    # The last time a dispatch task worked on it: the tick restarts a stalled campaign.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaigns_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "form_token"],
                condition=~models.Q(form_token=""),
                name="one_campaign_per_compose_form",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == CampaignStatus.DRAFT

    @property
    def can_pause(self) -> bool:
        return self.status in {CampaignStatus.SENDING, CampaignStatus.SCHEDULED}

    @property
    def can_resume(self) -> bool:
        return self.status == CampaignStatus.PAUSED

    @property
    def can_cancel(self) -> bool:
        return self.status in {
            CampaignStatus.SCHEDULED,
            CampaignStatus.SENDING,
            CampaignStatus.PAUSED,
        }


class MessageState(models.TextChoices):
    """One message's life. Only `queued` rows can be claimed, and a claim is one UPDATE,
    so a duplicated or retried dispatch task never hands a message to the gateway twice.

    queued ──claim──> sending ──submitted──> sent ──DLR──> delivered | failed
      │                  │          ├──gateway rejects──> failed (refunded)
      │                  │          └──no answer (connection lost, worker died)──> unknown
      │                  ├──number blacklisted since launch──> skipped (refunded)
      │                  └──worker died before submitting──> queued again, or parked
      │                     after SMS_DISPATCH_MAX_ATTEMPTS (a batch that keeps crashing)
      └──campaign cancelled──> cancelled (refunded)

    `unknown` is never sent again by the platform: a delivery report settles it, or
    support staff decide (send again, or cancel and refund); `parked` waits for them too.
    """

    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Being handed to the gateway")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (Blacklist)")
    CANCELLED = "cancelled", _("Cancelled")
    UNKNOWN = "unknown", _("Outcome unknown")
    PARKED = "parked", _("Held for support")


class Message(models.Model):
    """One SMS to one number, with exactly the text and the cost it had at launch."""

    id = models.BigAutoField(primary_key=True)
    # Every state change rewrites the row's index entries: the table keeps few indexes
    # (the campaign's is the composite one below), so dispatch stays cheap.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
    )
    phone_number = models.CharField(_("phone number"), max_length=16)
    region = models.CharField(_("country"), max_length=2)
    sender_id = models.CharField(_("sender ID"), max_length=15, blank=True)
    text = models.TextField(_("text sent"))
    ucs2 = models.BooleanField(_("UCS-2"), default=False)
    segments = models.PositiveSmallIntegerField(_("SMS"))
    credits = models.PositiveIntegerField(_("credits"))
    marketing = models.BooleanField(_("marketing"), default=True)
    state = models.CharField(
        _("state"), max_length=10, choices=MessageState.choices, default=MessageState.QUEUED
    )
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    claim = models.CharField(max_length=40, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) right before the row's chunk goes to the gateway: a claim left
    # behind by a dead worker is safe to queue again only where this is empty.
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # Claims so far; a row whose batch keeps crashing is parked at the limit. A database
    # default: launch writes rows with COPY, naming its columns.
    attempts = models.PositiveSmallIntegerField(_("attempts"), db_default=0)
    gateway = models.CharField(_("gateway"), max_length=20, blank=True)
    gateway_id = models.CharField(_("gateway id"), max_length=64, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    report = models.CharField(_("last delivery report"), max_length=20, blank=True)
    report_at = models.DateTimeField(_("report received"), null=True, blank=True)
    # Filled by the database (launch writes rows with COPY and INSERT ... SELECT, which
    # name their columns): no index, so dispatch's updates stay as cheap as before.
    created_at = models.DateTimeField(_("created"), db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["id"]
        # Claims take the next queued rows of a campaign in id order; progress counts
        # by state: both read this one index.
        indexes = [
            models.Index(fields=["campaign", "state", "id"], name="messages_by_state"),
            models.Index(fields=["account", "-sent_at"], name="messages_by_account"),
            # Messages outside campaigns (STOP confirmations, single sends) by number, for
            # a STOP's cancellation. Partial: campaign rows never enter it, so a launch or
            # a batch writes no entry in it (an index on every row's number made both
            # three times slower). Attribution reads LastSent.
            models.Index(
                fields=["phone_number"],
                name="single_messages_by_number",
                condition=models.Q(campaign__isnull=True),
            ),
            # Rows queued again after their batch crashed or their worker died, claimed one
            # at a time: found here, not by walking the campaign's index past every entry
            # the campaign's sent rows left until vacuum (0.4 s a claim at 100,000 rows).
            # Partial: a row enters it only when released, so dispatch writes no entry.
            models.Index(
                fields=["campaign", "id"],
                name="messages_to_retry",
                condition=models.Q(state="queued", attempts__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.state})"


class LastSent(models.Model):
    """Who last handed a message to a number: one row per (number, account), written by
    dispatch once per batch (an upsert of the batch's rows), so neither question below
    ever scans the messages.

    - `sent_at`: the account's last message of any kind to the number; the unsubscribe
      page asks "did this account ever message this number?".
    - `marketing_at`, `message_id`, `campaign_id`: its last marketing message; a STOP is
      attributed to the account with the latest one. (A STOP confirmation or a
      notification never moves them.)
    """

    phone_number = models.CharField(_("phone number"), max_length=16)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(_("sent"))
    marketing_at = models.DateTimeField(null=True)
    message_id = models.BigIntegerField(null=True)
    campaign_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["phone_number", "account"], name="one_last_sent_per_number_and_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ← {self.account_id} ({self.sent_at:%Y-%m-%d})"


class DeliveryReport(models.Model):
    """Every delivery report a gateway sent us, as received, matched or not.

    `message` is empty when the id was unknown: kept for support, never a crash.
    """

    gateway = models.CharField(_("gateway"), max_length=20)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    message_ref = models.CharField(_("message id as received"), max_length=64)
    status = models.CharField(_("status"), max_length=20)
    raw_status = models.CharField(_("gateway status"), max_length=20)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("delivery report")
        verbose_name_plural = _("delivery reports")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.gateway} {self.message_ref}: {self.status}"
