"""Speed of the text engine and of the compose page's live preview. Prints figures.

    make bench

The engine runs once per recipient at launch and on every keystroke in the preview:
these figures say how many messages a second one core composes, and how long the
server takes to answer one live-preview request (in process, no network), on a
throwaway SQLite database with the demo data.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXTS = {
    "GSM-7, 1 SMS": "Soldes d'ete : -20% sur tout le magasin ce week-end avec le code ETE20 !",
    "GSM-7, 3 SMS": "Bonjour Marie, votre commande est prete. " * 10,
    "GSM-7 with euro signs, 3 SMS": "Bonjour Marie, -20 € sur votre commande. " * 10,
    "UCS-2 + emoji, 3 SMS": "C’est l’été 😀 -20% sur tout ! " * 6,
}


def rate(label: str, fn: Callable[[], object], seconds: float = 1.0) -> None:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            fn()
        count += 200
    print(f"  {label:<52} {count / elapsed:>12,.0f} /s")


def latency(label: str, fn: Callable[[], object], runs: int = 300) -> None:
    for _ in range(20):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"  {label:<52} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   ({runs} requests)")


def main() -> None:
    from campaigns.text import StopRules, compose_for, measure

    rules = StopRules(shortcode="36034", unsubscribe_link="ns.fr/k7q", add_mention=True)
    print("Text engine (one core):")
    for label, text in TEXTS.items():
        rate(f"measure, {label}", lambda text=text: measure(text))
        rate(
            f"compose for a French number, {label}",
            lambda text=text: compose_for(text, region="FR", rules=rules, rate=1),
        )

    workdir = tempfile.mkdtemp(prefix="sms-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    client.login(username="demo-marketing", password="demo")  # noqa: S106 (the demo login)
    numbers = "\n".join(f"06 12 34 {i // 100:02d} {i % 100:02d}" for i in range(200))
    print("Live preview, server time per request (demo account, Django test client):")
    for label, text in TEXTS.items():
        latency(
            f"{label}, 200 typed numbers",
            lambda text=text: client.post(
                "/campaigns/new/",
                {"text": text, "recipients": numbers},
                HTTP_HX_REQUEST="true",
            ),
        )
    latency(
        "GSM-7, all contacts",
        lambda: client.post(
            "/campaigns/new/",
            {"text": TEXTS["GSM-7, 1 SMS"], "all_contacts": "on"},
            HTTP_HX_REQUEST="true",
        ),
    )


if __name__ == "__main__":
    main()
