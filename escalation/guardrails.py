"""Guardrails a supervisor edits at the desk: an escalation rule's condition, priority and
team, and the authority limits. Each save is a new version and a SupervisorAudit row in the
same transaction; a rollback is a newer copy of an older version.

The engine reads the rule table on every analysis (escalation.services.rules_active) and the
policy reads the limits on every decision, so what is saved holds from the next one on.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.utils import timezone

from actions.limits import authority_limit_version_add, authority_limit_version_restore
from actions.models import AuthorityLimitVersion
from conversations.schemas import json_loads_strict
from escalation.models import ConversationState, Rule, RuleVersion, SupervisorAudit, Team
from escalation.replay import ReplayReport, rules_for_replay, rules_replay
from escalation.rules import RuleError, condition_validate

FIRED_DAYS = 7
REPLAY_DAYS = 30
PRIORITY_MAX = 100
NOTE_MAX = 200
SEED_NOTE = "As it was before its first edit in the desk."
OUTSIDE_NOTE = "As changed outside the desk (in the admin)."


class GuardrailInvalid(ValueError):
    """An edit that cannot be saved: field name -> message (`__all__` for the whole form)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class RuleEdit:
    condition: dict[str, Any]
    priority: int
    team: str

    def snapshot(self) -> dict[str, Any]:
        return {"condition": self.condition, "priority": self.priority, "team": self.team}


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    # Cases this rule opened (it was their rule) queued in the last FIRED_DAYS.
    cases_opened: int
    # Conversations active in the last FIRED_DAYS where its condition holds now (flags too).
    holding: int
    version: int


@dataclass(frozen=True)
class RulePreview:
    edit: RuleEdit
    report: ReplayReport
    days: int
    base_version: int
    # Whether the replayed set is the enabled rules with this one in it (a disabled rule is
    # replayed as if it were enabled).
    rule_enabled: bool
    # The edit is the rule as saved: the replay is of what runs now, and there is nothing to save.
    unchanged: bool = False


def rule_snapshot(rule: Rule) -> dict[str, Any]:
    return {"condition": rule.condition, "priority": rule.priority, "team": rule.team}


def rule_edit_parse(*, condition: str, priority: str, team: str) -> RuleEdit:
    """A rule edit from a form's boxes, or GuardrailInvalid naming every bad box."""
    errors: dict[str, str] = {}
    parsed: Any = None
    try:
        parsed = json_loads_strict(condition)
    except json.JSONDecodeError as exc:
        errors["condition"] = f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except ValueError as exc:
        errors["condition"] = f"Not JSON: {exc}."
    except RecursionError:
        errors["condition"] = "The condition nests too deeply."
    if "condition" not in errors:
        try:
            condition_validate(parsed)
        except RuleError as exc:
            errors["condition"] = str(exc)
        except RecursionError:
            errors["condition"] = "The condition nests too deeply."
    number = None
    text = priority.strip()
    if not text.isdigit() or int(text) > PRIORITY_MAX:
        errors["priority"] = f"A whole number from 0 to {PRIORITY_MAX}."
    else:
        number = int(text)
    slug = team.strip()
    if not Team.objects.filter(slug=slug).exists() and slug != "general":
        errors["team"] = f"No team {slug!r}."
    if errors:
        raise GuardrailInvalid(errors)
    assert number is not None
    return RuleEdit(condition=parsed, priority=number, team=slug)


def rule_version_latest(*, rule: Rule) -> int:
    """The rule's current version number: 1 for a rule never edited here (its state as
    seeded is version 1 once it is first edited)."""
    return RuleVersion.objects.filter(rule=rule).aggregate(n=Max("number"))["n"] or 1


def rules_overview(*, now: datetime | None = None) -> list[RuleRow]:
    """Every rule in evaluation order with how often it fired in the last FIRED_DAYS. Two
    queries, whatever the number of rules or cases; conversation states are read whole (only
    their codes) for the conversations active in that time."""
    since = (now or timezone.now()) - timedelta(days=FIRED_DAYS)
    latest = RuleVersion.objects.filter(rule=OuterRef("pk")).order_by("-number").values("number")
    rules = Rule.objects.annotate(
        opened=Count("cases", filter=Q(cases__queued_at__gte=since)),
        version=Subquery(latest[:1]),
    ).order_by("order", "id")
    holding: Counter[str] = Counter()
    for codes in ConversationState.objects.filter(
        updated_at__gte=since, rules_fired__0__isnull=False
    ).values_list("rules_fired", flat=True):
        holding.update(set(codes))
    return [
        RuleRow(rule=r, cases_opened=r.opened, holding=holding[r.code], version=r.version or 1)
        for r in rules
    ]


@dataclass(frozen=True)
class RulePage:
    rule: Rule
    versions: list[RuleVersion]
    version: int
    teams: list[tuple[str, str]]


def rule_page(*, rule_id: int) -> RulePage | None:
    """A rule with its versions, newest first, and the teams it may send cases to."""
    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        return None
    versions = list(rule.versions.select_related("created_by").order_by("-number"))
    teams = list(Team.objects.order_by("name").values_list("slug", "name"))
    if not any(slug == "general" for slug, _ in teams):
        teams.insert(0, ("general", "General"))
    return RulePage(
        rule=rule,
        versions=versions,
        version=versions[0].number if versions else 1,
        teams=teams,
    )


