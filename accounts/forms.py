from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, AccountType, timezone_choices
from campaigns.validators import sender_id_validator


class AlertsForm(forms.Form):
    add_stop_mention = forms.BooleanField(
        label=_("Add the STOP SMS mention automatically to my messages"), required=False
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"add_stop_mention": account.add_stop_mention})
        super().__init__(*args, **kwargs)
        if account.account_type == AccountType.MARKETING:
            # A disabled field ignores whatever is posted; the service refuses too.
            self.fields["add_stop_mention"].disabled = True
            self.fields["add_stop_mention"].initial = True


class ProfileForm(forms.Form):
    default_sender_id = forms.CharField(
        label=_("Default sender ID"),
        required=False,
        max_length=15,
        help_text=_(
            "3 to 11 letters and digits with at least one letter, or a number of up to 15 digits."
        ),
    )
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)

    def clean_default_sender_id(self) -> str:
        value: str = self.cleaned_data["default_sender_id"].strip()
        if not value:
            return ""
        sender_id_validator(value)
        return value


class AccountSwitchForm(forms.Form):
    account = forms.IntegerField()


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What uses it, e.g. “online shop”: you will tell your keys apart by it."),
    )
