"""The supervisor's metrics pages: /metrics/ (the figures, the charts and the two reports),
/metrics/contacts/ (the conversations behind a figure) and its CSV, and a read-only
transcript for a conversation that never reached a case. The numbers come from
outcomes.reports; these views parse the filters and render."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from desk import metrics_panels as panels
from desk.access import supervisor_required
from desk.metrics_selectors import (
    PATH_LABELS,
    contacts_csv_rows,
    contacts_rows,
    conversation_transcript_for_supervisor,
    customer_label,
    outcome_label,
)
from outcomes.reports import (
    Filters,
    churn_report,
    contacts_for,
    csat_by_path,
    filter_choices,
    handoff_gap_report,
    metrics_summary,
    outcome_mix,
    trends,
)

TEMPLATE = "desk/metrics/page.html"
PRESETS = (("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"))
PAGE_SIZE = 50


def filters_parse(params: Any) -> tuple[Filters, str]:
    """The filters in the address, and what was wrong with them ("" if nothing): a bad date
    falls back to the last 30 days, with the error shown, rather than a blank page."""
    try:
        return Filters.from_query(params), ""
    except ValueError as exc:
        kept = {k: params.get(k, "") for k in ("topic", "team", "tier")}
        try:
            return Filters.from_query({"since": "30d", **kept}), f"Those dates were not used: {exc}"
        except ValueError:
            return Filters.from_query({"since": "30d"}), f"Those filters were not used: {exc}"


def _preset_links(filters: Filters, params: Any) -> list[dict[str, Any]]:
    base = reverse("desk:metrics")
    kept = {k: getattr(filters, k) for k in ("topic", "team", "tier") if getattr(filters, k)}
    chosen = params.get("since", "30d") if not params.get("until") else ""
    return [
        {
            "label": label,
            "href": f"{base}?{urlencode({'since': key, **kept})}",
            "current": chosen == key,
        }
        for key, label in PRESETS
    ]


def _page_context(filters: Filters, params: Any) -> dict[str, Any]:
    summary = metrics_summary(filters)
    churn = churn_report(filters)
    gap = handoff_gap_report(filters)
    return {
        "filters": filters,
        "summary": summary,
        "has_data": bool(summary.get("conversations")),
        "groups": panels.figure_groups(summary, filters),
        "charts": {
            "mix": panels.outcome_mix_chart(outcome_mix(filters), filters),
            "trends": panels.trends_chart(trends(filters), filters),
            "csat": panels.csat_chart(csat_by_path(filters), filters),
            "churn": panels.churn_charts(churn, filters),
            "gap": panels.gap_chart(gap, filters),
        },
        "churn": churn,
        "gap": gap,
        "gap_text": panels.points(gap.get("gap")),
        "gap_raw_text": panels.points(gap.get("gap_raw")),
        "gap_factors": panels.gap_factor_rows(gap, filters),
        "report_links": {
            "churn_eligible": panels.figure_href("churn:eligible", filters),
            "gap_ai_then_human": panels.figure_href("gap:ai_then_human", filters),
            "gap_human_direct": panels.figure_href("gap:human_direct", filters),
        },
        "choices": filter_choices(),
        "presets": _preset_links(filters, params),
        "csv_query": filters.as_query(),
    }


@supervisor_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    """The page; for htmx (the filter form), just its body."""
    filters, error = filters_parse(request.GET)
    context = {**_page_context(filters, request.GET), "filter_error": error}
    if request.htmx:
        return TemplateResponse(request, f"{TEMPLATE}#metrics-body", context)
    return TemplateResponse(request, TEMPLATE, context)


def _figure(request: HttpRequest) -> tuple[str, Filters, Any]:
    figure = request.GET.get("figure", "")
    filters, _ = filters_parse(request.GET)
    try:
        return figure, filters, contacts_for(figure, filters)
    except ValueError as exc:
        raise Http404(f"No figure {figure!r}.") from exc


def _row(contact: Any) -> dict[str, Any]:
    conversation = contact.conversation
    if contact.last_case_id:
        href = reverse("desk:case", args=[contact.last_case_id])
    else:
        href = reverse("desk:metrics_conversation", args=[contact.conversation_id])
    return {
        "href": href,
        "has_case": bool(contact.last_case_id),
        "conversation": conversation.external_id,
        "customer": customer_label(conversation),
        "topic": contact.topic,
        "path": PATH_LABELS.get(contact.path, contact.path),
        "outcome": outcome_label(contact),
        # The rating CSAT counts (contacts_for's `csat`): the overall one, or the only part.
        "rating": getattr(contact, "csat", contact.rating),
        "ended_at": contact.ended_at,
    }


@supervisor_required
def metrics_contacts(request: HttpRequest) -> HttpResponse:
    """The conversations behind one figure, 50 a page, newest ended first."""
    figure, filters, contacts = _figure(request)
    paginator = Paginator(contacts_rows(contacts), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = f"{urlencode({'figure': figure})}&{filters.as_query()}"
    return TemplateResponse(
        request,
        "desk/metrics/contacts.html",
        {
            "figure": figure,
            "figure_label": panels.figure_label(figure),
            "filters": filters,
            "page": page,
            "rows": [_row(contact) for contact in page.object_list],
            "query": query,
            "back_href": f"{reverse('desk:metrics')}?{filters.as_query()}",
            "csv_href": f"{reverse('desk:metrics_contacts_csv')}?{query}",
        },
    )


CSV_BATCH = 1000


def _csv_batch(rows: Iterator[tuple], size: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in itertools.islice(rows, size):
        writer.writerow(row)
    return buffer.getvalue()


async def _csv_stream(rows: Iterator[tuple]) -> AsyncIterator[str]:
    """The rows as CSV text, a batch at a time. Under ASGI (daphne) a synchronous iterator is
    read whole before the first byte is sent; this one reads each batch on the thread the
    ORM runs on (thread_sensitive), so the rows' cursor stays on one connection."""
    batch = sync_to_async(_csv_batch, thread_sensitive=True)
    while text := await batch(rows, CSV_BATCH):
        yield text


@supervisor_required
def metrics_contacts_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The same list as CSV, every row, streamed (a figure may stand for a million)."""
    figure, filters, contacts = _figure(request)
    name = f"baton-{figure.replace(':', '-')}-{filters.since}-{filters.until}.csv"
    response = StreamingHttpResponse(
        _csv_stream(contacts_csv_rows(contacts)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@supervisor_required
def metrics_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A conversation's transcript, read-only, for one no case was ever opened on."""
    try:
        transcript = conversation_transcript_for_supervisor(
            user=request.user, conversation_id=conversation_id
        )
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except LookupError as exc:
        raise Http404(str(exc)) from exc
    contact = transcript.contact
    return TemplateResponse(
        request,
        "desk/metrics/conversation.html",
        {
            "transcript": transcript,
            "conversation": transcript.events,
            "customer": customer_label(transcript.conversation),
            "contact": contact,
            "path": PATH_LABELS.get(contact.path, contact.path) if contact else "",
            "outcome": outcome_label(contact) if contact else "",
            "back_href": reverse("desk:metrics"),
        },
    )
