"""Speed and memory of a 100,000-row contact import. Prints figures.

    make bench                                   # throwaway SQLite database
    BENCH_DATABASE_URL=postgres://... make bench  # an empty PostgreSQL database

The file is Windows-1252 with `;` and a header, as Excel writes it in France, with 1 %
bad numbers and 1 % duplicates. Peak memory is the process's resident set, which must
stay flat whatever the file size: the import streams the file in batches.
"""

from __future__ import annotations

import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(42)  # noqa: S311 (names for a benchmark file)
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write("Nom;Prénom;Téléphone;Ville\r\n")
        for i in range(rows):
            if i % 100 == 7:
                number = "06 12"  # rejected
            elif i % 100 == 9:
                number = f"06 {10 + (i - 1) // 1000000:02d} {(i - 1) % 1000000:06d}"  # duplicate
            else:
                number = f"06 {10 + i // 1000000:02d} {i % 1000000:06d}"
            out.write(f"Nom{i};Prénom{rng.randint(0, 999)};{number};Besançon\r\n")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="sms-bench-import-"))
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"
    )
    os.environ["SMS_VAR_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Account
    from campaigns.imports import import_run, import_set_mapping, import_upload
    from campaigns.models import Contact

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    account = Account.objects.get(slug="demo-marketing")
    Contact.objects.filter(account=account).delete()
    source = workdir / "contacts.csv"
    write_file(source, ROWS)
    size_mb = source.stat().st_size / 2**20
    print(f"Contact import, {ROWS:,} rows ({size_mb:.1f} MB, {connection.vendor}):")
    before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    with source.open("rb") as handle:
        upload = SimpleUploadedFile("contacts.csv", handle.read())
    contact_import = import_upload(account=account, upload=upload, user=None, list_name="Bench")
    del upload
    import_set_mapping(contact_import=contact_import, mapping=contact_import.mapping)
    uploaded = time.perf_counter()
    result = import_run(contact_import.pk)
    done = time.perf_counter()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  upload and sniff        {uploaded - start:8.2f} s")
    rate = ROWS / (done - uploaded)
    print(f"  import run              {done - uploaded:8.2f} s   {rate:,.0f} rows/s")
    print(
        f"  created {result.created_count:,}, merged {result.merged_count:,}, "
        f"rejected {result.rejected_count:,}"
    )
    print(f"  peak RSS {peak_rss:,.0f} MB (before the import: {before_rss:,.0f} MB)")


if __name__ == "__main__":
    main()
