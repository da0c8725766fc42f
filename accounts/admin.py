"""Support staff's tools. Every change that matters goes through a service, so the audit
log and the STOP rule cannot be bypassed from here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import (
    Account,
    AccountType,
    AuditLog,
    CountryRate,
    CreditEntry,
    Membership,
)
from smsplatform.errors import DomainError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the audit log."),
    )


class CreditAdjustmentForm(forms.Form):
    amount = forms.IntegerField(
        label=_("Credits"), help_text=_("Positive to add, negative to remove.")
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a number of credits other than 0."))
        return amount


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "account_type",
        "add_stop_mention",
        "credit_balance",
        "created_at",
    ]
    list_filter = ["account_type", "add_stop_mention"]
    search_fields = ["name", "slug", "memberships__user__username", "memberships__user__email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    actions = ["switch_to_notification", "switch_to_marketing"]
    fields = [
        "name",
        "slug",
        "account_type",
        "add_stop_mention",
        "default_sender_id",
        "timezone",
        "unsubscribe_code",
        "balance_with_actions",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> list[str]:
        # Type and STOP mention only change through the audited actions.
        if obj is None:
            return ["unsubscribe_code", "balance_with_actions", "add_stop_mention"]
        return [
            "account_type",
            "add_stop_mention",
            "unsubscribe_code",
            "balance_with_actions",
        ]

    @admin.display(description=_("Credit balance"))
    def balance_with_actions(self, obj: Account) -> str:
        if obj.pk is None:
            return "0"
        adjust = reverse("admin:accounts_account_adjust_credits", args=[obj.pk])
        ledger = reverse("admin:accounts_creditentry_changelist") + f"?account__id__exact={obj.pk}"
        return format_html(
            '{} &nbsp; <a href="{}">{}</a> · <a href="{}">{}</a>',
            obj.credit_balance,
            adjust,
            _("Adjust credits"),
            ledger,
            _("Ledger"),
        )

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.account_create(
            name=obj.name,
            slug=obj.slug,
            account_type=obj.account_type,
            default_sender_id=obj.default_sender_id,
            actor=request.user,
        )
        obj.pk = created.pk
        obj.unsubscribe_code = created.unsubscribe_code
        obj.add_stop_mention = created.add_stop_mention
        obj._state.adding = False
        obj._state.db = created._state.db

    # --- Type switches --------------------------------------------------------------
    @admin.action(description=_("Switch to Notification"), permissions=["change"])
    def switch_to_notification(
        self, request: HttpRequest, queryset: QuerySet[Account]
    ) -> HttpResponse | None:
        return self._switch(request, queryset, AccountType.NOTIFICATION, "switch_to_notification")

    @admin.action(description=_("Switch to Marketing"), permissions=["change"])
    def switch_to_marketing(
        self, request: HttpRequest, queryset: QuerySet[Account]
    ) -> HttpResponse | None:
        return self._switch(request, queryset, AccountType.MARKETING, "switch_to_marketing")

    def _switch(
        self,
        request: HttpRequest,
        queryset: QuerySet[Account],
        new_type: AccountType,
        action: str,
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            switched = 0
            for account in queryset:
                if account.account_type != new_type:
                    services.account_switch_type(
                        account=account,
                        new_type=new_type,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                    switched += 1
            self.message_user(
                request,
                _("%(count)d account(s) switched to %(type)s.")
                % {"count": switched, "type": new_type.label},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/accounts/account/switch_type.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Switch to %(type)s") % {"type": new_type.label},
                "opts": self.model._meta,
                "accounts": queryset,
                "new_type": new_type,
                "form": form,
                "action": action,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "is_marketing": new_type == AccountType.MARKETING,
            },
        )

    # --- Credit adjustments ---------------------------------------------------------
    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/adjust-credits/",
                self.admin_site.admin_view(self.adjust_credits_view),
                name="accounts_account_adjust_credits",
            ),
            *super().get_urls(),
        ]

    def adjust_credits_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(Account, pk=pk)
        if not self.has_change_permission(request, account):
            return HttpResponseRedirect(reverse("admin:index"))
        form = CreditAdjustmentForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.credits_adjust(
                    account=account,
                    amount=form.cleaned_data["amount"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                form.add_error("amount", error.message)
            else:
                self.message_user(
                    request,
                    _("Balance of %(account)s is now %(balance)s credits.")
                    % {"account": account, "balance": account.credit_balance},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:accounts_account_change", args=[account.pk])
                )
        return TemplateResponse(
            request,
            "admin/accounts/account/adjust_credits.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Adjust credits of %(account)s") % {"account": account},
                "opts": self.model._meta,
                "original": account,
                "form": form,
            },
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger and the audit log are written by services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "amount",
        "kind",
        "balance_after",
        "reference",
        "note",
        "created_by",
    ]
    list_filter = ["kind", "account"]
    search_fields = ["reference", "account__name", "account__slug", "note"]
    list_select_related = ["account", "created_by"]
    date_hierarchy = "created_at"


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "account", "before", "after", "actor", "reason"]
    list_filter = ["action"]
    search_fields = ["account__name", "account__slug", "reason", "actor__username"]
    list_select_related = ["account", "actor"]
    date_hierarchy = "created_at"


@admin.register(CountryRate)
class CountryRateAdmin(admin.ModelAdmin):
    list_display = ["region", "credits_per_segment", "updated_at"]
    search_fields = ["region"]

    def save_model(self, request: HttpRequest, obj: CountryRate, form: Any, change: bool) -> None:
        saved = services.rate_set(
            region=obj.region,
            credits_per_segment=obj.credits_per_segment,
            actor=request.user,
        )
        obj.pk = saved.pk
        obj._state.adding = False
