from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from callbacks.models import CallbackEvent


class CallbackForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example/sms-events"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=CallbackEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[CallbackEvent.MESSAGE_STATUS, CallbackEvent.INBOUND],
    )
