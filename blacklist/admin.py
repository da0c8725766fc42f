"""Support staff's side of the replies: gateway connections (secrets rotated here and
shown once), every reply received, and the queue of STOPs no account was found for."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from blacklist.models import (
    BlacklistEntry,
    BlacklistEvent,
    GatewayConnection,
    InboundMessage,
    InboundStatus,
    RejectedInbound,
    UnattributedStop,
)
from blacklist.services import assign_unattributed, connection_create, connection_rotate


def _show_secret(request: HttpRequest, connection: GatewayConnection, secret: str) -> None:
    message = _("Secret of %(name)s (shown once, only its hash is kept): %(secret)s") % {
        "name": connection.name,
        "secret": secret,
    }
    if connection.kind == "kannel":
        url = request.build_absolute_uri(reverse("kannel-inbound", args=[secret]))
        # Kannel's defaults lose replies: a get-url cannot carry a long one, and without
        # mo-recode a UCS-2 one reaches a get-url as unreadable UTF-16BE bytes; a post-url
        # leaves the sender out unless send-sender is set.
        message += " — " + _(
            "get-url: %(get_url)s — post-url (long replies): %(post_url)s with "
            "send-sender = true — in the smsbox group: mo-recode = true (UCS-2 replies)"
        ) % {
            "get_url": url + "?from=%p&to=%P&text=%a&id=%I&smsc=%i",
            "post_url": url + "?id=%I",
        }
    else:
        url = request.build_absolute_uri(reverse("json-inbound", args=[connection.name]))
        message += " — POST JSON to " + url + " (X-Signature: HMAC-SHA256)"
    messages.warning(request, message)


@admin.register(GatewayConnection)
class GatewayConnectionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "shortcode", "secret_hint", "active", "rotated_at"]
    readonly_fields = ["secret_hint", "created_at", "rotated_at"]
    fields = ["name", "kind", "shortcode", "active", "secret_hint", "created_at", "rotated_at"]
    actions = ["rotate"]

    def save_model(
        self, request: HttpRequest, obj: GatewayConnection, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        connection, secret = connection_create(name=obj.name, kind=obj.kind)
        connection.shortcode = obj.shortcode or connection.shortcode
        connection.active = obj.active
        connection.save(update_fields=["shortcode", "active"])
        obj.pk = connection.pk
        _show_secret(request, connection, secret)

    @admin.action(description=_("Rotate the secret (the old one stops working at once)"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[GatewayConnection]) -> None:
        for connection in queryset:
            _show_secret(request, connection, connection_rotate(connection))


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnly):
    list_display = ["received_at", "sender", "text", "intent", "status", "account", "campaign"]
    list_filter = ["status", "intent", "connection"]
    search_fields = ["sender", "carrier_id", "text"]
    date_hierarchy = "received_at"


class AssignForm(forms.ModelForm):
    assign_to = forms.ModelChoiceField(
        queryset=Account.objects.order_by("name"),
        label=_("Assign to account"),
        help_text=_(
            "The number goes on this account's Blacklist, with the confirmation SMS and its "
            "credit, exactly as if the STOP had been attributed to it."
        ),
    )

    class Meta:
        model = UnattributedStop
        fields: list[str] = []


@admin.register(UnattributedStop)
class UnattributedStopAdmin(admin.ModelAdmin):
    form = AssignForm
    list_display = ["received_at", "sender", "text", "connection"]
    search_fields = ["sender", "text"]
    readonly_fields = ["sender", "text", "received_at", "connection", "carrier_id"]
    fields = ["sender", "text", "received_at", "connection", "carrier_id", "assign_to"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UnattributedStop]:
        return super().get_queryset(request).filter(status=InboundStatus.UNATTRIBUTED)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: UnattributedStop, form: Any, change: bool
    ) -> None:
        account = form.cleaned_data["assign_to"]
        status = assign_unattributed(obj, account, request.user)
        messages.success(
            request,
            _("%(number)s: %(outcome)s on %(account)s.")
            % {"number": obj.sender, "outcome": InboundStatus(status).label, "account": account},
        )


@admin.register(RejectedInbound)
class RejectedInboundAdmin(ReadOnly):
    list_display = ["received_at", "connection", "reason"]
    list_filter = ["connection"]


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ReadOnly):
    list_display = ["phone_number", "account", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["phone_number", "account__name"]


@admin.register(BlacklistEvent)
class BlacklistEventAdmin(ReadOnly):
    list_display = ["at", "phone_number", "account", "action", "source", "reason"]
    list_filter = ["action", "source"]
    search_fields = ["phone_number"]
