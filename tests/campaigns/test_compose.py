"""The compose page and its previews: the server applies every rule, whatever is posted."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Account
from campaigns import services

LONG = "a" * 150  # fits in 160 alone, not with " STOP 36034"


def preview(client: Client, **data: object) -> dict:
    response = client.post(reverse("preview-json"), data)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_page_shows_both_variants_with_their_mention(client_a: Client, account_a) -> None:
    response = client_a.post(reverse("compose"), {"text": "Soldes ce week-end"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Soldes ce week-end STOP 36034" in page.replace('<mark class="mention">', "").replace(
        "</mark>", ""
    )
    assert account_a.unsubscribe_link in page
    variant = response.context["preview"].french.composition
    assert (variant.units, variant.segments, variant.encoding) == (29, 1, "GSM-7")


def test_a_forged_post_from_a_marketing_account_keeps_the_mention(client_a: Client) -> None:
    # The STOP box is left out of the POST, as an unticked checkbox would be.
    page = client_a.post(reverse("compose"), {"text": "Promo", "recipients": "0612345678"})
    forced_off = client_a.post(
        reverse("compose"), {"text": "Promo", "add_stop_mention": "", "recipients": "0612345678"}
    )
    api = preview(client_a, text="Promo", to="0612345678", add_stop_mention="false")

    for response in (page, forced_off):
        assert response.context["preview"].french.composition.text_sent == "Promo STOP 36034"
    assert api["messages"][0]["text_sent"] == "Promo STOP 36034"
    assert api["add_stop_mention"] is True


def test_a_notification_account_may_leave_the_mention_off(
    client_n: Client, notification_account: Account
) -> None:
    ticked = client_n.post(reverse("compose"), {"text": "Code 1234", "add_stop_mention": "on"})
    unticked = client_n.post(reverse("compose"), {"text": "Code 1234"})

    assert ticked.context["preview"].french.composition.text_sent == "Code 1234 STOP 36034"
    assert unticked.context["preview"].french.composition.text_sent == "Code 1234"
    assert (
        preview(client_n, text="Code 1234", to="0612345678", add_stop_mention="false")["messages"][
            0
        ]["mention"]
        is None
    )


def test_the_notification_default_comes_from_settings(
    client_n: Client, notification_account: Account
) -> None:
    account_services.account_set_stop_mention(
        account=notification_account, enabled=False, actor=None
    )

    page = client_n.get(reverse("compose"))

    assert page.context["form"]["add_stop_mention"].value() is False
    assert preview(client_n, text="Hi", to="0612345678")["messages"][0]["mention"] is None


def test_the_box_is_locked_with_the_reason_for_marketing(
    client_a: Client, client_n: Client
) -> None:
    marketing = client_a.get(reverse("compose")).content.decode()
    notification = client_n.get(reverse("compose")).content.decode()

    assert (
        'name="add_stop_mention"' in marketing
        and "disabled" in marketing.split('name="add_stop_mention"')[1].split(">")[0]
    )
    assert 'data-testid="stop-locked-reason"' in marketing
    assert 'data-testid="stop-locked-reason"' not in notification


def test_costs_split_french_and_international_with_their_rates(
    client_a: Client, account_a: Account
) -> None:
    account_services.rate_set(region="GB", credits_per_segment=3, actor=None)
    response = client_a.post(
        reverse("compose"),
        {
            "text": LONG,
            "recipients": "06 12 34 56 78\n06 98 76 54 32, +44 7400 123456;+1 202 555 0143",
        },
    )

    result = response.context["preview"]
    assert (result.french.recipients, result.international.recipients) == (2, 2)
    # French: 150 + " STOP 36034" = 161 units, 2 SMS at 1 credit.
    assert (result.french.composition.segments, result.french.credits) == (2, 4)
    # Abroad: 150 + " ns.fr/xyz" = 160 units, 1 SMS, GB at 3 and US at the default 2.
    assert (result.international.composition.segments, result.international.credits) == (1, 5)
    assert result.credits == 9 and result.balance == 1000


def test_advice_when_the_mention_alone_adds_an_sms(client_a: Client) -> None:
    numbers = "\n".join(f"06 12 34 {i // 100:02d} {i % 100:02d}" for i in range(40))
    response = client_a.post(reverse("compose"), {"text": LONG, "recipients": numbers})

    advice = response.content.decode()
    assert 'data-testid="advice-mention-fr"' in advice
    assert "remove 1 character to fit in 1 SMS per recipient" in advice
    assert "saves 40 credits on this campaign" in advice
    assert 'data-testid="advice-mention-intl"' not in advice


def test_replace_buttons_bring_the_text_back_to_gsm7(client_a: Client) -> None:
    text = "C’est l’été – profitez-en…"
    one = client_a.post(reverse("compose"), {"text": text, "replace": "’"})
    every = client_a.post(reverse("compose"), {"text": text, "replace": "*"})

    assert one.context["form"]["text"].value() == "C'est l'été – profitez-en…"
    assert every.context["form"]["text"].value() == "C'est l'été - profitez-en..."
    assert every.context["preview"].french.composition.encoding == "GSM-7"


def test_the_replacement_saving_is_shown_in_credits(client_a: Client) -> None:
    text = "Aujourd’hui seulement : " + "a" * 60  # 84 UCS-2 + 11 → 2 SMS; GSM-7 → 1 SMS
    response = client_a.post(
        reverse("compose"), {"text": text, "recipients": "0612345678\n0698765432"}
    )

    assert response.context["preview"].replacement_saving() == 2
    assert "saves 2 credits on this campaign" in response.content.decode()


def test_bad_numbers_are_listed_and_the_text_still_previews(client_a: Client) -> None:
    response = client_a.post(
        reverse("compose"), {"text": "Hello", "recipients": "0612345678\n0612\nabc"}
    )

    errors = response.context["form"].errors["recipients"]
    assert any("Number 2, “0612”" in e for e in errors)
    assert any("Number 3, “abc”" in e for e in errors)
    assert response.context["preview"].french.composition.text_sent == "Hello STOP 36034"


def test_sender_id_is_validated_with_a_clear_message(client_a: Client) -> None:
    response = client_a.post(reverse("compose"), {"text": "Hi", "sender_id": "My Shop!"})

    assert "only letters A-Z and digits" in response.context["form"].errors["sender_id"][0]


def test_line_breaks_count_once_and_the_mention_follows_a_final_one(client_a: Client) -> None:
    response = client_a.post(reverse("compose"), {"text": "Hello\r\nWorld\r\n"})

    composition = response.context["preview"].french.composition
    assert composition.text_sent == "Hello\nWorld\nSTOP 36034"
    assert composition.units == 22


def test_all_contacts_counts_only_this_accounts_contacts(
    client_a: Client, account_a: Account, account_b: Account
) -> None:
    services.contact_create(account=account_a, phone_number="0612345678")
    services.contact_create(account=account_a, phone_number="+447400123456")
    for i in range(5):
        services.contact_create(account=account_b, phone_number=f"06123456{i:02d}")

    response = client_a.post(
        reverse("compose"), {"text": "Hi", "all_contacts": "on", "recipients": "0612345678"}
    )

    result = response.context["preview"]
    assert (result.french.recipients, result.international.recipients) == (1, 1)


def test_the_json_preview_refuses_bad_input_clearly(client_a: Client) -> None:
    missing = client_a.post(reverse("preview-json"), {"to": "0612345678"})
    bad_number = client_a.post(reverse("preview-json"), {"text": "Hi", "to": "0612"})
    bad_json = client_a.post(reverse("preview-json"), "{", content_type="application/json")

    assert missing.status_code == 400 and "text" in missing.json()["errors"]
    assert bad_number.status_code == 400 and "0612" in bad_number.json()["errors"]["to"][0]
    assert bad_json.status_code == 400


def test_the_json_preview_takes_json(client_a: Client) -> None:
    response = client_a.post(
        reverse("preview-json"),
        json.dumps({"text": "Hi 😀", "to": ["+32470123456"]}),
        content_type="application/json",
    )

    (message,) = response.json()["messages"]
    assert message["region"] == "BE" and message["encoding"] == "UCS-2"
    assert message["non_gsm_chars"] == [
        {"char": "😀", "count": 1, "replacement": None, "fidelity": None}
    ]


def test_the_compose_page_needs_a_login(client: Client, db: object) -> None:
    assert client.get(reverse("compose")).status_code == 302
    assert (
        client.post(reverse("preview-json"), {"text": "x", "to": "0612345678"}).status_code == 302
    )


def run_preview_sms(*args: str) -> dict:
    out = StringIO()
    call_command("preview_sms", *args, stdout=out)
    return json.loads(out.getvalue())


def test_preview_sms_for_a_french_and_an_international_number(account_a: Account) -> None:
    french = run_preview_sms("--to", "06 12 34 56 78", "--account", "tenant-a", "Soldes d’été")
    abroad = run_preview_sms("--to", "+44 7400 123456", "--account", "tenant-a", "Summer sale")

    assert french == {
        "to": "+33612345678",
        "region": "FR",
        "text_sent": "Soldes d’été STOP 36034",
        "encoding": "UCS-2",
        "units": 23,
        "segments": 1,
        "credits": 1,
        "mention": "STOP 36034",
        "non_gsm_chars": [{"char": "’", "count": 1, "replacement": "'", "fidelity": "same"}],
    }
    assert abroad["text_sent"] == f"Summer sale {account_a.unsubscribe_link}"
    assert (abroad["encoding"], abroad["units"], abroad["credits"]) == ("GSM-7", 21, 2)


def test_preview_sms_refuses_no_stop_for_a_marketing_account(
    account_a: Account, notification_account: Account
) -> None:
    with pytest.raises(CommandError, match="Marketing account"):
        run_preview_sms("--to", "0612345678", "--account", "tenant-a", "--no-stop", "Hi")

    assert (
        run_preview_sms("--to", "0612345678", "--account", "tenant-n", "--no-stop", "Hi")[
            "text_sent"
        ]
        == "Hi"
    )


def test_preview_sms_says_which_account_when_there_are_several(
    account_a: Account, account_b: Account
) -> None:
    with pytest.raises(CommandError, match="tenant-a, tenant-b"):
        run_preview_sms("--to", "0612345678", "Hi")
    with pytest.raises(CommandError, match=r"not a phone number|does not exist"):
        run_preview_sms("--to", "12", "--account", "tenant-a", "Hi")


def test_the_compose_page_speaks_french(client_a: Client) -> None:
    client_a.post(reverse("set_language"), {"language": "fr", "next": "/"})
    numbers = "\n".join(f"06 12 34 56 {i:02d}" for i in range(3))

    page = client_a.post(reverse("compose"), {"text": LONG, "recipients": numbers})

    html = page.content.decode()
    assert "Nouvelle campagne" in html and "Numéros français" in html
    assert "retirez 1 caractère pour tenir en 1 SMS par destinataire" in html
    assert "3 crédits économisés sur cette campagne" in html


def test_the_live_preview_answers_with_the_panel_only(client_a: Client) -> None:
    live = client_a.post(reverse("compose"), {"text": "Hi"}, HTTP_HX_REQUEST="true")
    replace = client_a.post(
        reverse("compose"), {"text": "l’été", "replace": "’"}, HTTP_HX_REQUEST="true"
    )

    assert live.content.decode().lstrip().startswith('<aside id="compose-preview"')
    assert 'id="compose-form"' in replace.content.decode()  # the text area changes too


def test_the_json_preview_reads_the_rates_once_whatever_the_number_count(
    client_a: Client,
) -> None:
    def queries_for(count: int) -> int:
        numbers = [f"06123456{i:02d}" for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            response = client_a.post(reverse("preview-json"), {"text": "Hi", "to": numbers})
            assert response.status_code == 200
        return len(captured.captured_queries)

    assert queries_for(20) == queries_for(1)
