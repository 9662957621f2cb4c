"""A scratch Django for the desk benchmarks (bench.desk, bench.board, bench.console): the
embedded default (no Redis, no LLM), a temporary SQLite file unless DATABASE_URL is set, and a
database that holds no cases (--flush empties one that does)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

EMBEDDED_ONLY = ("REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY")


@contextmanager
def scratch_django(
    *, flush: bool, prefix: str = "baton-bench-", keep: bool = False
) -> Iterator[str]:
    """Set Django up on a scratch database, migrated and empty (or, with `keep`, as it is);
    yields its vendor. Call before importing anything that needs settings; closes and removes
    it afterwards."""
    for name in EMBEDDED_ONLY:
        os.environ.pop(name, None)
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    # django.test.Client speaks as "testserver".
    os.environ["ALLOWED_HOSTS"] = "localhost,127.0.0.1,testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import warnings

    import django

    # Nothing was collected to STATIC_ROOT; the benches serve no static files.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from escalation.models import Case

    call_command("migrate", verbosity=0)
    if not keep and Case.objects.exists():
        if not flush:
            sys.exit("the database holds cases: use a scratch database, or pass --flush")
        call_command("flush", interactive=False, verbosity=0)
    try:
        yield connection.vendor
    finally:
        connection.close()
        shutil.rmtree(tmp, ignore_errors=True)
