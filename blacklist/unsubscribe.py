"""The public unsubscribe page behind the international mention's link ("ns.fr/k3x").

A recipient types their number. The answer is the same whatever the number, and comes
at once: the check ("did this account message this number?") and its effect (the
Blacklist entry, the confirmation SMS and its credit) run in a background task, so
neither the words nor the timing of the page tell whether a number is someone's
contact. A number the account never messaged gets nothing: no SMS goes to arbitrary
numbers. Submissions are rate-limited per client address and per number; the form is
CSRF-protected. The page speaks the browser's language.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited

from accounts.models import UNSUBSCRIBE_CODE_ALPHABET, Account
from campaigns.phone import InvalidNumber, normalize_number
from smsplatform.tasks import enqueue

CODE = re.compile(f"^[{UNSUBSCRIBE_CODE_ALPHABET}]{{2,12}}$")
_COUNTRY = re.compile(r"^[a-z]{2,3}-([a-z]{2})\b", re.IGNORECASE)


def browser_region(request: HttpRequest) -> str:
    """The country of the browser's first language with one ("en-GB" → GB), else FR."""
    for tag in request.headers.get("Accept-Language", "").split(","):
        match = _COUNTRY.match(tag.strip())
        if match:
            return match.group(1).upper()
    return "FR"


class UnsubscribeForm(forms.Form):
    number = forms.CharField(
        label=_("Your mobile number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "+44 7400 123456"}
        ),
    )

    def __init__(self, *args: object, region: str = "FR", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_number(self) -> str:
        raw = self.cleaned_data["number"]
        try:
            return normalize_number(raw, default_region=self.region).e164
        except InvalidNumber as error:
            raise forms.ValidationError(error.message) from None


def unsubscribe(request: HttpRequest, code: str) -> HttpResponse:
    code = code.lower()
    account = Account.objects.filter(unsubscribe_code=code).first() if CODE.match(code) else None
    if account is None:
        raise Http404("no such unsubscribe link")
    context = {"account": account}
    if request.method != "POST":
        context["form"] = UnsubscribeForm()
        return render(request, "blacklist/unsubscribe.html", context)

    if is_ratelimited(
        request,
        group="unsubscribe-ip",
        key="ip",
        rate=settings.SMS_UNSUBSCRIBE_RATE_IP,
        method="POST",
        increment=True,
    ):
        context["limited"] = True
        return render(request, "blacklist/unsubscribe.html", context, status=429)
    form = UnsubscribeForm(request.POST, region=browser_region(request))
    if not form.is_valid():
        context["form"] = form
        return render(request, "blacklist/unsubscribe.html", context, status=400)
    number = form.cleaned_data["number"]
    number_limited = is_ratelimited(
        request,
        group="unsubscribe-number",
        key=lambda _group, _request: f"{account.pk}:{number}",
        rate=settings.SMS_UNSUBSCRIBE_RATE_NUMBER,
        method="POST",
        increment=True,
    )
    if not number_limited:  # a number asked too often: the same answer, nothing more
        from blacklist.tasks import unsubscribe_request

        enqueue(unsubscribe_request, account.pk, number)
    context["done"] = True
    return render(request, "blacklist/unsubscribe.html", context)
