"""Customer-area pages for contacts."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import account_required
from campaigns import selectors, services
from campaigns.errors import DuplicateContact
from campaigns.forms import ContactForm

CONTACTS_PER_PAGE = 50


@account_required
def contact_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")
    contacts = selectors.contact_list(account=request.account, search=search)  # type: ignore[attr-defined]
    page = Paginator(contacts, CONTACTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/contact_list.html",
        {"page": page, "search": search, "section": "contacts"},
    )


@account_required
def contact_create(request: HttpRequest) -> HttpResponse:
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(account=request.account, **form.cleaned_data)  # type: ignore[attr-defined]
        except DuplicateContact as error:
            form.add_error("phone_number", error.message)
        else:
            messages.success(request, _("Contact %(contact)s added.") % {"contact": contact})
            return redirect("contact-list")
    return render(request, "campaigns/contact_form.html", {"form": form, "section": "contacts"})


@account_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    initial = {
        "phone_number": contact.phone_number,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "consent_basis": contact.consent_basis,
        "consent_at": contact.consent_at,
    }
    form = ContactForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, **form.cleaned_data)
        except DuplicateContact as error:
            form.add_error("phone_number", error.message)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("contact-list")
    return render(
        request,
        "campaigns/contact_form.html",
        {"form": form, "contact": contact, "section": "contacts"},
    )


@require_POST
@account_required
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(account=request.account, pk=pk)  # type: ignore[attr-defined]
    services.contact_delete(contact=contact)
    messages.success(request, _("Contact deleted."))
    return redirect("contact-list")
