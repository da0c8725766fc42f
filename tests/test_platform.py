"""Settings from the environment, the start-up check, health, demo data, languages."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Account, AccountType
from accounts.selectors import ledger_sum
from campaigns.models import Contact
from smsplatform.checks import check_secret_key, refuse_to_start_on_errors
from smsplatform.settings import DEFAULT_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import smsplatform.settings"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DEBUG", "maybe"), ("SMS_SHORTCODE", "36O34"), ("SMS_GATEWAY", "carrier-pigeon")],
)
def test_a_bad_environment_value_stops_the_start_naming_the_variable(
    variable: str, value: str
) -> None:
    result = _settings_import({variable: value})

    assert result.returncode != 0
    assert variable in result.stderr and value in result.stderr


@override_settings(DEBUG=False, SECRET_KEY=DEFAULT_SECRET_KEY)
def test_the_default_secret_key_is_refused_when_debug_is_off() -> None:
    errors = check_secret_key()

    assert [error.id for error in errors] == ["smsplatform.E001"]
    with pytest.raises(SystemExit, match="SECRET_KEY"):
        refuse_to_start_on_errors()


@override_settings(DEBUG=False, SECRET_KEY="a-real-secret-" + "x" * 40)
def test_a_real_secret_key_passes_the_check() -> None:
    assert check_secret_key() == []


def test_gunicorn_refuses_to_load_the_app_on_the_default_key() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import smsplatform.wsgi"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "false", "SMS_VAR_DIR": "/tmp/sms-check"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "smsplatform.E001" in result.stderr


@pytest.mark.django_db
def test_health_reports_the_database(client: Client) -> None:
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.redis
@pytest.mark.django_db
def test_health_reaches_a_real_redis_broker(client: Client) -> None:
    from tests.conftest import REDIS_TEST_URL

    with override_settings(CELERY_BROKER_URL=REDIS_TEST_URL):
        from smsplatform.celery import app

        app.conf.broker_url = REDIS_TEST_URL
        try:
            response = client.get(reverse("healthz"))
        finally:
            app.conf.broker_url = settings.CELERY_BROKER_URL or None

    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_seed_demo_is_safe_to_run_twice(client: Client) -> None:
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    marketing = Account.objects.get(slug="demo-marketing")
    notification = Account.objects.get(slug="demo-notification")
    assert marketing.account_type == AccountType.MARKETING
    assert notification.account_type == AccountType.NOTIFICATION
    for account in (marketing, notification):
        assert account.credit_balance == settings.SMS_DEMO_CREDITS == ledger_sum(account=account)
        regions = set(Contact.objects.filter(account=account).values_list("region", flat=True))
        assert "FR" in regions and len(regions) > 1
    assert Contact.objects.count() == 12


@pytest.mark.django_db
def test_the_demo_login_opens_the_dashboard(client: Client) -> None:
    call_command("seed_demo", stdout=io.StringIO())

    response = client.post(
        reverse("login"), {"username": "demo-marketing", "password": "demo"}, follow=True
    )

    assert response.status_code == 200
    assert response.context["current_account"].slug == "demo-marketing"


@pytest.mark.django_db
def test_the_customer_area_speaks_french(client_a: Client) -> None:
    client_a.post(reverse("set_language"), {"language": "fr", "next": "/dashboard/"})

    response = client_a.get(reverse("dashboard"))

    assert b'lang="fr"' in response.content
    assert "Solde de crédits".encode() in response.content


def test_every_french_message_is_translated_and_compiled(tmp_path: Any) -> None:
    po = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "check.mo"), str(po)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    # "N translated messages." and nothing fuzzy or untranslated: run `make messages`.
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    assert (tmp_path / "check.mo").read_bytes() == po.with_suffix(".mo").read_bytes()


def _wsgi_get(path: str, content_type: str = "", **extra: str) -> tuple[str, dict[str, str]]:
    """GET through smsplatform.wsgi as gunicorn calls it (`extra`: more environ)."""
    from wsgiref.util import setup_testing_defaults

    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from smsplatform.wsgi import application

    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "QUERY_STRING": "a=1",
        "HTTP_ACCEPT_LANGUAGE": "fr",
        "CONTENT_TYPE": content_type,
        **extra,
    }
    setup_testing_defaults(environ)
    environ["SERVER_NAME"] = environ["HTTP_HOST"] = "127.0.0.1"
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer.update(status=status, headers=dict(headers))

    # As Django's test client does: the test's transaction is no old connection to close.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"]


@pytest.mark.django_db
def test_carriers_calls_skip_the_pages_middleware_and_pages_keep_it(settings: Any) -> None:
    settings.SECRET_KEY = "a-test-key-" + "x" * 40  # wsgi.py refuses the public default
    status, headers = _wsgi_get("/webhooks/kannel/inbound/not-a-token/")
    assert status.startswith("403")
    assert "Content-Language" not in headers  # no LocaleMiddleware
    assert headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware stays

    status, headers = _wsgi_get(reverse("login"))
    assert status.startswith("200")
    assert headers["Content-Language"] == "fr"
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["base64", "rot13", "zlib"])
def test_a_charset_that_is_no_text_encoding_is_a_400_not_a_crash(
    settings: Any, charset: str
) -> None:
    settings.SECRET_KEY = "a-test-key-" + "x" * 40
    for path in (reverse("login"), "/webhooks/kannel/inbound/not-a-token/"):
        status, _headers = _wsgi_get(path, f"text/plain; charset={charset}")
        assert status.startswith("400"), (path, status)
    # An unknown charset is ignored (read as UTF-8), as Django does.
    assert _wsgi_get(reverse("login"), "text/plain; charset=x-martian")[0].startswith("200")


@pytest.mark.django_db
@pytest.mark.parametrize("length", ["12abc", "-5", "1e3", " "])
def test_an_unreadable_content_length_is_a_400_not_a_crash(settings: Any, length: str) -> None:
    """Django's request.body crashes (500) on such a header; gunicorn refuses most of them
    before us, other servers may not."""
    settings.SECRET_KEY = "a-test-key-" + "x" * 40
    for path in (reverse("login"), "/webhooks/inbound/sinch/", "/api/v1/messages"):
        status, _headers = _wsgi_get(path, "application/json", CONTENT_LENGTH=length)
        assert status.startswith("400"), (path, status)
    assert _wsgi_get(reverse("login"), CONTENT_LENGTH="")[0].startswith("200")
