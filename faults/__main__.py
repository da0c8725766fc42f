"""Run the fault scenarios and print the report.

    python -m faults                 every scenario
    python -m faults --fast          the ones CI runs
    python -m faults kill_worker     by name (several allowed)

Exit status 1 when a scenario's counts are wrong (or it crashed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults.base import DATABASE_URL, REDIS_URL, Result, Scenario


def discover() -> list[Scenario]:
    package = Path(__file__).resolve().parent
    scenarios = []
    for module in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if module.name.startswith("scenario_"):
            scenarios.append(importlib.import_module(f"faults.{module.name}").SCENARIO)
    return scenarios


def setup_django() -> None:
    if not DATABASE_URL.startswith("postgres"):
        raise SystemExit("FAULTS_DATABASE_URL must name a PostgreSQL database")
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["CELERY_BROKER_URL"] = REDIS_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    os.environ.setdefault("SECRET_KEY", "faults-only-" + "x" * 40)
    import django

    _create_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _create_database() -> None:
    """Create the scenarios' database if it is missing (a fresh machine, CI)."""
    import psycopg2
    from psycopg2 import sql

    dsn, name = DATABASE_URL.rsplit("/", 1)
    server = psycopg2.connect(f"{dsn}/postgres")
    server.autocommit = True  # CREATE DATABASE refuses to run in a transaction
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        server.close()


def report(rows: list[tuple[Scenario, Result, float]]) -> str:
    header = ("scenario", "messages", "lost", "duplicates", "double debits", "recover", "time")
    lines = [header]
    for scenario, result, seconds in rows:
        lines.append(
            (
                ("ok   " if result.passed else "FAIL ") + scenario.name,
                f"{result.messages:,}",
                str(result.lost),
                str(result.duplicates),
                str(result.double_debits),
                "-" if result.recover_seconds is None else f"{result.recover_seconds:.1f} s",
                f"{seconds:.1f} s",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    ]
    out.insert(1, "  ".join("-" * width for width in widths))
    for scenario, result, _seconds in rows:
        for note in result.notes:
            out.append(f"  {scenario.name}: {note}")
    return "\n".join(out)


def main() -> int:
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: the scenarios' finally blocks
    # stop the workers, servers and throwaway databases they started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--fast", action="store_true", help="only the ones CI runs")
    args = parser.parse_args()
    scenarios = discover()
    if args.names:
        unknown = set(args.names) - {scenario.name for scenario in scenarios}
        if unknown:
            raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
        scenarios = [scenario for scenario in scenarios if scenario.name in args.names]
    if args.fast:
        scenarios = [scenario for scenario in scenarios if scenario.fast]
    setup_django()
    rows = []
    for scenario in scenarios:
        print(f"== {scenario.name}: {scenario.description}", flush=True)
        started = time.monotonic()
        try:
            result = scenario.run()
        except Exception:
            traceback.print_exc()
            result = Result(notes=["crashed: see the traceback above"])
        rows.append((scenario, result, time.monotonic() - started))
    print()
    print(report(rows) if rows else "no scenario to run")
    return 0 if all(result.passed for _scenario, result, _seconds in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
