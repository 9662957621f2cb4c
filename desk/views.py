from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from desk.access import agent_required
from desk.selectors import queue_for_agent


@agent_required
def queue(request: HttpRequest) -> HttpResponse:
    cases = queue_for_agent(user=request.user)
    template = "desk/queue.html#queue-list" if request.htmx else "desk/queue.html"
    return TemplateResponse(request, template, {"cases": cases})
