from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections
from django.utils import timezone

from conversations.models import Integration
from conversations.services import integration_create, integration_rotate_token
from desk.demo import DEMO_PASSWORD, DEMO_PEOPLE
from desk.demo_history import demo_history_seed
from desk.demo_metrics import demo_metrics_seed
from desk.demo_pace import SIMULATED_WARMUP_HANDOFFS, demo_pace, demo_summary
from desk.demo_staff import DEMO_STAFF, demo_staff_ensure, staff_floor_stop_all
from desk.demo_widget import REFUND_OVER_AI_LIMIT, demo_widget_customer

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


def _wait_for_page(url: str, *, seconds: float) -> None:
    """One request to the server, so that whatever starts with its first connection starts."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}accounts/login/", timeout=5):
                return
        except OSError:
            time.sleep(0.3)


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _database_wipe() -> str:
    """Empty the demo database: delete the SQLite file, or recreate PostgreSQL's schema.
    Returns what was wiped, for the terminal."""
    connection = connections["default"]
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        connections.close_all()
        if name == ":memory:" or name.startswith("file:"):
            return name
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)
        return name
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        return f"PostgreSQL database {name}"
    raise CommandError(f"--fresh knows SQLite and PostgreSQL, not {connection.vendor}.")


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, seed the demo shop, serve Baton over ASGI (daphne) and stream "
        "simulated AI conversations into it until Ctrl-C. -v 2 shows every simulated "
        "conversation and sweep."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--rate",
            type=_positive_float,
            default=None,
            help="simulated events/s (default: paced to what the demo agents can answer)",
        )
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="start from an empty database: yesterday's cases and conversations go",
        )
        parser.add_argument(
            "--summary-every",
            type=_positive_float,
            default=10.0,
            help="seconds between summary lines (default 10)",
        )
        parser.add_argument(
            "--customers", type=int, default=5000, help="demo shop size on a first run"
        )
        parser.add_argument("--orders", type=int, default=50000, help="likewise")
        parser.add_argument(
            "--no-staff",
            action="store_false",
            dest="staff",
            help="no simulated agents: the desk is worked by whoever logs in",
        )
        parser.add_argument(
            "--no-history",
            action="store_false",
            dest="history",
            help="do not seed the 30 days of past conversations and cases, nor the 120 days "
            "of generated contacts behind the metrics",
        )

    def _customer_side(self, url: str) -> None:
        """The widget page beside the desk, and a demo shop customer to chat as."""
        self.stdout.write(f"Chat as a customer: {url}chat/")
        customer = demo_widget_customer()
        if customer is None:
            return
        self.stdout.write(
            f"  as {customer.email} (zip {customer.zip_code}): ask where order "
            f"{customer.shipped_order} is, then for a refund of ${REFUND_OVER_AI_LIMIT:g} on "
            f"{customer.delivered_order} (over the AI's limit: a person takes it), and rate both"
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        rate: float | None,
        fresh: bool,
        summary_every: float,
        customers: int,
        orders: int,
        staff: bool,
        history: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise CommandError(f"Port {port} on {host} is taken. Try: make run PORT=8001")
        verbose = verbosity >= 2
        # A SIGTERM (a process manager, `kill`) stops the server, sweeper and simulator too.
        signal.signal(signal.SIGTERM, _interrupt)
        if fresh:
            self.stdout.write(f"Starting afresh: wiped {_database_wipe()}.")
        call_command("migrate", verbosity=0)
        # The logins are listed below, once, with the URL.
        call_command("seed_demo", customers=customers, orders=orders, logins=False)
        if staff:
            demo_staff_ensure()
        past = demo_history_seed() if history else None
        metrics = demo_metrics_seed() if history else None
        existing = Integration.objects.filter(name=INTEGRATION_NAME).first()
        if existing is None:
            _, token = integration_create(name=INTEGRATION_NAME)
        else:
            token = integration_rotate_token(integration=existing)
        left_over = demo_summary()

        # The simulated chats are about the demo store's own customers and orders. The token
        # goes to the simulator in a file only this user can read, never on its command line
        # (which `ps` shows to everyone on the machine).
        work_dir = tempfile.TemporaryDirectory(prefix="baton-demo-")
        cast_file = str(Path(work_dir.name) / "cast.json")
        call_command("demo_cast", output=cast_file, verbosity=0)
        token_file = Path(work_dir.name) / "token"
        descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(token)
        del token

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
        if staff:
            # The simulated staff work from inside the server, so their pushes reach browsers.
            env["BATON_DEMO_STAFF"] = "1"
        else:
            env.pop("BATON_DEMO_STAFF", None)
        if not verbose:
            # Each child would announce django-axes at start-up (INFO): the terminal stays quiet.
            env.setdefault("LOG_LEVEL", "WARNING")
        quiet_out = None if verbose else subprocess.DEVNULL
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
            # Own sessions: a Ctrl-C reaches this command only, which stops each child once.
            start_new_session=True,
        )
        simulator = sweeper = outcomes_sweeper = None
        pace = demo_pace(rate=rate, staff=len(DEMO_STAFF) if staff else 0)
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
            self._customer_side(url)
            if staff:
                names = ", ".join(member.first for member in DEMO_STAFF)
                self.stdout.write(
                    f"Simulated staff: {names} work the desk by themselves (rita sees them "
                    f"on {url}supervisor/); --no-staff leaves the desk to you."
                )
            if past is not None:
                self.stdout.write(past.line() + ".")
            if metrics is not None:
                self.stdout.write(metrics.line() + ".")
            if rate is None:
                answered = (
                    f"what {pace.agents} agents answer at {pace.handle_minutes:g} minutes a case"
                )
                if pace.staff:
                    answered += f" and {pace.staff} simulated agents"
                self.stdout.write(
                    f"Simulating about {pace.handoffs_per_minute:.1f} handoffs a minute "
                    f"({pace.rate:g} events/s): {answered}. RATE= (or --rate) changes it."
                )
            else:
                self.stdout.write(
                    f"Simulating {pace.rate:g} events/s, about "
                    f"{pace.handoffs_per_minute:.1f} handoffs a minute."
                )
            if left_over.open:
                self.stdout.write(
                    self.style.WARNING(
                        f"The queue still holds {left_over.open} open cases from an earlier run "
                        f"({left_over.overdue} past their deadline): `make reset` (or "
                        "--fresh) starts afresh."
                    )
                )
            self.stdout.write(
                "A summary follows every few seconds"
                + ("." if verbose else "; make run V=1 (or -v 2) shows every conversation.")
                + " Ctrl-C stops."
            )
            self.stdout.write("")
            # No Celery beat without a broker: the sweeper runs as a plain loop.
            sweeper = subprocess.Popen(
                [sys.executable, "manage.py", "sweep", "--every", "15"],
                env=env,
                stdout=quiet_out,
                start_new_session=True,
            )
            # Likewise the contacts' sweep and the metrics rollups.
            outcomes_sweeper = subprocess.Popen(
                [sys.executable, "manage.py", "outcomes_sweep", "--every", "60"],
                env=env,
                stdout=quiet_out,
                start_new_session=True,
            )
            simulator = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "simulate",
                    "--forever",
                    "--url",
                    f"ws://{host}:{port}/ws/ingest/v1/",
                    "--token-file",
                    str(token_file),
                    "--rate",
                    f"{pace.rate:g}",
                    "--concurrency",
                    str(pace.concurrency),
                    "--warmup",
                    str(SIMULATED_WARMUP_HANDOFFS if rate is None else 0),
                    "--cast",
                    cast_file,
                    "--drain-timeout",
                    "3",
                    *([] if verbose else ["--quiet"]),
                ],
                env=env,
                start_new_session=True,
            )
            if staff:
                # The floor starts with the server's first connection: make one now.
                _wait_for_page(url, seconds=10)
            self._summarise(server, every=summary_every, staff=staff)
        except KeyboardInterrupt:
            pass
        finally:
            # The simulator drains its acks on SIGINT; the sweeper and daphne stop on SIGTERM.
            for process, stop in (
                (simulator, signal.SIGINT),
                (sweeper, signal.SIGTERM),
                (outcomes_sweeper, signal.SIGTERM),
            ):
                if process is not None and process.poll() is None:
                    process.send_signal(stop)
            if simulator is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    simulator.wait(timeout=10)
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
            for process in (simulator, sweeper, outcomes_sweeper, server):
                if process is not None:
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
            work_dir.cleanup()
            if staff:
                # The server is gone: its simulated agents leave the desk with it.
                close_old_connections()
                staff_floor_stop_all()

    def _summarise(self, server: subprocess.Popen[bytes], *, every: float, staff: bool) -> None:
        """Until the server stops: a line when the numbers change, and at least once a minute."""
        last, last_at = "", 0.0
        while server.poll() is None:
            close_old_connections()
            line = demo_summary(staff=staff).line()
            now = time.monotonic()
            if line != last or now - last_at >= 60:
                self.stdout.write(f"{timezone.localtime():%H:%M:%S}  {line}")
                last, last_at = line, now
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=every)
