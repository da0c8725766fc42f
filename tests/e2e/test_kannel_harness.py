"""The Kannel harness itself, and how Kannel 1.4.5 behaves: sendsms straight from urllib
(no platform code), what fakesmsc gets, and which delivery reports come back."""

from __future__ import annotations

import http.client
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest

from tests.kannel_harness import (
    DLR_ALL,
    DLR_DELIVERED,
    DLR_SMSC_ACCEPTED,
    DlrRecorder,
    KannelMissing,
    KannelRun,
    Part,
    assemble,
    dlr_server,
    http_get,
    parse_fakesmsc,
    require_binaries,
    running_kannel,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TO = "+33612345678"


@pytest.fixture
def dlr() -> Iterator[DlrRecorder]:
    with dlr_server() as recorder:
        yield recorder


@pytest.fixture
def kannel(tmp_path: Path, dlr: DlrRecorder) -> Iterator[KannelRun]:
    with running_kannel(tmp_path / "kannel", dlr_base_url=f"{dlr.url}?id=default&type=%d") as run:
        yield run


def get(run: KannelRun, **params: str) -> tuple[int, str]:
    """A sendsms GET with plain urllib, the parameters as given (plus the credentials)."""
    query = {"username": run.username, "password": run.password, **params}
    return http_get(f"{run.sendsms_url}?{urlencode(query, quote_via=quote)}")


ACCEPTED = (202, "0: Accepted for delivery")


# -- sendsms to fakesmsc ------------------------------------------------------------------


@pytest.mark.kannel
def test_gsm_texts_reach_fakesmsc_exactly(kannel: KannelRun) -> None:
    texts = [
        "Soldes -20% ce week-end, code ETE STOP 36034",
        "Accents GSM: é è à ù ì ò É Ç ñ ü ß, extension: € [ ] { } ~ ^ | \\",
        "Signs that URLs mangle: a+b=c & d?e #f %41 100%",
    ]
    for text in texts:
        assert get(
            kannel, to=TO, text=text, charset="UTF-8", coding="0", **{"from": "BOUTIQUE"}
        ) == (ACCEPTED)
    received = kannel.wait_received(len(texts), strict=True)
    assert [(r.sender, r.receiver, r.coding, r.text, r.parts) for r in received] == [
        ("BOUTIQUE", TO, "text", text, 1) for text in texts
    ]


@pytest.mark.kannel
def test_gsm_text_without_charset_or_coding_is_utf8_too(kannel: KannelRun) -> None:
    assert get(kannel, to=TO, text="Café à 5€") == ACCEPTED
    [sms] = kannel.wait_received(1, strict=True)
    assert (sms.sender, sms.coding, sms.text) == ("36034", "text", "Café à 5€")  # global-sender


@pytest.mark.kannel
def test_non_gsm_characters_in_a_gsm_text_are_changed_by_kannel(kannel: KannelRun) -> None:
    # coding=0 never switches to UCS-2: ç becomes Ç (GSM's 0x09), an emoji "?" per UTF-8 byte.
    assert get(kannel, to=TO, text="ç 😀 Ω œ", charset="UTF-8", coding="0") == ACCEPTED
    [sms] = kannel.wait_received(1, strict=True)
    assert sms.coding == "text"
    assert sms.text == "Ç ???? Ω ?"


@pytest.mark.kannel
@pytest.mark.parametrize(
    "charset, encode",
    [("UTF-8", str.encode), ("UTF-16BE", lambda text: text.encode("utf-16-be"))],
)
def test_ucs2_text_reaches_fakesmsc_exactly(kannel: KannelRun, charset: str, encode) -> None:
    text = "Café ☕ offert 😀 à bientôt, a+b & 100% STOP 36034"
    query = urlencode(
        {
            "username": kannel.username,
            "password": kannel.password,
            "from": "BOUTIQUE",
            "to": TO,
            "coding": "2",
            "charset": charset,
        }
    )
    url = f"{kannel.sendsms_url}?{query}&text={quote(encode(text), safe='')}"
    assert http_get(url) == ACCEPTED
    [sms] = kannel.wait_received(1, strict=True)
    assert (sms.sender, sms.receiver, sms.coding, sms.text) == ("BOUTIQUE", TO, "ucs-2", text)
    [part] = kannel.parts()
    assert part.payload == text.encode("utf-16-be")  # surrogate pair for the emoji


@pytest.mark.kannel
def test_ucs2_without_charset_is_sent_as_the_raw_bytes(kannel: KannelRun) -> None:
    # The trap: coding=2 without charset takes the UTF-8 bytes as if they were UCS-2.
    assert get(kannel, to=TO, text="Café", coding="2") == ACCEPTED
    kannel.wait_received(1, strict=True)
    [part] = kannel.parts()
    assert part.kind == "ucs-2"
    assert part.payload == "Café".encode()


@pytest.mark.kannel
def test_long_texts_leave_as_concatenated_parts_and_come_back_whole(kannel: KannelRun) -> None:
    gsm = ("Bonjour é€ " * 146)[:1600]  # 1,745 septets (€ takes two): 12 parts of 153
    ucs2 = "Café ☕ 😀 " * 40  # 400 UTF-16 units: 6 parts of 67
    cjk = "你好" * 40  # UCS-2 without a single zero byte
    for text, coding in [(gsm, "0"), (ucs2, "2"), (cjk, "2")]:
        assert get(kannel, to=TO, text=text, coding=coding, charset="UTF-8") == ACCEPTED
    received = kannel.wait_received(3, strict=True)
    assert [(r.coding, r.text) for r in received] == [
        ("text", gsm),
        ("ucs-2", ucs2),
        ("ucs-2", cjk),
    ]
    assert [r.parts for r in received] == [12, 6, 2]
    assert Counter(part.kind for part in kannel.parts()) == {"udh": 20}


@pytest.mark.kannel
def test_a_newline_in_a_gsm_text_is_put_back(kannel: KannelRun) -> None:
    # fakesmsc prints a GSM text raw: the newline splits its line in two.
    assert get(kannel, to=TO, text="Soldes\nCode ETE", coding="0", charset="UTF-8") == ACCEPTED
    assert get(kannel, to=TO, text="Soldes\nCode ÉTÉ", coding="2", charset="UTF-8") == ACCEPTED
    received = kannel.wait_received(2, strict=True)
    assert [r.text for r in received] == ["Soldes\nCode ETE", "Soldes\nCode ÉTÉ"]
    assert kannel.received_count() == 3  # fakesmsc's own count is one too many


@pytest.mark.kannel
def test_alphanumeric_sender_with_a_space(kannel: KannelRun) -> None:
    assert get(kannel, to=TO, text="x", **{"from": "MA BOUTIQUE"}) == ACCEPTED
    [sms] = kannel.wait_received(1, strict=True)
    assert (sms.sender, sms.receiver, sms.text) == ("MA BOUTIQUE", TO, "x")


# -- sendsms's answers --------------------------------------------------------------------


@pytest.mark.kannel
def test_sendsms_refusals(kannel: KannelRun) -> None:
    assert http_get(
        f"{kannel.sendsms_url}?username={kannel.username}&password=wrong&to={quote(TO)}&text=x"
    ) == (403, "Authorization failed for sendsms")
    assert get(kannel, text="x") == (400, "Missing receiver number, rejected")
    assert get(kannel, to="", text="x") == (400, "Empty receiver number not allowed, rejected")
    denied = (400, "Number(s) has/have been denied by white- and/or black-lists.")
    assert get(kannel, to="abc", text="x") == denied  # outside sendsms-chars
    assert get(kannel, to="06;07", text="x") == denied
    assert get(kannel, to=TO, text="x", coding="7") == (400, "Coding field misformed, rejected")
    assert get(kannel, to=TO, text="x", coding="2", charset="NOPE") == (
        400,
        "Charset or body misformed, rejected",
    )
    time.sleep(0.3)
    assert kannel.parts() == []


@pytest.mark.kannel
def test_what_sendsms_accepts_without_complaint(kannel: KannelRun) -> None:
    # No text at all and an empty text are both sent, as empty SMS.
    assert get(kannel, to=TO) == ACCEPTED
    assert get(kannel, to=TO, text="") == ACCEPTED
    received = kannel.wait_received(2, strict=True)
    assert [r.text for r in received] == ["", ""]


@pytest.mark.kannel
def test_sendsms_keeps_http_11_connections_alive(kannel: KannelRun) -> None:
    parts = urlsplit(kannel.sendsms_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    query = urlencode({"username": kannel.username, "password": kannel.password, "to": TO})
    try:
        sockets = set()
        for number in range(5):
            conn.request("GET", f"{parts.path}?{query}&text=keep{number}")
            response = conn.getresponse()
            assert (response.status, response.read()) == (202, b"0: Accepted for delivery")
            assert response.getheader("Connection") == "Keep-Alive"
            sockets.add(id(conn.sock))
        assert len(sockets) == 1
    finally:
        conn.close()
    assert len(kannel.wait_received(5, strict=True)) == 5


@pytest.mark.kannel
def test_a_space_in_to_sends_to_several_receivers(kannel: KannelRun) -> None:
    assert get(kannel, to="+33 612345678", text="x") == ACCEPTED  # one answer...
    received = kannel.wait_received(2, strict=True)
    assert [r.receiver for r in received] == ["+33", "612345678"]  # ...two SMS


# -- delivery reports ---------------------------------------------------------------------


@pytest.mark.kannel
def test_delivery_reports_smsc_accepted_then_delivered(kannel: KannelRun, dlr: DlrRecorder) -> None:
    escapes = "type=%d&answer=%A&ts=%T&time=%t&to=%p&from=%P&fid=%F&kid=%I&smsc=%i&user=%n"
    started = time.time()
    for message_id, text in [(41, "Bonjour"), (42, "Café ☕ 😀")]:
        dlr_url = f"{dlr.url}?id={message_id}&{escapes}&unknown=%Z"
        status = get(
            kannel,
            to=TO,
            text=text,
            coding="2" if message_id == 42 else "0",
            charset="UTF-8",
            **{"from": "+33700000000", "dlr-mask": str(DLR_ALL), "dlr-url": dlr_url},
        )
        assert status == ACCEPTED
    calls = dlr.wait(4)
    time.sleep(0.5)
    assert len(dlr.calls) == 4  # two per message, no more
    by_message = {
        message_id: {
            call.params["type"]: call.params for call in calls if call.params["id"] == message_id
        }
        for message_id in ("41", "42")
    }
    for reports in by_message.values():
        assert set(reports) == {str(DLR_SMSC_ACCEPTED), str(DLR_DELIVERED)}
        accepted, delivered = reports["8"], reports["1"]
        for report in (accepted, delivered):
            assert report["to"] == TO  # %p: the SMS's receiver (URL-encoded by Kannel: %2B)
            assert report["from"] == "+33700000000"  # %P: the SMS's sender
            assert report["smsc"] == "fake"
            assert report["user"] == "platform"
            assert abs(int(report["ts"]) - started) < 30
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", report["time"])
            assert UUID.match(report["kid"])
            assert report["unknown"] == "%Z"  # an escape Kannel does not know stays as it is
        assert accepted["answer"] == "ACK/"
        assert accepted["fid"] == ""
        assert delivered["answer"] == ""
        assert UUID.match(delivered["fid"])  # fake SMSC's message id: Kannel's own UUID
    # Kannel encodes what it puts in: "+" arrives as %2B, a space as "+".
    assert all("to=%2B33612345678" in call.path for call in calls)


@pytest.mark.kannel
@pytest.mark.parametrize(
    "mask, types",
    [("1", ["1"]), ("8", ["8"]), ("3", ["1"]), ("19", ["1"]), ("24", ["8"]), ("0", [])],
)
def test_dlr_mask_picks_the_reports(
    kannel: KannelRun, dlr: DlrRecorder, mask: str, types: list[str]
) -> None:
    assert get(kannel, to=TO, text="x", **{"dlr-mask": mask, "dlr-url": f"{dlr.url}?type=%d"}) == (
        ACCEPTED
    )
    kannel.wait_received(1, strict=True)
    calls = dlr.settle(0.5)
    assert sorted(call.params["type"] for call in calls) == types


@pytest.mark.kannel
def test_no_dlr_mask_no_report(kannel: KannelRun, dlr: DlrRecorder) -> None:
    assert get(kannel, to=TO, text="x", **{"dlr-url": f"{dlr.url}?type=%d"}) == ACCEPTED
    kannel.wait_received(1, strict=True)
    assert dlr.settle(0.5) == []


@pytest.mark.kannel
def test_a_concatenated_sms_gets_one_report_of_each_type(
    kannel: KannelRun, dlr: DlrRecorder
) -> None:
    text = "x" * 400  # three parts
    assert (
        get(kannel, to=TO, text=text, **{"dlr-mask": "31", "dlr-url": f"{dlr.url}?id=7&type=%d"})
        == ACCEPTED
    )
    [sms] = kannel.wait_received(1, strict=True)
    assert sms.parts == 3
    calls = dlr.settle(0.5)
    # One 1 and one 8 for the whole SMS; the 1 (first part) often comes before the 8
    # (after the last part): a report of 8 must not undo a report of 1.
    assert sorted(call.params["type"] for call in calls) == ["1", "8"]


@pytest.mark.kannel
def test_default_dlr_url_of_the_sendsms_user(kannel: KannelRun, dlr: DlrRecorder) -> None:
    assert get(kannel, to=TO, text="x", **{"dlr-mask": "31"}) == ACCEPTED
    calls = dlr.wait(2)
    assert sorted((c.params["id"], c.params["type"]) for c in calls) == [
        ("default", "1"),
        ("default", "8"),
    ]


@pytest.mark.kannel
def test_a_failing_dlr_url_is_called_again(kannel: KannelRun, dlr: DlrRecorder) -> None:
    dlr.status = 500  # the platform cannot take the report at that moment
    assert get(kannel, to=TO, text="x", **{"dlr-mask": "31", "dlr-url": f"{dlr.url}?t=%d"}) == (
        ACCEPTED
    )
    time.sleep(1.5)
    dlr.status = 200
    calls = dlr.settle(3.0)
    types = Counter(call.params["t"] for call in calls)
    assert types["8"] >= 2 and types["1"] >= 2  # each report tried again after the 500


# -- the harness --------------------------------------------------------------------------


@pytest.mark.kannel
def test_everything_stops_with_the_block(tmp_path: Path) -> None:
    with running_kannel(tmp_path / "k", access_log=False) as run:
        procs = list(run.processes.values())
        assert all(proc.poll() is None for proc in procs)
        assert "SMSC connections:" in run.status()
    assert all(proc.poll() is not None for proc in procs)
    with pytest.raises(OSError):
        http_get(run.sendsms_url, timeout=1)


@pytest.mark.kannel
def test_everything_stops_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), running_kannel(tmp_path / "k") as run:
        procs = list(run.processes.values())
        _ = 1 / 0
    assert all(proc.poll() is not None for proc in procs)


def test_missing_binaries_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KANNEL_SMSBOX", str(tmp_path / "no-smsbox"))
    with pytest.raises(KannelMissing, match="no-smsbox"):
        require_binaries()
    with pytest.raises(KannelMissing), running_kannel(tmp_path / "k"):
        pass


def test_parse_fakesmsc_output() -> None:
    output = "\n".join(
        [
            "2026-11-23 04:37:05 [1] [0] INFO: fakesmsc starting",
            "2026-11-23 04:37:05 [1] [0] DEBUG: Got message 1: <BOUTIQUE +33612345678 text a <b>>",
            "2026-11-23 04:37:05 [1] [0] DEBUG: Got message 2: <second line>",
            "2026-11-23 04:37:05 [1] [0] DEBUG: Got message 3: <MA BOUTIQUE 33612 ucs-2 "
            "%00C%00a%00f%00%E9%00+%26%15%00+%D8%3D%DE%00%00%2B>",
            "2026-11-23 04:37:05 [1] [0] DEBUG: Got message 4: <36034 +336 text >",
            "2026-11-23 04:37:05 [1] [0] DEBUG: Got message 5: <36034 +336 udh %05%00%03%2A%02%02 "
            "data %00b>",
            "2026-11-23 04:37:05 [1] [0] DEBUG: Got message 6: <36034 +336 udh %05%00%03%2A%02%01 "
            "data %00%E9%00a>",
        ]
    )
    parts = parse_fakesmsc(output)
    assert parts[0] == Part("BOUTIQUE", "+33612345678", "text", b"a <b>\nsecond line")
    assert parts[1].payload.decode("utf-16-be") == "Café ☕ 😀+"
    assert [part.kind for part in parts] == ["text", "ucs-2", "text", "udh", "udh"]
    received = assemble(parts)
    assert [(r.sender, r.coding, r.text, r.parts) for r in received] == [
        ("BOUTIQUE", "text", "a <b>\nsecond line", 1),
        ("MA BOUTIQUE", "ucs-2", "Café ☕ 😀+", 1),
        ("36034", "text", "", 1),
        ("36034", "ucs-2", "éab", 2),
    ]
