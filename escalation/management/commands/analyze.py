from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from escalation.analysis import Turn
from escalation.engine import analysis_as_dict, engine_run
from escalation.packets import summary_build
from escalation.services import rules_active


class Command(BaseCommand):
    help = (
        "Analyse transcripts (one JSON object a line: {id, turns: [{role, text}]}) with the "
        "escalation engine and write one JSON line per conversation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--output", "-o", type=Path, help="Write here instead of stdout.")
        parser.add_argument(
            "--llm", action="store_true", help="Use the configured LLM endpoint for summaries."
        )

    def handle(
        self, *args: Any, file: Path, output: Path | None, llm: bool, **options: Any
    ) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        backend = None
        if llm:
            from escalation.llm import LlmBackend

            if not LlmBackend.is_configured():
                raise CommandError("--llm needs OPENAI_BASE_URL or OPENAI_API_KEY.")
            backend = LlmBackend()
        rules = rules_active()
        out = output.open("w") if output else sys.stdout
        try:
            with file.open() as lines:
                for number, line in enumerate(lines, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        turns = [
                            Turn(role=t["role"], text=t.get("text", ""), seq=i + 1)
                            for i, t in enumerate(row["turns"])
                        ]
                    except (ValueError, KeyError, TypeError) as exc:
                        raise CommandError(f"{file}:{number}: not a transcript ({exc})") from None
                    analysis = engine_run(turns=turns, rules=rules)
                    summary = summary_build(
                        turns=turns,
                        state=analysis.state,
                        entities=analysis.entities,
                        link=analysis.link,
                    )["text"]
                    if backend is not None:
                        summary = self._llm_summary(backend, turns, analysis, summary)
                    result = analysis_as_dict(
                        analysis, conversation_id=str(row.get("id")), summary=summary
                    )
                    out.write(json.dumps(result) + "\n")
        finally:
            if output:
                out.close()

    def _llm_summary(self, backend: Any, turns: list[Turn], analysis: Any, fallback: str) -> str:
        from escalation.llm import LlmUnavailable

        try:
            packet = backend.packet(
                turns=[(t.role, t.text) for t in turns],
                facts={"risk": analysis.state.risk, "topic": analysis.state.topic},
            )
        except LlmUnavailable as exc:
            self.stderr.write(f"LLM unavailable, embedded summary used: {exc}")
            return fallback
        return packet.summary
