"""`make run` for a newcomer: `rundemo` as a person starts it, in its own processes on its own
SQLite file. It lists the logins once, keeps the terminal to a summary line, never puts the
integration token on a command line, starts afresh with --fresh, and paces the simulator to
what the demo agents can answer."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conversations.services import integration_create
from desk.demo import DEMO_PEOPLE
from desk.demo_pace import (
    DEMO_HANDLE_MINUTES,
    SIMULATED_EVENTS_PER_HANDOFF,
    demo_pace,
    demo_summary,
)
from escalation.models import Case
from tests.factories import CaseFactory
from tests.live import LiveServer
from tools.simulate import run_simulation

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^\d\d:\d\d:\d\d  \d+ conversations, \d+ handoffs, \d+ open cases", re.M)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Every descendant of `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def _cmdline(pid: int) -> list[str]:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


class Demo:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def wait_for(self, pattern: re.Pattern[str], *, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if pattern.search(self.text):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no {pattern.pattern!r} in the demo's output:\n{self.text}")


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    """Yesterday's demo database: a file holding what --fresh must not keep."""
    path = tmp_path / "demo.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE yesterday (flooded INTEGER)")
    return path


@pytest.fixture
def demo(demo_db: Path) -> Iterator[Demo]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{demo_db}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop("LOG_LEVEL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "rundemo",
            "--fresh",
            "--port",
            str(_free_port()),
            "--customers",
            "30",
            "--orders",
            "80",
            "--summary-every",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Demo(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for child in _children(process.pid):
                    os.kill(child, signal.SIGKILL)
                process.kill()
                process.wait()


def test_the_demo_starts_afresh_quietly_and_keeps_its_token_off_command_lines(
    demo: Demo, demo_db: Path
) -> None:
    # Once a conversation is in, the simulator has started and connected.
    demo.wait_for(re.compile(r"^\d\d:\d\d:\d\d  [1-9]\d* conversations", re.M), seconds=180)

    children = _children(demo.process.pid)
    commands = [_cmdline(pid) for pid in children]
    [simulator] = [c for c in commands if "simulate" in c]
    assert not any("--token" in c or any("btn_" in arg for arg in c) for c in commands)
    token_file = Path(simulator[simulator.index("--token-file") + 1])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text()
    with sqlite3.connect(demo_db) as db:
        [(stored_hash,)] = db.execute(
            "SELECT token_hash FROM conversations_integration WHERE name = 'demo-simulator'"
        )
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert hashlib.sha256(token.encode()).hexdigest() == stored_hash
    assert "yesterday" not in tables

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=30) == 0
    demo.reader.join(timeout=5)
    text = demo.text
    for username, *_ in DEMO_PEOPLE:
        assert len(re.findall(rf"^  {username} ", text, re.M)) == 1, text
    assert "Desk logins" not in text
    # Quiet: no line per simulated conversation, no start-up chatter, no traceback.
    assert not re.search(r"^(done|cut|control|agent) ", text, re.M), text
    # django-axes announces itself as Django starts: here once, before rundemo runs (the
    # Makefile's LOG_LEVEL quiets that one too), never again from the server or the simulator.
    assert text.count("AXES: BEGIN") <= 1, text
    assert "Traceback" not in text
    assert token_file.exists() is False
    assert len(SUMMARY.findall(text)) >= 1
    # The simulated staff and the seeded history are announced, the history as seeded.
    assert re.search(r"^Simulated staff: Priya, Elif, .* --no-staff", text, re.M), text
    assert re.search(r"^History: \d+ past conversations .* not live work\)\.$", text, re.M)
    assert re.search(r"; simulated staff \d+ online, \d+ away, \d+ offline$", text, re.M)
    # The server stopped, and its simulated agents left the desk with it.
    with sqlite3.connect(demo_db) as db:
        present = db.execute(
            "SELECT COUNT(*) FROM desk_agentprofile WHERE presence != 'offline'"
        ).fetchone()[0]
        staff_changes = db.execute(
            "SELECT COUNT(*) FROM escalation_presencechange WHERE at > datetime('now', '-1 hour')"
        ).fetchone()[0]
    assert present == 0 and staff_changes > 0


def test_the_default_pace_is_what_the_demo_agents_can_answer() -> None:
    pace = demo_pace()

    agents = sum(1 for person in DEMO_PEOPLE if person[3] == "agent")
    assert pace.agents == agents == 3
    assert pace.handoffs_per_minute == pytest.approx(agents / DEMO_HANDLE_MINUTES)
    assert pace.rate == pytest.approx(
        pace.handoffs_per_minute * SIMULATED_EVENTS_PER_HANDOFF / 60, rel=0.01
    )
    # One conversation at a time at a chat's pace, rather than four crawling along.
    assert pace.concurrency == 1
    # RATE= overrides, and the old default interleaves as before.
    assert demo_pace(rate=2).rate == 2
    assert demo_pace(rate=2).concurrency == 4


def test_the_simulator_hands_off_about_as_often_as_the_pace_assumes(
    live_asgi_server: LiveServer,
) -> None:
    _, token = integration_create(name="simulator")

    totals = run_simulation(
        url=f"{live_asgi_server.ws_url}/ws/ingest/v1/",
        token=token,
        rate=10,
        conversations=30,
        concurrency=1,
        seed=8,
        write=lambda line: None,
    )

    handoffs = Case.objects.count()
    assert handoffs
    # Within a factor of two: faster than the demo's pace, more of the AI's turns are on the
    # wire before the desk takes over, and a loaded machine escalates later still.
    ratio = totals.stored / handoffs
    assert SIMULATED_EVENTS_PER_HANDOFF / 2 <= ratio <= SIMULATED_EVENTS_PER_HANDOFF * 2


def test_the_summary_counts_open_queued_and_overdue_cases(db: None) -> None:
    from datetime import timedelta

    from django.utils import timezone

    CaseFactory(status=Case.Status.QUEUED, sla_due_at=timezone.now() - timedelta(minutes=1))
    CaseFactory(status=Case.Status.QUEUED)
    CaseFactory(status=Case.Status.RESOLVED, sla_due_at=timezone.now() - timedelta(minutes=9))

    summary = demo_summary()

    assert (summary.conversations, summary.handoffs, summary.open, summary.queued) == (3, 3, 2, 2)
    assert summary.overdue == 1
    assert summary.line() == (
        "3 conversations, 3 handoffs, 2 open cases (2 queued, 1 past the first-reply deadline)"
    )
