"""A live ASGI server for tests, in a spawned process.

This module is imported by the spawned child before Django is set up, so it imports nothing
that needs the app registry.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from channels.testing.live import set_database_connection
from daphne.testing import DaphneProcess


class LiveServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"


def live_server_setup() -> None:
    """Runs in the server process, before it serves: point it at the test database."""
    set_database_connection()


class SpawnedDaphneProcess(DaphneProcess):
    """Daphne in a fresh interpreter: forking a test process that already runs threads (asgiref's
    executors, the channel layer) can leave the child deadlocked on a lock it inherited."""

    context = multiprocessing.get_context("spawn")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.port = self.context.Value("i", 0)
        self.ready = self.context.Event()
        self.errors = self.context.Queue()

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return SpawnedDaphneProcess.context.Process._Popen(process_obj)
