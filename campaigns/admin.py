"""Support staff's side of campaigns: contacts, and the messages the platform will not
settle by itself (an unknown outcome, a batch that kept failing), with the decisions
support takes on them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.dispatch import messages_cancel, messages_send_again
from campaigns.models import Contact, Message, MessageState


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "first_name", "last_name", "region", "account", "consent_basis"]
    list_filter = ["region", "consent_basis"]
    search_fields = ["phone_number", "first_name", "last_name", "account__slug"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


class NeedsSupport(admin.SimpleListFilter):
    title = _("needs a decision")
    parameter_name = "decision"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("unknown", _("Outcome unknown, no delivery report")),
            ("parked", _("Held for support")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "unknown":
            return queryset.filter(state=MessageState.UNKNOWN, report="")
        if self.value() == "parked":
            return queryset.filter(state=MessageState.PARKED)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Messages are written by dispatch only: support reads them and, for an unknown or
    parked one, decides (send again, or cancel and refund)."""

    list_display = [
        "id",
        "account",
        "campaign",
        "phone_number",
        "state",
        "attempts",
        "submitted_at",
        "report",
        "error",
    ]
    list_filter = [NeedsSupport, "state"]
    search_fields = ["=id", "=phone_number", "account__slug"]
    list_select_related = ["account", "campaign"]
    show_full_result_count = False  # the table is large: no COUNT(*) per page
    actions = ["send_again", "cancel_and_refund"]
    readonly_fields = [field.name for field in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Send again (not received by the gateway)"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = messages_send_again(queryset)
        skipped = queryset.count() - count
        messages.success(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
        )
        if skipped:
            messages.warning(
                request,
                _(
                    "%(count)d left as they were: only parked messages and unknown ones "
                    "without a delivery report, outside cancelled campaigns, can be sent again."
                )
                % {"count": skipped},
            )

    @admin.action(description=_("Cancel and refund"))
    def cancel_and_refund(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count, refunded = messages_cancel(queryset, actor=request.user)
        messages.success(
            request,
            ngettext(
                "%(count)d message cancelled, %(credits)d credits refunded.",
                "%(count)d messages cancelled, %(credits)d credits refunded.",
                count,
            )
            % {"count": count, "credits": refunded},
        )
