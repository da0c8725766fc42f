"""CSV imports as French users produce them: encodings, separators, bad rows, Blacklist."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from blacklist.models import BlacklistEntry, BlacklistSource
from campaigns import csvfile, services
from campaigns.models import Contact, ContactImport, ImportStatus

EXCEL_FR = (
    "Nom;Prénom;Téléphone;Ville\r\n"
    "Dupont;Élodie;06 12 34 56 78;Besançon\r\n"
    "Martin;François;0698765432;Orléans\r\n"
    "Bad;Row;0612;Lyon\r\n"
    "Smith;John;+44 7400 123456;London\r\n"
    "Dupont;Élodie B.;+33 6 12 34 56 78;Besançon\r\n"
    ";;;\r\n"
    "Noël;Zoé;pas de numéro;Nice\r\n"
).encode("cp1252")


def upload(client: Client, content: bytes, name: str = "contacts.csv", **extra: str):
    return client.post(
        reverse("import-upload"),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **extra},
    )


def post_committed(client: Client, url: str, data: dict) -> object:
    """POST, then run what waited for the commit (a test's transaction never commits)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data)


def run_import(client: Client, content: bytes, **extra: str) -> ContactImport:
    response = upload(client, content, **extra)
    assert response.status_code == 302, response.content
    contact_import = ContactImport.objects.latest("pk")
    form = client.get(reverse("import-mapping", args=[contact_import.pk])).context["form"]
    mapping = {name: field.initial or "" for name, field in form.fields.items()}
    response = post_committed(client, reverse("import-mapping", args=[contact_import.pk]), mapping)
    assert response.status_code == 302, response.content
    contact_import.refresh_from_db()
    return contact_import


def test_an_excel_file_in_windows_1252_with_semicolons(
    client_a: Client, account_a: Account
) -> None:
    result = run_import(client_a, EXCEL_FR, list_name="Clients", consent_basis="opt_in")

    assert (result.encoding, result.delimiter, result.has_header) == ("cp1252", ";", True)
    assert result.status == ImportStatus.DONE
    assert (result.total_rows, result.processed_rows) == (6, 6)
    assert (result.created_count, result.merged_count, result.rejected_count) == (3, 1, 2)
    elodie = Contact.objects.get(account=account_a, phone_number="+33612345678")
    # The later line of the same number wins; accents survive the Windows-1252 file.
    assert (elodie.first_name, elodie.last_name, elodie.region) == ("Élodie B.", "Dupont", "FR")
    assert elodie.fields == {"Ville": "Besançon"}
    assert elodie.consent_basis == "opt_in"
    assert Contact.objects.get(phone_number="+447400123456").region == "GB"
    assert set(
        Contact.objects.filter(lists__name="Clients").values_list("phone_number", flat=True)
    ) == {"+33612345678", "+33698765432", "+447400123456"}


def test_every_rejected_line_is_reported_and_downloadable(client_a: Client) -> None:
    result = run_import(client_a, EXCEL_FR)

    rows = list(result.rejections.values_list("line", "value"))
    assert rows == [(4, "0612"), (8, "pas de numéro")]
    report = client_a.get(reverse("import-rejections", args=[result.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert report["Content-Type"].startswith("text/csv")
    assert text.splitlines()[0] == "line;value;reason"
    assert text.splitlines()[1].startswith("4;0612;")
    assert "8;pas de numéro;This is not a phone number." in text


def test_utf8_with_bom_commas_and_no_header(client_a: Client, account_a: Account) -> None:
    content = "\ufeff0612345678,Zoé\n+32 470 12 34 56,Jan\n".encode()
    response = upload(client_a, content)
    contact_import = ContactImport.objects.get()
    assert response.status_code == 302
    assert (contact_import.encoding, contact_import.delimiter, contact_import.has_header) == (
        "utf-8-sig",
        ",",
        False,
    )
    assert contact_import.mapping == {"0": "phone_number"}

    post_committed(
        client_a,
        reverse("import-mapping", args=[contact_import.pk]),
        {"column_0": "phone_number", "column_1": "first_name"},
    )

    assert sorted(
        Contact.objects.filter(account=account_a).values_list("phone_number", "first_name")
    ) == [("+32470123456", "Jan"), ("+33612345678", "Zoé")]


def test_blacklisted_numbers_are_skipped_and_counted(client_a: Client, account_a: Account) -> None:
    BlacklistEntry.objects.create(
        account=account_a, phone_number="+33698765432", source=BlacklistSource.STOP_SMS
    )

    result = run_import(client_a, EXCEL_FR)

    assert result.blacklisted_count == 1
    assert not Contact.objects.filter(phone_number="+33698765432").exists()


def test_existing_contacts_are_merged_not_duplicated(client_a: Client, account_a: Account) -> None:
    services.contact_create(account=account_a, phone_number="0612345678", first_name="Old")

    result = run_import(client_a, EXCEL_FR)

    assert Contact.objects.filter(account=account_a, phone_number="+33612345678").count() == 1
    assert Contact.objects.get(phone_number="+33612345678").first_name == "Élodie B."
    assert (result.created_count, result.merged_count) == (2, 2)


def test_running_an_import_twice_gives_the_same_contacts(client_a: Client) -> None:
    from campaigns.imports import import_run

    result = run_import(client_a, EXCEL_FR)
    ContactImport.objects.filter(pk=result.pk).update(status=ImportStatus.QUEUED)

    again = import_run(result.pk)

    assert Contact.objects.count() == 3
    assert (again.rejected_count, again.rejections.count()) == (2, 2)


def test_the_mapping_needs_exactly_one_phone_column(client_a: Client) -> None:
    upload(client_a, EXCEL_FR)
    contact_import = ContactImport.objects.get()

    none = client_a.post(reverse("import-mapping", args=[contact_import.pk]), {"column_0": ""})
    two = client_a.post(
        reverse("import-mapping", args=[contact_import.pk]),
        {"column_0": "phone_number", "column_2": "phone_number"},
    )

    for response in (none, two):
        assert response.status_code == 200
        assert "exactly one column" in response.content.decode()
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.MAPPING and Contact.objects.count() == 0


def test_an_empty_file_is_refused_clearly(client_a: Client) -> None:
    response = upload(client_a, b"")

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert ContactImport.objects.count() == 0


def test_another_accounts_import_is_not_found(client_a: Client, client_b: Client) -> None:
    result = run_import(client_a, EXCEL_FR)

    for name in ("import-detail", "import-mapping", "import-rejections"):
        assert client_b.get(reverse(name, args=[result.pk])).status_code == 404


def test_the_progress_page_shows_the_counts(client_a: Client) -> None:
    result = run_import(client_a, EXCEL_FR)

    page = client_a.get(reverse("import-detail", args=[result.pk]))

    html = page.content.decode()
    assert 'data-testid="import-created">3<' in html
    assert "hx-trigger" not in html.split('id="import-progress"')[1].split(">")[0]


@pytest.mark.parametrize(
    ("lines", "delimiter", "header"),
    [
        (["tel;nom", "0612345678;A"], ";", True),
        (["0612345678,A,B", "0698765432,C,D"], ",", False),
        (["phone\tname", "+33612345678\tA"], "\t", True),
    ],
)
def test_sniffing(tmp_path: Path, lines: list[str], delimiter: str, header: bool) -> None:
    path = tmp_path / "f.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    sniffed = csvfile.sniff(path)

    assert (sniffed.delimiter, sniffed.has_header) == (delimiter, header)
