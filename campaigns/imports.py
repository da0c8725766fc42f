"""Contact imports: upload, column mapping, and the background run in batches.

    upload ──> mapping ──> queued ──> running ──> done
                                          └─────> failed (the error is kept)

The run streams the file a thousand rows at a time: numbers normalised to E.164 with
their region, Blacklist numbers skipped and counted, duplicates merged (in the file and
with existing contacts), every rejected row kept with its line, value and reason.
Running it twice gives the same contacts: each batch is an upsert.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import reset_queries, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from blacklist.models import BlacklistEntry
from campaigns import csvfile
from campaigns.models import Contact, ContactImport, ContactList, ImportRejection, ImportStatus
from campaigns.phone import InvalidNumber, normalize_number
from smsplatform.errors import DomainError

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# Each column gets a choice on the mapping page, whose form has one field per column.
MAX_COLUMNS = 200


class ImportRefused(DomainError):
    code = "import_refused"
    http_status = 422


def import_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_upload(
    *,
    account: Account,
    upload: UploadedFile,
    user: Any,
    list_name: str = "",
    consent_basis: str = "",
    consent_at: datetime | None = None,
) -> ContactImport:
    """Store the file on disk in chunks, sniff it and wait for the column mapping."""
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            _("The file is %(size)d MB: at most %(max)d MB per import.")
            % {"size": upload.size // 2**20, "max": MAX_UPLOAD_BYTES // 2**20}
        )
    path = import_dir() / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        sniffed = csvfile.sniff(path)
    except csvfile.NotText:
        path.unlink(missing_ok=True)
        raise ImportRefused(
            _(
                "This is not a CSV file: save the spreadsheet as CSV (UTF-8 or Windows-1252, "
                "separated by ; or ,) and import that file."
            )
        ) from None
    if not sniffed.columns:
        path.unlink(missing_ok=True)
        raise ImportRefused(_("The file is empty."))
    if len(sniffed.columns) > MAX_COLUMNS:
        path.unlink(missing_ok=True)
        raise ImportRefused(
            _("The file has %(count)d columns: at most %(max)d. Keep the columns you need.")
            % {"count": len(sniffed.columns), "max": MAX_COLUMNS}
        )
    target = None
    if list_name.strip():
        target, _created = ContactList.objects.get_or_create(
            account=account, name=list_name.strip()
        )
    return ContactImport.objects.create(
        account=account,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        target_list=target,
        original_name=(upload.name or "contacts.csv")[:255],
        path=str(path),
        size=path.stat().st_size,
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        has_header=sniffed.has_header,
        columns=sniffed.columns,
        mapping=csvfile.guess_mapping(
            sniffed.columns, sniffed.sample, has_header=sniffed.has_header
        ),
        consent_basis=consent_basis,
        consent_at=consent_at,
    )


def import_sample(contact_import: ContactImport) -> list[list[str]]:
    return csvfile.sniff(Path(contact_import.path)).sample


def import_set_mapping(*, contact_import: ContactImport, mapping: dict[str, str]) -> None:
    """Keep the mapping (exactly one phone column) and queue the run."""
    phones = [column for column, field in mapping.items() if field == csvfile.PHONE]
    if len(phones) != 1:
        raise ImportRefused(_("Choose exactly one column holding the phone numbers."))
    clean = {column: field for column, field in mapping.items() if field != csvfile.IGNORE}
    ContactImport.objects.filter(pk=contact_import.pk, status=ImportStatus.MAPPING).update(
        mapping=clean, status=ImportStatus.QUEUED
    )
    contact_import.refresh_from_db()


def _cell(row: list[str], column: str) -> str:
    index = int(column)
    return row[index].strip()[: csvfile.MAX_FIELD_LENGTH] if index < len(row) else ""


def _parse_consent_date(value: str) -> datetime | None:
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return timezone.make_aware(parsed)
    return None


@dataclass(frozen=True)
class Rejection:
    line: int
    value: str
    reason: str


@dataclass(frozen=True)
class ContactRow:
    """One contact as read from a file's row or an API item: the number as typed and
    what else it gives (only the keys it has; `fields` are custom fields)."""

    line: int
    phone: str
    values: dict[str, Any]


def _row_from_cells(line: int, row: list[str], mapping: dict[str, str]) -> ContactRow:
    phone_column = next(c for c, f in mapping.items() if f == csvfile.PHONE)
    values: dict[str, Any] = {"fields": {}}
    for column, field in mapping.items():
        cell = _cell(row, column)
        if field in (csvfile.FIRST_NAME, csvfile.LAST_NAME):
            values[field] = cell[:100]
        elif field == csvfile.CONSENT_AT and cell:
            values["consent_at"] = _parse_consent_date(cell)
        elif field.startswith(csvfile.CUSTOM_PREFIX) and cell:
            values["fields"][field.removeprefix(csvfile.CUSTOM_PREFIX)] = cell
    return ContactRow(line, _cell(row, phone_column), values)


def contacts_upsert(
    *,
    account: Account,
    rows: Iterable[ContactRow],
    seen: set[str],
    consent_basis: str = "",
    consent_at: datetime | None = None,
    target_list_id: int | None = None,
) -> tuple[dict[str, int], list[Rejection]]:
    """The import's rules for one batch of rows, shared by the CSV import and the API's
    bulk import: numbers normalised (a row that is not a number is rejected with the
    reason), Blacklist numbers skipped and counted, duplicates merged (in the batch,
    with `seen` numbers of earlier batches and with existing contacts; later values
    win), the contacts added to `target_list_id`. Returns the counters it adds and the
    rejected rows.
    """
    counts = {"created": 0, "merged": 0, "rejected": 0, "blacklisted": 0, "rows": 0}
    rejections: list[Rejection] = []
    parsed: dict[str, dict[str, Any]] = {}
    for row in rows:
        counts["rows"] += 1
        try:
            number = normalize_number(row.phone)
        except InvalidNumber as error:
            rejections.append(Rejection(row.line, row.phone[:255], error.message))
            continue
        values: dict[str, Any] = {
            **row.values,
            "fields": dict(row.values.get("fields") or {}),
            "region": number.region,
        }
        if number.e164 in parsed or number.e164 in seen:
            counts["merged"] += 1  # the same number again in the file: later cells win
            previous = parsed.get(number.e164)
            if previous is not None:
                previous["fields"].update(values.pop("fields"))
                previous.update({k: v for k, v in values.items() if v})
                continue
        parsed[number.e164] = values

    numbers = list(parsed)
    blacklisted = set(
        BlacklistEntry.objects.filter(account=account, phone_number__in=numbers).values_list(
            "phone_number", flat=True
        )
    )
    counts["blacklisted"] = len(blacklisted)
    existing = {
        c.phone_number: c for c in Contact.objects.filter(account=account, phone_number__in=numbers)
    }
    to_create, to_update = [], []
    for e164, values in parsed.items():
        if e164 in blacklisted:
            continue
        row_consent_at = values.get("consent_at") or consent_at
        contact = existing.get(e164)
        if contact is None:
            to_create.append(
                Contact(
                    account=account,
                    phone_number=e164,
                    region=values["region"],
                    first_name=values.get("first_name", ""),
                    last_name=values.get("last_name", ""),
                    fields=values["fields"],
                    consent_basis=consent_basis,
                    consent_at=row_consent_at if consent_basis or row_consent_at else None,
                )
            )
        else:
            if e164 not in seen:
                counts["merged"] += 1
            contact.first_name = values.get("first_name") or contact.first_name
            contact.last_name = values.get("last_name") or contact.last_name
            contact.fields = {**contact.fields, **values["fields"]}
            if consent_basis:
                contact.consent_basis = consent_basis
            if row_consent_at:
                contact.consent_at = row_consent_at
            contact.updated_at = timezone.now()
            to_update.append(contact)
    with transaction.atomic():
        created = Contact.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        counts["created"] = len(created)
        if to_update:
            Contact.objects.bulk_update(
                to_update,
                ["first_name", "last_name", "fields", "consent_basis", "consent_at", "updated_at"],
                batch_size=BATCH_SIZE,
            )
        if target_list_id:
            ids = [c.pk for c in created] + [c.pk for c in to_update]
            through = Contact.lists.through
            through.objects.bulk_create(
                [through(contact_id=pk, contactlist_id=target_list_id) for pk in ids],
                ignore_conflicts=True,
                batch_size=BATCH_SIZE,
            )
    counts["rejected"] = len(rejections)
    seen.update(parsed)
    return counts, rejections


def _apply_batch(
    contact_import: ContactImport, rows: Iterable[tuple[int, list[str]]], seen: set[str]
) -> dict[str, int]:
    """Upsert one batch of the file; returns the counters it adds."""
    counts, rejections = contacts_upsert(
        account=contact_import.account,
        rows=(_row_from_cells(line, row, contact_import.mapping) for line, row in rows),
        seen=seen,
        consent_basis=contact_import.consent_basis,
        consent_at=contact_import.consent_at,
        target_list_id=contact_import.target_list_id,
    )
    ImportRejection.objects.bulk_create(
        (
            ImportRejection(
                contact_import=contact_import,
                line=item.line,
                value=item.value,
                reason=item.reason,
            )
            for item in rejections
        ),
        batch_size=BATCH_SIZE,
    )
    return counts


def import_run(contact_import_id: int) -> ContactImport:
    """Read the whole file in batches, updating the progress after each one.

    Safe to run again (a retried task): it starts over and upserts the same contacts.
    """
    claimed = ContactImport.objects.filter(
        pk=contact_import_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).update(
        status=ImportStatus.RUNNING,
        processed_rows=0,
        created_count=0,
        merged_count=0,
        rejected_count=0,
        blacklisted_count=0,
    )
    contact_import = ContactImport.objects.select_related("account").get(pk=contact_import_id)
    if not claimed:
        return contact_import
    ImportRejection.objects.filter(contact_import=contact_import).delete()
    path = Path(contact_import.path)
    options = {
        "encoding": contact_import.encoding,
        "delimiter": contact_import.delimiter,
        "skip_header": contact_import.has_header,
    }
    try:
        total = csvfile.count_rows(path, **options)
        ContactImport.objects.filter(pk=contact_import.pk).update(total_rows=total)
        totals = {"created": 0, "merged": 0, "rejected": 0, "blacklisted": 0, "rows": 0}
        seen: set[str] = set()
        batch: list[tuple[int, list[str]]] = []

        def flush() -> None:
            added = _apply_batch(contact_import, batch, seen)
            for key, value in added.items():
                totals[key] += value
            ContactImport.objects.filter(pk=contact_import.pk).update(
                processed_rows=totals["rows"],
                created_count=totals["created"],
                merged_count=totals["merged"],
                rejected_count=totals["rejected"],
                blacklisted_count=totals["blacklisted"],
            )
            batch.clear()
            # With DEBUG on (the embedded default) Django keeps every query's SQL: a
            # long import must not grow with it.
            reset_queries()

        for item in csvfile.iter_rows(path, **options):
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                flush()
        flush()
    except csvfile.Unreadable as error:
        # The file's fault, not the platform's: no retry. count_rows reads the whole file
        # first, so a file with such a line imports nothing.
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ImportStatus.FAILED,
            error=_("Line %(line)d cannot be read as CSV (%(error)s): nothing was imported.")
            % {"line": error.line, "error": error.error},
            finished_at=timezone.now(),
        )
        contact_import.refresh_from_db()
        return contact_import
    except Exception as error:  # the import fails visibly, with its reason
        log.exception("contact import %s failed", contact_import.pk)
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ImportStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=ImportStatus.DONE, finished_at=timezone.now()
    )
    contact_import.refresh_from_db()
    return contact_import
