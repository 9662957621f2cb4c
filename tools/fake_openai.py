"""A real HTTP server on 127.0.0.1 that speaks enough of the chat-completions API for our tests.

Queue one behaviour per expected request, point the `openai` client at `base_url`, and read back
what arrived in `requests`:

    with FakeOpenAI() as fake:
        fake.status(429, retry_after=0.01).ok({"summary": "..."})
        ...
        assert fake.requests[0].body["model"] == "gpt-4o-mini"

A request that finds the queue empty gets a 500 that says so, which tests then see as a failure.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

COMPLETIONS_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    raw: bytes
    body: Any  # the parsed JSON body, or None when it was not JSON

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]

    def message(self, role: str) -> str:
        """The content of the only message with `role`."""
        (content,) = [m["content"] for m in self.messages if m["role"] == role]
        return content


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Behaviour = Callable[[RecordedRequest, int], Answer]


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload).encode(), headers or {})


def chat_completion(
    content: str | None,
    *,
    model: str,
    number: int,
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A `chat.completion` object, shaped like the real API's."""
    completion_tokens = len(content or refusal or "") // 4 + 1
    return {
        "id": f"chatcmpl-fake{number:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": completion_tokens,
            "total_tokens": 100 + completion_tokens,
        },
    }


def _completion_answer(
    content: str | None,
    *,
    delay: float = 0.0,
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> Behaviour:
    def answer(request: RecordedRequest, number: int) -> Answer:
        model = request.body.get("model", "") if isinstance(request.body, dict) else ""
        payload = chat_completion(
            content, model=model, number=number, finish_reason=finish_reason, refusal=refusal
        )
        return Answer(200, json.dumps(payload).encode(), delay=delay)

    return answer


def _content(content: dict[str, Any] | str) -> str:
    return content if isinstance(content, str) else json.dumps(content)


class FakeOpenAI:
    """A chat-completions endpoint with a programmable queue of answers."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts slow answers short
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Behaviours, one per request, in order. Each returns self so they chain.

    def enqueue(self, behaviour: Behaviour, *, times: int = 1) -> Self:
        with self._lock:
            self._queue.extend([behaviour] * times)
        return self

    def ok(self, content: dict[str, Any] | str, *, times: int = 1) -> Self:
        return self.enqueue(_completion_answer(_content(content)), times=times)

    def slow(self, seconds: float, content: dict[str, Any] | str, *, times: int = 1) -> Self:
        """Answer after `seconds`, headers and all, as a model that takes long does."""
        return self.enqueue(_completion_answer(_content(content), delay=seconds), times=times)

    def status(self, code: int, *, retry_after: float | None = None, times: int = 1) -> Self:
        """An error status with an OpenAI-shaped error body, and Retry-After when given."""
        kinds = {
            400: "invalid_request_error",
            401: "invalid_request_error",
            429: "rate_limit_exceeded",
            500: "server_error",
            503: "server_error",
        }
        kind = kinds.get(code, "server_error")
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        error = {"error": {"message": f"fake {code}", "type": kind, "param": None, "code": kind}}
        return self.enqueue(lambda request, number: _json(code, error, headers), times=times)

    def malformed(self, *, times: int = 1) -> Self:
        """A well-formed completion whose content is not JSON."""
        content = '{"summary": "The customer wants a refund", "sentiment": -0.4,'
        return self.enqueue(_completion_answer(content), times=times)

    def wrong_schema(self, *, times: int = 1) -> Self:
        """Valid JSON content that does not match the packet schema."""
        content = json.dumps({"summary": "Refund request.", "mood": "angry", "sentiment": "bad"})
        return self.enqueue(_completion_answer(content), times=times)

    def refusal(self, text: str = "I can't help with that.", *, times: int = 1) -> Self:
        return self.enqueue(_completion_answer(None, refusal=text), times=times)

    def truncated(self, content: dict[str, Any] | str, *, times: int = 1) -> Self:
        """The model ran out of tokens: `finish_reason` is `length`."""
        text = _content(content)
        return self.enqueue(
            _completion_answer(text[: len(text) // 2], finish_reason="length"), times=times
        )

    def garbage(self, *, times: int = 1) -> Self:
        """HTTP 200 whose body is not JSON at all, as a broken proxy might send."""
        answer = Answer(200, b"<html>upstream error</html>", {"content-type": "application/json"})
        return self.enqueue(lambda request, number: answer, times=times)

    # Serving.

    def _next(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            number = len(self.requests)
            behaviour = self._queue.popleft() if self._queue else None
        if request.method != "POST" or request.path != COMPLETIONS_PATH:
            return _json(
                404,
                {"error": {"message": f"no route {request.path}", "type": "invalid_request_error"}},
            )
        if behaviour is None:
            return _json(
                500, {"error": {"message": "fake_openai: no answer queued", "type": "server_error"}}
            )
        return behaviour(request, number)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle's algorithm on, the body waits
            # for the client's delayed ACK (up to 40 ms), a stall no real endpoint adds.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = RecordedRequest(
                    method=self.command,
                    path=self.path.split("?", 1)[0],
                    headers={name.lower(): value for name, value in self.headers.items()},
                    raw=raw,
                    body=body,
                )
                answer = fake._next(request)
                if answer.delay and fake._stopping.wait(answer.delay):
                    return
                try:
                    self.send_response(answer.status)
                    headers = {"content-type": "application/json", **answer.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(answer.body)))
                    self.send_header("x-request-id", f"req_fake{len(fake.requests):06d}")
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as a timing-out client does

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
