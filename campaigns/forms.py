from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from campaigns.models import ConsentBasis, ContactList
from campaigns.phone import InvalidNumber, NormalizedNumber, normalize_number
from campaigns.validators import sender_id_validator


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


MAX_TEXT_LENGTH = 1600  # ten GSM segments and more: longer texts are refused, not cut
MAX_TYPED_NUMBERS = 1000  # beyond that, import the numbers as contacts
_NUMBER_SEPARATORS = re.compile(r"[\n,;]+")


class ComposeForm(forms.Form):
    """The compose page: text, sender, recipients and the STOP box under the account rules."""

    max_text_length = MAX_TEXT_LENGTH

    text = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 7, "autofocus": True, "spellcheck": "true"}),
    )
    sender_id = forms.CharField(
        label=_("Sender ID"),
        required=False,
        max_length=15,
        validators=[sender_id_validator],
        help_text=_(
            "3 to 11 letters and digits with at least one letter, or a number of up to 15 digits."
        ),
    )
    recipients = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "06 12 34 56 78\n+44 7400 123456"}),
        help_text=_(
            "One per line, or separated by commas. French numbers can be typed nationally."
        ),
    )
    all_contacts = forms.BooleanField(label=_("All my contacts"), required=False)
    # One per compose page shown: saving the same page twice gives one draft.
    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    lists = forms.ModelMultipleChoiceField(
        label=_("Contact lists"),
        queryset=ContactList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    add_stop_mention = forms.BooleanField(label=_("Add STOP mention"), required=False)
    name = forms.CharField(
        label=_("Campaign name"),
        required=False,
        max_length=120,
        help_text=_("For you only; recipients never see it."),
    )
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to send as soon as you launch. Your account's time zone."),
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("sender_id", account.default_sender_id)
        initial.setdefault("add_stop_mention", account.add_stop_mention)
        initial.setdefault("form_token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["lists"].queryset = ContactList.objects.filter(account=account)
        if account.stop_mention_locked:
            # A disabled field ignores whatever is posted: the mention stays on.
            field = self.fields["add_stop_mention"]
            field.disabled = True
            field.initial = True

    def clean_text(self) -> str:
        # Browsers post line breaks as CR LF; the user typed one character, sent as LF.
        return self.cleaned_data["text"].replace("\r\n", "\n")

    def clean_recipients(self) -> list[NormalizedNumber]:
        raw: str = self.cleaned_data["recipients"]
        entries = [entry.strip() for entry in _NUMBER_SEPARATORS.split(raw) if entry.strip()]
        if len(entries) > MAX_TYPED_NUMBERS:
            raise forms.ValidationError(
                _(
                    "%(count)d numbers typed: up to %(max)d can be typed here. "
                    "Import longer lists as contacts."
                ),
                code="too_many",
                params={"count": len(entries), "max": MAX_TYPED_NUMBERS},
            )
        numbers, problems = [], []
        for position, entry in enumerate(entries, start=1):
            try:
                numbers.append(normalize_number(entry))
            except InvalidNumber as error:
                problems.append(
                    forms.ValidationError(
                        _("Number %(position)d, “%(value)s”: %(reason)s"),
                        code=error.code,
                        params={"position": position, "value": entry, "reason": error.message},
                    )
                )
        if problems:
            raise forms.ValidationError(problems)
        return numbers

    def clean_send_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data["send_at"]
        if value is None:
            return None
        zone = zoneinfo.ZoneInfo(self.account.timezone)
        value = value.replace(tzinfo=zone) if timezone.is_naive(value) else value
        if value < timezone.now() - timedelta(minutes=1):
            raise forms.ValidationError(_("This time is in the past."), code="past")
        return value

    def clean_for_campaign(self) -> None:
        """What saving as a campaign needs beyond a preview: a name, a text, recipients."""
        data = self.cleaned_data
        if not data.get("name", "").strip():
            self.add_error("name", _("Give the campaign a name."))
        if not data.get("text", "").strip():
            self.add_error("text", _("Write the message."))
        if not (data.get("recipients") or data.get("all_contacts") or data.get("lists")):
            self.add_error(
                None, _("Choose recipients: a contact list, all your contacts or typed numbers.")
            )

    def clean_form_token(self) -> str:
        """Ours or nothing: anything else saves as a page without a token would."""
        token = self.cleaned_data.get("form_token", "")
        return token if re.fullmatch(r"[0-9a-f]{32}", token) else ""

    def requested_mention(self) -> bool:
        """The STOP box as sent (the account default when the form did not validate)."""
        if self.fields["add_stop_mention"].disabled:
            return True
        if hasattr(self, "cleaned_data") and "add_stop_mention" in self.cleaned_data:
            return bool(self.cleaned_data["add_stop_mention"])
        return self.account.add_stop_mention


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 or Windows-1252 (Excel), separated by ; or , — with or without a header."
        ),
    )
    list_name = forms.CharField(
        label=_("Add to the list"),
        required=False,
        max_length=120,
        help_text=_("A new or existing list; leave empty to add to your contacts only."),
    )
    consent_basis = forms.ChoiceField(
        label=_("Consent of these contacts"), choices=ConsentBasis.choices, required=False
    )
    consent_at = forms.DateTimeField(
        label=_("Consent date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class ImportMappingForm(forms.Form):
    """One choice per column of the file: what it holds."""

    def __init__(self, *args: Any, contact_import: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contact_import = contact_import
        for index, name in enumerate(contact_import.columns):
            choices = [
                ("", _("Ignore")),
                ("phone_number", _("Phone number")),
                ("first_name", _("First name")),
                ("last_name", _("Last name")),
                ("consent_at", _("Consent date")),
                (f"field:{name}", _("Custom field “%(name)s”") % {"name": name}),
            ]
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name,
                choices=choices,
                required=False,
                initial=contact_import.mapping.get(str(index), ""),
            )

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("column_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("column_") and value
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        phones = [name for name, value in cleaned.items() if value == "phone_number"]
        if len(phones) != 1:
            raise forms.ValidationError(
                _("Choose exactly one column holding the phone numbers."), code="phone_column"
            )
        return cleaned
