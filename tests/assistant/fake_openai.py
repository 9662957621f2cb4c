"""A local OpenAI-compatible endpoint that answers with tool calls: tools/fake_openai.py's real
HTTP server (threading http.server), plus tool-calling completions and a scripted model that
decides each answer from the request it got (the messages so far, tool results included)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Self

from tools.fake_openai import Answer, FakeOpenAI, RecordedRequest

# A scripted step: a reply text, or a list of (tool name, arguments) calls.
Step = str | list[tuple[str, dict[str, Any]]]


def completion(step: Step, *, model: str, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if isinstance(step, str):
        message["content"] = step
        finish = "stop"
    else:
        message["tool_calls"] = [
            {
                "id": f"call_{number}_{index}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for index, (name, args) in enumerate(step)
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-tools{number:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }


class ToolCallingOpenAI(FakeOpenAI):
    def step(self, step: Step, *, times: int = 1) -> Self:
        """Answer the next request with `step`."""

        def answer(request: RecordedRequest, number: int) -> Answer:
            model = request.body.get("model", "") if isinstance(request.body, dict) else ""
            return Answer(200, json.dumps(completion(step, model=model, number=number)).encode())

        return self.enqueue(answer, times=times)

    def script(self, decide: Callable[[RecordedRequest], Step], *, times: int = 1000) -> Self:
        """Answer every request with what `decide` makes of it."""

        def answer(request: RecordedRequest, number: int) -> Answer:
            model = request.body.get("model", "") if isinstance(request.body, dict) else ""
            body = completion(decide(request), model=model, number=number)
            return Answer(200, json.dumps(body).encode())

        return self.enqueue(answer, times=times)
