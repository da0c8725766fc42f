"""The customer area's Blacklist: list, search, filters, export, manual add (one number
or a CSV file) with per-line errors, removal of manual entries only, tenant isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blacklist.models import BlacklistEntry, BlacklistEvent, BlacklistSource
from blacklist.services import blacklist_number
from campaigns.models import Contact, ContactList, Message, MessageState


def entry(account: Any, number: str, source: str = BlacklistSource.STOP_SMS, **extra: Any) -> Any:
    return BlacklistEntry.objects.create(
        account=account, phone_number=number, source=source, **extra
    )


def listed(answer: Any) -> list[str]:
    return [item.phone_number for item in answer.context["page"].object_list]


def test_the_list_shows_the_accounts_numbers_only(
    client_a: Client, account_a: Any, account_b: Any
) -> None:
    entry(account_a, "+33612345678")
    theirs = entry(account_b, "+33699999999")

    answer = client_a.get(reverse("blacklist"))

    assert answer.status_code == 200
    assert listed(answer) == ["+33612345678"]
    assert client_a.get(reverse("blacklist-entry", args=[theirs.pk])).status_code == 404
    assert "+33699999999" not in client_a.get(reverse("blacklist-export")).getvalue().decode()


def test_search_by_number_as_typed_and_filters_by_source_and_date(
    client_a: Client, account_a: Any
) -> None:
    entry(account_a, "+33612345678")
    entry(account_a, "+33700000000", BlacklistSource.MANUAL)
    old = entry(account_a, "+447400123456", BlacklistSource.WEB)
    BlacklistEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    url = reverse("blacklist")

    assert listed(client_a.get(url, {"q": "06 12 34"})) == ["+33612345678"]
    assert listed(client_a.get(url, {"q": "7400"})) == ["+447400123456"]
    assert listed(client_a.get(url, {"source": "manual"})) == ["+33700000000"]
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert sorted(listed(client_a.get(url, {"since": since}))) == ["+33612345678", "+33700000000"]
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert listed(client_a.get(url, {"until": until})) == ["+447400123456"]
    bad = client_a.get(url, {"since": "yesterday"})
    assert bad.status_code == 200 and len(listed(bad)) == 3  # said on the page, not a 500


def test_pages_of_fifty(client_a: Client, account_a: Any) -> None:
    BlacklistEntry.objects.bulk_create(
        BlacklistEntry(account=account_a, phone_number=f"+336000{n:05d}", source="manual")
        for n in range(120)
    )
    last = client_a.get(reverse("blacklist"), {"source": "manual", "page": 3})

    assert len(listed(last)) == 20
    assert b"source=manual&amp;page=2" in last.content


def test_the_export_follows_the_filters_and_neutralises_formulas(
    client_a: Client, account_a: Any
) -> None:
    entry(account_a, "+33612345678", note="=cmd|' /C calc'!A0")
    entry(account_a, "+33700000000", BlacklistSource.MANUAL, note="@SUM(A1)")

    answer = client_a.get(reverse("blacklist-export"), {"source": "stop_sms"})

    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    lines = answer.getvalue().decode("utf-8-sig").splitlines()
    assert lines[0] == "Number;Source;Added;Note"
    assert len(lines) == 2
    assert lines[1].startswith("+33612345678;STOP reply;")
    assert lines[1].endswith(";'=cmd|' /C calc'!A0")
    everything = client_a.get(reverse("blacklist-export")).getvalue().decode()
    assert ";'@SUM(A1)" in everything


def test_the_export_speaks_the_language_of_the_page(client_a: Client, account_a: Any) -> None:
    entry(account_a, "+33612345678")
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    lines = client_a.get(reverse("blacklist-export")).getvalue().decode("utf-8-sig").splitlines()

    assert lines[0] == "Numéro;Origine;Ajouté;Note"
    assert lines[1].startswith("+33612345678;Réponse STOP;")


def test_adding_one_number_takes_it_out_of_lists_and_queues_without_any_sms(
    client_a: Client, account_a: Any
) -> None:
    customers = ContactList.objects.create(account=account_a, name="Clients")
    contact = Contact.objects.create(account=account_a, phone_number="+33612345678", region="FR")
    contact.lists.add(customers)
    queued = Message.objects.create(
        account=account_a, phone_number="+33612345678", region="FR", text="x", segments=1,
        credits=1, state=MessageState.QUEUED,
    )  # fmt: skip

    answer = client_a.post(
        reverse("blacklist-add"), {"number": "06 12 34 56 78", "note": "asked by phone"}
    )

    assert answer.status_code == 302
    added = BlacklistEntry.objects.get()
    assert (added.phone_number, added.source, added.note) == (
        "+33612345678",
        BlacklistSource.MANUAL,
        "asked by phone",
    )
    assert added.confirmation is None
    assert not contact.lists.exists()
    queued.refresh_from_db()
    assert queued.state == MessageState.CANCELLED
    assert Message.objects.count() == 1  # no confirmation SMS for a manual entry
    assert BlacklistEvent.objects.get().actor.username == "tenant-a-owner"


def test_a_bad_number_is_refused_with_the_reason_and_nothing_changes(
    client_a: Client,
) -> None:
    answer = client_a.post(reverse("blacklist-add"), {"number": "06 12"})

    assert answer.status_code == 200
    assert answer.context["form"].errors["number"]
    assert not BlacklistEntry.objects.exists()
    empty = client_a.post(reverse("blacklist-add"), {"number": ""})
    assert "Give a number or a CSV file." in empty.content.decode()


def test_a_csv_file_adds_its_good_lines_and_lists_the_others(
    client_a: Client, account_a: Any
) -> None:
    entry(account_a, "+33611111111", BlacklistSource.MANUAL)
    data = "numéro;nom\n06 12 34 56 78;Léa\n+44 7400 123456;Amy\nabc;x\n06 11 11 11 11;y\n\n"
    upload = SimpleUploadedFile("stop.csv", data.encode("cp1252"), content_type="text/csv")

    answer = client_a.post(reverse("blacklist-add"), {"file": upload})

    assert answer.status_code == 200  # stays to show the rejected line
    assert sorted(BlacklistEntry.objects.values_list("phone_number", flat=True)) == [
        "+33611111111",
        "+33612345678",
        "+447400123456",
    ]
    [error] = answer.context["errors"]
    assert (error.line, error.value) == (4, "abc")
    assert "1 was already there" in answer.content.decode()


def test_only_manual_entries_can_be_removed_and_the_reason_is_kept(
    client_a: Client, account_a: Any
) -> None:
    manual, _ = blacklist_number(
        account=account_a, number="+33700000000", source=BlacklistSource.MANUAL, confirm=False
    )
    stop = entry(account_a, "+33612345678")

    refused = client_a.post(reverse("blacklist-entry", args=[stop.pk]), {"reason": "oops"})
    assert refused.status_code == 200
    assert "cannot be removed here" in refused.content.decode()
    assert BlacklistEntry.objects.filter(pk=stop.pk).exists()

    no_reason = client_a.post(reverse("blacklist-entry", args=[manual.pk]), {"reason": ""})
    assert no_reason.context["form"].errors["reason"]
    done = client_a.post(
        reverse("blacklist-entry", args=[manual.pk]), {"reason": "customer asked again"}
    )
    assert done.status_code == 302
    assert not BlacklistEntry.objects.filter(pk=manual.pk).exists()
    removed = BlacklistEvent.objects.get(action=BlacklistEvent.Action.REMOVED)
    assert (removed.phone_number, removed.reason) == ("+33700000000", "customer asked again")
    assert removed.actor.username == "tenant-a-owner"


def test_the_page_speaks_french(client_a: Client, account_a: Any) -> None:
    entry(account_a, "+33612345678")
    client_a.post(reverse("set_language"), {"language": "fr"})

    answer = client_a.get(reverse("blacklist"))

    assert "Liste noire" in answer.content.decode()
    assert "Réponse STOP" in answer.content.decode()


def test_the_inbox_shows_the_accounts_replies_with_their_campaign(
    client_a: Client, account_a: Any, account_b: Any
) -> None:
    from blacklist.models import GatewayKind, InboundMessage, InboundStatus
    from blacklist.services import connection_create
    from campaigns.lifecycle import campaign_create

    connection, _secret = connection_create(name="kannel", kind=GatewayKind.KANNEL)
    campaign = campaign_create(account=account_a, name="Soldes d'hiver", text="Soldes")

    def reply(account: Any, carrier_id: str, text: str, status: str) -> None:
        InboundMessage.objects.create(
            connection=connection, carrier_id=carrier_id, sender="+33612345678",
            receiver="36034", text=text, intent="other", rule="other", status=status,
            account=account, campaign=campaign if account == account_a else None,
        )  # fmt: skip

    reply(account_a, "1", "Ouvert dimanche ?", InboundStatus.REPLY)
    reply(account_a, "2", "STOP", InboundStatus.BLACKLISTED)
    reply(account_b, "3", "Not yours", InboundStatus.REPLY)

    answer = client_a.get(reverse("inbox"))
    page = answer.content.decode()
    assert [r.text for r in answer.context["page"].object_list] == ["STOP", "Ouvert dimanche ?"]
    assert "Not yours" not in page
    assert "Soldes d&#x27;hiver" in page
    only = client_a.get(reverse("inbox"), {"status": "reply"})
    assert [r.text for r in only.context["page"].object_list] == ["Ouvert dimanche ?"]


def test_a_large_file_is_added_in_a_few_statements_per_thousand_numbers(
    client_a: Client, account_a: Any, django_assert_max_num_queries: Any
) -> None:
    data = "\n".join(f"+3361{n:07d}" for n in range(2500)).encode()
    upload = SimpleUploadedFile("stop.csv", data, content_type="text/csv")

    with django_assert_max_num_queries(60):  # one statement per number would be 2,500+
        answer = client_a.post(reverse("blacklist-add"), {"file": upload})

    assert answer.status_code == 302
    assert BlacklistEntry.objects.filter(account=account_a).count() == 2500
    assert BlacklistEvent.objects.filter(account=account_a).count() == 2500
