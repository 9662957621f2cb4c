"""A daphne on a free loopback port, for the benchmarks that need one. It serves Baton's
application plus the echo baseline (bench.echo_asgi), not config.asgi alone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# As the deployed daphne (Procfile, settings.BATON_WS_MAX_MESSAGE_BYTES): frames up to this
# reach the ingest consumer, which closes with 4009 past BATON_INGEST_CLOSE_FRAME_BYTES.
WS_MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@contextmanager
def daphne_server(*, env: dict[str, str], startup_seconds: float = 30) -> Iterator[int]:
    """Start daphne with `env`, yield its port once it accepts connections, stop it after."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-v",
            "0",
            "--websocket-max-message-size",
            str(WS_MAX_MESSAGE_BYTES),
            "--websocket-max-frame-size",
            str(WS_MAX_MESSAGE_BYTES),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "bench.echo_asgi:application",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("daphne did not start; see its output above")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # The measurements are taken; a server slow to drain must not lose them.
            server.kill()
            server.wait()
