"""Start a server for the ingest benchmark, run bench.ingest against it, stop it.

    python -m bench.run [--events 4000] [--sockets 8] [--batch 1] [bench.ingest options...]

The server is daphne on a free loopback port with the echo baseline on and the rate limit
raised out of the way. It uses a fresh SQLite file (embedded default) unless DATABASE_URL is
set; REDIS_URL, if set, switches the channel layer and the rate-limit bucket to Redis.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.server import daphne_server

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--events", default="4000")
    parser.add_argument("--sockets", default="8")
    known, rest = parser.parse_known_args()
    tmp = tempfile.mkdtemp(prefix="baton-bench-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "BATON_INGEST_RATE": "1000000",
        "BATON_INGEST_BURST": "1000000",
        "LOG_LEVEL": "WARNING",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    token = subprocess.run(
        [*manage, "create_integration", f"bench-{int(time.time())}", "--token-only"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with daphne_server(env=env) as port:
        backend = "PostgreSQL" if "postgres" in env["DATABASE_URL"] else "SQLite"
        layer = "Redis" if env.get("REDIS_URL") else "in-memory"
        print(f"server: daphne, {backend}, {layer} channel layer, port {port}")
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.ingest",
                "--url",
                f"ws://127.0.0.1:{port}",
                "--token",
                token,
                "--events",
                known.events,
                "--sockets",
                known.sockets,
                *rest,
            ],
            cwd=ROOT,
        ).returncode


if __name__ == "__main__":
    sys.exit(main())
