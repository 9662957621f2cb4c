from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.models import Integration
from conversations.services import integration_create, integration_rotate_token
from desk.demo import DEMO_PASSWORD, DEMO_PEOPLE

INTEGRATION_NAME = "demo-simulator"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _wait_for_port(host: str, port: int, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, seed the demo shop, serve Baton over ASGI (daphne) and stream "
        "simulated AI conversations into it until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--rate", type=float, default=2.0, help="Simulated events/s.")

    def handle(self, *args: Any, host: str, port: int, rate: float, **options: Any) -> None:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise CommandError(f"Port {port} on {host} is taken. Try: make run PORT=8001")
        # A SIGTERM (a process manager, `kill`) stops the server, sweeper and simulator too.
        signal.signal(signal.SIGTERM, _interrupt)
        call_command("migrate", verbosity=0)
        call_command("seed_demo")
        existing = Integration.objects.filter(name=INTEGRATION_NAME).first()
        if existing is None:
            _, token = integration_create(name=INTEGRATION_NAME)
        else:
            token = integration_rotate_token(integration=existing)

        # The simulated chats are about the demo store's own customers and orders.
        cast_dir = tempfile.TemporaryDirectory(prefix="baton-demo-")
        cast_file = str(Path(cast_dir.name) / "cast.json")
        call_command("demo_cast", output=cast_file, verbosity=0)

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-v",
                "0",
                "--websocket-max-message-size",
                str(settings.BATON_WS_MAX_MESSAGE_BYTES),
                "--websocket-max-frame-size",
                str(settings.BATON_WS_MAX_MESSAGE_BYTES),
                "-b",
                host,
                "-p",
                str(port),
                "config.asgi:application",
            ],
            env=env,
        )
        simulator = sweeper = None
        try:
            if not _wait_for_port(host, port, seconds=30):
                raise CommandError("daphne did not start; see its output above.")
            url = f"http://{host}:{port}/"
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"Baton is running at {url}"))
            self.stdout.write(f"Log in as any of (password {DEMO_PASSWORD}):")
            for username, first, last, role, *_ in DEMO_PEOPLE:
                self.stdout.write(f"  {username:<6} {first} {last}, {role}")
            self.stdout.write(f"Admin: {url}admin/ (as rita). API docs: {url}api/v1/docs")
            self.stdout.write(f"Simulating AI conversations at {rate:g} events/s. Ctrl-C stops.")
            self.stdout.write("")
            # No Celery beat without a broker: the sweeper runs as a plain loop.
            sweeper = subprocess.Popen(
                [sys.executable, "manage.py", "sweep", "--every", "15"], env=env
            )
            simulator = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "simulate",
                    "--forever",
                    "--url",
                    f"ws://{host}:{port}/ws/ingest/v1/",
                    "--token",
                    token,
                    "--rate",
                    str(rate),
                    "--cast",
                    cast_file,
                ],
                env=env,
            )
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (simulator, sweeper, server):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in (simulator, sweeper, server):
                if process is not None:
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
            cast_dir.cleanup()
