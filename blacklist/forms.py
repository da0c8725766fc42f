from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blacklist.models import BlacklistSource
from campaigns.phone import InvalidNumber, normalize_number

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_LINES = 50_000


@dataclass(frozen=True)
class LineError:
    line: int
    value: str
    reason: str


class BlacklistFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Number"), required=False)
    source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        choices=[("", gettext_lazy("All sources")), *BlacklistSource.choices],
    )
    since = forms.DateField(
        label=gettext_lazy("Added from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class BlacklistAddForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("A number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"placeholder": "06 12 34 56 78", "inputmode": "tel"}),
    )
    file = forms.FileField(
        label=gettext_lazy("Or a CSV file"),
        required=False,
        help_text=gettext_lazy(
            "One number per line, in the first column; a header line is skipped. UTF-8 or "
            "Windows-1252, up to 50,000 lines."
        ),
    )
    note = forms.CharField(label=gettext_lazy("Note (optional)"), required=False, max_length=200)

    def clean_number(self) -> str:
        raw = self.cleaned_data["number"].strip()
        if not raw:
            return ""
        try:
            return normalize_number(raw).e164
        except InvalidNumber as error:
            raise forms.ValidationError(error.message) from None

    def clean_file(self) -> object:
        upload = self.cleaned_data.get("file")
        if upload and upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        return upload

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("number") and not data.get("file") and not self.errors:
            raise forms.ValidationError(_("Give a number or a CSV file."))
        return data

    def numbers(self) -> tuple[list[str], list[LineError]]:
        """The valid numbers (each once) and the rejected lines of the file."""
        found: dict[str, None] = {}
        errors: list[LineError] = []
        if self.cleaned_data.get("number"):
            found[self.cleaned_data["number"]] = None
        upload = self.cleaned_data.get("file")
        if not upload:
            return list(found), errors
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", "replace")
        if "\x00" in text:
            errors.append(LineError(0, "", _("This is not a text file.")))
            return list(found), errors
        sample = text[:4096]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
        except csv.Error:
            dialect = csv.excel
        for line, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
            if line > MAX_LINES:
                errors.append(LineError(line, "", _("Lines after 50,000 were not read.")))
                break
            value = (row[0] if row else "").strip()
            if not value:
                continue
            try:
                found[normalize_number(value).e164] = None
            except InvalidNumber as error:
                if line == 1:
                    continue  # a header ("numéro", "phone"…)
                errors.append(LineError(line, value[:40], error.message))
        return list(found), errors


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why remove this number?"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Kept in the number's history. Only remove a number whose owner asked to "
            "receive your messages again."
        ),
    )