def rule_preview(*, rule: Rule, edit: RuleEdit, now: datetime | None = None) -> RulePreview:
    """Replay the last REPLAY_DAYS with the edited rule in place of the saved one, beside
    what happened (the cases opened)."""
    since = (now or timezone.now()) - timedelta(days=REPLAY_DAYS)
    (edited,) = rules_for_replay(code=rule.code, condition=edit.condition)
    edited = dataclasses.replace(edited, priority=edit.priority, team=edit.team)
    others = [spec for spec in rules_for_replay() if spec.code != rule.code]
    report = rules_replay(since=since, rules=[*others, edited])
    return RulePreview(
        edit=edit,
        report=report,
        days=REPLAY_DAYS,
        base_version=rule_version_latest(rule=rule),
        rule_enabled=rule.enabled,
        unchanged=edit.snapshot() == rule_snapshot(rule),
    )


def _rule_locked(rule_id: int, *, base_version: int | None = None) -> tuple[Rule, int]:
    """The rule under its row lock and its latest version, seeding version 1 (the state
    before the first edit) if it has none, and a version of its state if it was changed
    outside the desk since its last one. With `base_version`, refuse unless it is the
    latest version saved."""
    rule = Rule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise GuardrailInvalid({"form": "No such rule."})
    last = rule.versions.order_by("-number").first()
    saved = last.number if last else 1
    if base_version is not None and base_version != saved:
        raise GuardrailInvalid(
            {"form": f"Someone saved version {saved} since your preview; preview again."}
        )
    current = rule_snapshot(rule)
    if last is None:
        RuleVersion.objects.create(rule=rule, number=1, snapshot=current, note=SEED_NOTE)
        return rule, 1
    if last.snapshot != current:
        # Edited some other way (the admin) since its last version: keep that state too, so
        # the history holds everything that ran and a rollback can return to it.
        RuleVersion.objects.create(
            rule=rule, number=last.number + 1, snapshot=current, note=OUTSIDE_NOTE
        )
        return rule, last.number + 1
    return rule, last.number


def _rule_apply(rule: Rule, snapshot: dict[str, Any]) -> None:
    rule.condition = snapshot["condition"]
    rule.priority = snapshot["priority"]
    rule.team = snapshot["team"]
    rule.save(update_fields=["condition", "priority", "team", "updated_at"])


@transaction.atomic
def rule_update(
    *, rule_id: int, edit: RuleEdit, by: Any, note: str = "", base_version: int | None = None
) -> RuleVersion:
    """Save the edit as the rule's new version, audited. With `base_version` (the version the
    preview was made against), refuse if someone saved another since."""
    rule, latest = _rule_locked(rule_id, base_version=base_version)
    before = rule_snapshot(rule)
    after = edit.snapshot()
    if before == after:
        raise GuardrailInvalid({"form": "Nothing changed."})
    _rule_apply(rule, after)
    version = RuleVersion.objects.create(
        rule=rule, number=latest + 1, snapshot=after, note=note[:NOTE_MAX], created_by=by
    )
    SupervisorAudit.objects.create(
        kind="rule_update",
        by=by,
        team=edit.team,
        data={"rule": rule.code, "version": version.number, "before": before, "after": after},
    )
    return version


@transaction.atomic
def rule_rollback(*, rule_id: int, number: int, by: Any, note: str = "") -> RuleVersion:
    """Restore version `number` of the rule as a new version, audited."""
    rule, latest = _rule_locked(rule_id)
    target = rule.versions.filter(number=number).first()
    if target is None:
        raise GuardrailInvalid({"form": f"No version {number}."})
    try:
        condition_validate(target.snapshot.get("condition"))
    except RuleError as exc:
        raise GuardrailInvalid({"form": f"Version {number} cannot run: {exc}"}) from None
    before = rule_snapshot(rule)
    if before == target.snapshot:
        raise GuardrailInvalid({"form": f"The rule is already as in version {number}."})
    _rule_apply(rule, target.snapshot)
    version = RuleVersion.objects.create(
        rule=rule,
        number=latest + 1,
        snapshot=target.snapshot,
        note=(note or f"Rolled back to version {number}.")[:NOTE_MAX],
        rolled_back_from=number,
        created_by=by,
    )
    SupervisorAudit.objects.create(
        kind="rule_rollback",
        by=by,
        team=rule.team,
        data={
            "rule": rule.code,
            "version": version.number,
            "rolled_back_from": number,
            "before": before,
            "after": target.snapshot,
        },
    )
    return version


@transaction.atomic
def authority_limit_update(
    *,
    actor: str,
    snapshot: dict[str, Any],
    by: Any,
    note: str = "",
    base_version: int | None = None,
) -> AuthorityLimitVersion:
    """Save an actor's authority limits as a new version, audited. Raises LimitsInvalid."""
    version, before = authority_limit_version_add(
        actor=actor, snapshot=snapshot, by=by, note=note, base_version=base_version
    )
    SupervisorAudit.objects.create(
        kind="authority_limit_update",
        by=by,
        data={"actor": actor, "version": version.number, "before": before, "after": snapshot},
    )
    return version


@transaction.atomic
def authority_limit_rollback(
    *, actor: str, number: int, by: Any, note: str = ""
) -> AuthorityLimitVersion:
    """Restore version `number` of an actor's limits as a new version, audited."""
    version, before = authority_limit_version_restore(actor=actor, number=number, by=by, note=note)
    SupervisorAudit.objects.create(
        kind="authority_limit_rollback",
        by=by,
        data={
            "actor": actor,
            "version": version.number,
            "rolled_back_from": number,
            "before": before,
            "after": version.snapshot,
        },
    )
    return version
