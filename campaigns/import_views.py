"""Customer-area pages for contact imports: upload, mapping, progress and the report."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import account_required
from campaigns import imports, tasks
from campaigns.forms import ImportMappingForm, ImportUploadForm
from campaigns.models import ContactImport, ImportStatus
from smsplatform.csvexport import csv_lines
from smsplatform.tasks import enqueue


def _import_for(request: HttpRequest, pk: int) -> ContactImport:
    return get_object_or_404(ContactImport, pk=pk, account=request.account)  # type: ignore[attr-defined]


@account_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_import = imports.import_upload(
                account=request.account,  # type: ignore[attr-defined]
                upload=form.cleaned_data["file"],
                user=request.user,
                list_name=form.cleaned_data["list_name"],
                consent_basis=form.cleaned_data["consent_basis"],
                consent_at=form.cleaned_data["consent_at"],
            )
        except imports.ImportRefused as error:
            form.add_error("file", error.message)
        else:
            return redirect("import-mapping", pk=contact_import.pk)
    recent = ContactImport.objects.filter(account=request.account)[:10]  # type: ignore[attr-defined]
    return render(
        request,
        "campaigns/import_upload.html",
        {"form": form, "recent": recent, "section": "contacts"},
    )


@account_required
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    contact_import = _import_for(request, pk)
    if contact_import.status != ImportStatus.MAPPING:
        return redirect("import-detail", pk=pk)
    form = ImportMappingForm(request.POST or None, contact_import=contact_import)
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_set_mapping(contact_import=contact_import, mapping=form.mapping())
        except imports.ImportRefused as error:
            form.add_error(None, error.message)
        else:
            enqueue(tasks.import_contacts, contact_import.pk)
            return redirect("import-detail", pk=pk)
    sample = imports.import_sample(contact_import)
    return render(
        request,
        "campaigns/import_mapping.html",
        {
            "form": form,
            "contact_import": contact_import,
            "sample": sample,
            "section": "contacts",
        },
    )


@account_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact_import = _import_for(request, pk)
    template = (
        "campaigns/_import_progress.html"
        if request.htmx  # type: ignore[attr-defined]
        else "campaigns/import_detail.html"
    )
    rejections = contact_import.rejections.all()[:20] if contact_import.finished else []
    return render(
        request,
        template,
        {"contact_import": contact_import, "rejections": rejections, "section": "contacts"},
    )


@account_required
def import_rejections(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every rejected row as CSV (line; value; reason), streamed. The values are the
    file's own cells: a formula among them is neutralised (smsplatform/csvexport.py)."""
    contact_import = _import_for(request, pk)
    rows = contact_import.rejections.values_list("line", "value", "reason").iterator(
        chunk_size=2000
    )
    response = StreamingHttpResponse(
        csv_lines([_("line"), _("value"), _("reason")], rows),
        content_type="text/csv; charset=utf-8",
    )
    name = contact_import.original_name.rsplit(".", 1)[0] or "import"
    # The uploaded file's name, quoted as RFC 6266 says (it may hold quotes or accents).
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{name}-rejected.csv"
    )
    return response
