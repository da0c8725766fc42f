from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import ConsentBasis
from campaigns.phone import InvalidNumber, normalize_number


class ContactForm(forms.Form):
    phone_number = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        help_text=_("French numbers can be typed as 06 12 34 56 78; others with +country code."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    consent_basis = forms.ChoiceField(
        label=_("Consent"), choices=ConsentBasis.choices, required=False
    )
    consent_at = forms.DateTimeField(
        label=_("Consent date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_phone_number(self) -> str:
        raw: str = self.cleaned_data["phone_number"]
        try:
            normalize_number(raw)
        except InvalidNumber as error:
            raise forms.ValidationError(error.message, code=error.code) from None
        return raw
