"""How Kannel 1.4.5 calls an sms-service's post-url: fakesmsc sends MO messages through
bearerbox and smsbox to a recorder, and each call must be what tests/kannel_requests.py
says (the requests the webhook's unit tests replay)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kannel_harness import KannelRun, MoCall, MoRecorder, mo_server, running_kannel
from tests.kannel_requests import SENDER, SHORTCODE, PostUrlCall, fixed_headers, post_url_call

pytestmark = pytest.mark.kannel

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
QUERY = "?id=%I&from=%p&to=%P&smsc=%i&coding=%c&charset=%C&udh=%u"


@pytest.fixture(scope="module")
def recorder() -> Iterator[MoRecorder]:
    with mo_server() as server:
        yield server


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory, recorder: MoRecorder) -> Iterator[KannelRun]:
    workdir = tmp_path_factory.mktemp("kannel-post-url")
    with running_kannel(workdir, mo_post_url=recorder.url + QUERY, send_sender=True) as run:
        yield run


def deliver(kannel: KannelRun, recorder: MoRecorder, text: str, **options: object) -> MoCall:
    """fakesmsc sends `text` from SENDER to the shortcode: the one call smsbox makes."""
    before = len(recorder.calls)
    kannel.send_mo(SENDER, SHORTCODE, text, **options)  # type: ignore[arg-type]
    calls = recorder.wait(before + 1, timeout=20)
    assert len(calls) == before + 1, kannel.logs()
    return calls[-1]


def assert_is(call: MoCall, expected: PostUrlCall) -> None:
    assert call.method == "POST"
    assert (call.header("Content-Type"), fixed_headers(call.headers), call.body) == (
        expected.content_type,
        expected.headers,
        expected.body,
    )


@pytest.mark.parametrize("text", ["STOP", "Café à 5€ [ok] ~ ^ {x} | \\ @£$ Ø"])
def test_a_gsm_text_is_posted_as_utf8_with_the_rest_in_headers(
    kannel: KannelRun, recorder: MoRecorder, text: str
) -> None:
    call = deliver(kannel, recorder, text)

    assert_is(call, post_url_call(text))
    assert call.body.decode("utf-8") == text


def test_a_ucs2_text_is_posted_as_utf16be_bytes(kannel: KannelRun, recorder: MoRecorder) -> None:
    text = "Désabonnez-moi ☕ 😀 €"

    call = deliver(kannel, recorder, text, ucs2=True)

    assert_is(call, post_url_call(text, ucs2=True))
    assert b"\xd8\x3d\xde\x00" in call.body  # the emoji as a surrogate pair
    assert call.body.decode("utf-16-be") == text


def test_a_long_ucs2_reply_is_posted_whole(kannel: KannelRun, recorder: MoRecorder) -> None:
    text = "Élodie répond : " + "é" * 2_100 + " 😀 fin"

    call = deliver(kannel, recorder, text, ucs2=True)

    assert_is(call, post_url_call(text, ucs2=True))
    assert int(call.header("Content-Length") or 0) == len(text.encode("utf-16-be")) > 4_094
    # fakesmsc stepped aside for it (see send_mo_line): the next message goes as usual.
    assert deliver(kannel, recorder, "STOP").body == b"STOP"


def test_the_parts_of_a_concatenated_sms_are_posted_once_put_together(
    kannel: KannelRun, recorder: MoRecorder
) -> None:
    text = ("Bonjour à tous, " * 25)[:399]  # 3 parts of 153 characters at most
    before = len(recorder.calls)

    assert kannel.send_mo_parts(SENDER, SHORTCODE, text, reference=42) == 3
    calls = recorder.wait(before + 1, timeout=20)

    assert_is(calls[-1], post_url_call(text))
    assert calls[-1].params["udh"] == ""  # no UDH left
    assert len(recorder.wait(before + 2, timeout=2)) == before + 1  # and only once


def test_escape_codes_work_in_the_post_url_query(kannel: KannelRun, recorder: MoRecorder) -> None:
    gsm = deliver(kannel, recorder, "Bonjour")
    ucs2 = deliver(kannel, recorder, "Œuvre", ucs2=True)

    assert UUID.match(gsm.params["id"])
    assert gsm.params["id"] != ucs2.params["id"]
    assert {k: gsm.params[k] for k in ("from", "to", "smsc", "coding", "charset")} == {
        "from": SENDER,
        "to": SHORTCODE,
        "smsc": "fake",
        "coding": "0",
        "charset": "UTF-8",
    }
    assert (ucs2.params["coding"], ucs2.params["charset"]) == ("2", "UTF-16BE")


def test_an_8bit_message_is_posted_as_octet_stream(kannel: KannelRun, recorder: MoRecorder) -> None:
    before = len(recorder.calls)

    kannel.send_mo_line(f"{SENDER} {SHORTCODE} data %01%02%FF")
    [call] = recorder.wait(before + 1, timeout=20)[before:]

    assert call.header("Content-Type") == "application/octet-stream"
    assert call.header("X-Kannel-Coding") == "1"
    assert call.body == b"\x01\x02\xff"


def test_without_send_sender_kannel_leaves_the_sender_out(tmp_path: Path) -> None:
    with (
        mo_server() as recorder,
        running_kannel(tmp_path / "kannel", mo_post_url=recorder.url + "?id=%I&from=%p") as kannel,
    ):
        call = deliver(kannel, recorder, "STOP")

    assert_is(call, post_url_call("STOP", send_sender=False))
    assert call.header("X-Kannel-From") is None
    assert call.params["from"] == SENDER  # %p still works in the query


def test_with_mo_recode_a_ucs2_text_is_posted_as_utf8(tmp_path: Path) -> None:
    text = "Désabonnez-moi ☕ 😀 €"
    with (
        mo_server() as recorder,
        running_kannel(
            tmp_path / "kannel",
            mo_post_url=recorder.url + "?id=%I",
            send_sender=True,
            mo_recode=True,
        ) as kannel,
    ):
        call = deliver(kannel, recorder, text, ucs2=True)

    assert_is(call, post_url_call(text))  # as if the phone had sent a GSM text
