"""Cases (conversations that need a human), the roster that works them, and the engine's
view of each conversation: signals, analyses, rules and handoff packets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


# The roster routing assigns to. Tables keep their desk_ names (they were the desk's).
class Team(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    skills = models.JSONField(default=list, blank=True, help_text="What this team handles.")
    # A supervisor's switch: while paused, routing assigns this team's cases to nobody; agents
    # still take them from the queue by hand.
    auto_assign_paused = models.BooleanField(default=False)

    class Meta:
        db_table = "desk_team"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.AGENT)
    capacity = models.PositiveSmallIntegerField(
        default=5, help_text="How many open cases this agent can hold at once."
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="agents")
    skills = models.JSONField(
        default=list, blank=True, help_text="Topics this agent is trained for, e.g. bereavement."
    )
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    # What the person chose on the status switch (online or away). Presence falls to offline
    # when their desk goes quiet; on their return it comes back as this, not as Available.
    chosen_presence = models.CharField(
        max_length=10, choices=Presence.choices, default=Presence.ONLINE
    )
    # The desk socket's last heartbeat: presence older than the timeout counts as offline.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # When `presence` last changed (the board's "for how long"), and why, if someone said.
    presence_since = models.DateTimeField(null=True, blank=True)
    away_reason = models.CharField(max_length=120, blank=True)
    # Cool-down, set by a supervisor: until then routing gives this agent no hard case.
    cooldown_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "desk_agentprofile"
        indexes = [models.Index(fields=["presence", "last_seen_at"], name="agent_presence_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Case(models.Model):
    class Status(models.TextChoices):
        # The handoff packet is being built; the case is not on the queue yet.
        PREPARING = "preparing", "Preparing"
        QUEUED = "queued", "Queued"
        ASSIGNED = "assigned", "Assigned"
        RESOLVED = "resolved", "Resolved"

    class Trigger(models.TextChoices):
        HANDOFF = "handoff", "AI handoff"
        RULE = "rule", "Guardrail rule"
        # The customer wrote again after a person closed their last case.
        RETURNED = "returned", "Customer wrote again"

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="cases"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PREPARING)
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    reason = models.CharField(max_length=100)
    note = models.TextField(blank=True)
    team = models.CharField(max_length=50, default="general")
    priority = models.PositiveSmallIntegerField(default=50)
    rule = models.ForeignKey(
        "escalation.Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    # Why it escalated: the rules that fired and the signals behind them, with their spans.
    evidence = models.JSONField(default=dict, blank=True)
    risk = models.FloatField(default=0)
    topic = models.CharField(max_length=40, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Aging without a clock: a case sorts as if it had arrived `priority` minutes before it did,
    # so waiting cases overtake fresher ones of higher priority in due course.
    due_key = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True, help_text="First response due by.")
    first_response_at = models.DateTimeField(null=True, blank=True)
    # The agent who let the first-response deadline pass: auto-assignment skips them for it.
    missed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    required_skill = models.CharField(max_length=40, blank=True)
    # How hard the case is for whoever holds it (risk and topic): routing balances on it.
    weight = models.FloatField(default=1.0)
    # How hard this contact is for the person who takes it, in [0, 1], and its parts
    # (docs/workload.md). Kept up to date while the case is open.
    difficulty = models.FloatField(default=0)
    difficulty_parts = models.JSONField(default=dict, blank=True)
    # What a queue card shows, copied from the packet when the case is queued.
    summary_line = models.CharField(max_length=200, blank=True)
    sentiment = models.FloatField(default=0)
    sentiment_trend = models.FloatField(default=0)
    # The case reads the conversation's events after this seq: what came before was an earlier
    # case's, handed back to the AI, and is not this one's reason (its packet, its evidence).
    after_seq = models.PositiveIntegerField(default=0)
    # The conversation's last seq when the case was resolved.
    resolved_seq = models.PositiveIntegerField(null=True, blank=True)
    # The case this one continues: the customer wrote again after a person resolved that one.
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followed_by"
    )
    # The same customer's case this one was merged into (it is resolved as merged).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases"
    )

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        FOLLOW_UP = "follow_up", "Follow-up needed"
        HANDED_BACK = "handed_back", "Handed back to the AI"
        MERGED = "merged", "Merged into another case"

    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=~Q(status="resolved"),
                name="case_one_open_per_conversation",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "team", "due_key"], name="case_queue_idx"),
            models.Index(fields=["assignee", "status"], name="case_assignee_idx"),
            # The queue page: open cases in due order, read from the top.
            models.Index(
                fields=["due_key", "id"],
                condition=Q(status__in=["queued", "assigned"]),
                name="case_open_due_idx",
            ),
            # The workload board: cases resolved this shift, an agent's last 30 days (their
            # baselines), and every case of the last 30 days (team intensification).
            models.Index(
                fields=["resolved_at"],
                condition=Q(resolved_at__isnull=False),
                name="case_resolved_at_idx",
            ),
            models.Index(fields=["assignee", "assigned_at"], name="case_assignee_assigned_idx"),
            models.Index(fields=["queued_at"], name="case_queued_at_idx"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.status})"


class CaseEvent(models.Model):
    """The case's timeline: every step with its time, the raw material for workload metrics."""

    class Kind(models.TextChoices):
        QUEUED = "queued", "Queued"
        ASSIGNED = "assigned", "Assigned"
        # The customer was told who has their conversation (once per agent and case).
        GREETED = "greeted", "Greeted the customer"
        FIRST_RESPONSE = "first_response", "First response"
        REPLY = "reply", "Reply"
        NOTE = "note", "Internal note"
        ACTION = "action", "Action"
        TRANSFER = "transfer", "Transfer"
        REQUEUED = "requeued", "Re-queued"
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACHED = "sla_breached", "SLA breached"
        RESOLVED = "resolved", "Resolved"
        # The customer only thanked or said goodbye after the resolve: no new case for it.
        CLOSING_MESSAGE = "closing_message", "Customer's closing message"
        MERGED = "merged", "Merged"
        LLM_PACKET_FAILED = "llm_packet_failed", "LLM packet failed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"

    @property
    def line(self) -> str:
        """The entry in words, for the timeline (escalation/cases/timeline.py)."""
        from escalation.cases.timeline import timeline_line

        return timeline_line(self)


class Signal(models.Model):
    """Something the engine noticed in one event (or the policy layer reported), with evidence.

    One row per (event, kind): analysing an event twice changes nothing.
    """

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="signals"
    )
    event = models.ForeignKey(
        "conversations.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    # {"spans": [{"start", "end", "text", "detail"}], ...}: what a person sees as the reason.
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "kind"],
                condition=models.Q(event__isnull=False),
                name="signal_one_per_event_kind",
            ),
        ]
        indexes = [models.Index(fields=["conversation", "kind"], name="signal_conversation_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.conversation_id}"


class MessageAnalysis(models.Model):
    """The per-event facts the conversation state is folded from (sentiment, signal kinds)."""

    event = models.OneToOneField(
        "conversations.Event", on_delete=models.CASCADE, related_name="analysis"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=20, blank=True)
    sentiment = models.FloatField(null=True, blank=True)
    kinds = models.JSONField(default=list)
    # For tool calls and AI signals: {"confidence": 0.3} or {"denied": "refund_payment"}.
    facts = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["conversation", "seq"], name="analysis_conversation_idx")]

    def __str__(self) -> str:
        return f"analysis of event {self.event_id}"


class ConversationState(models.Model):
    """The engine's current view of a conversation, recomputed from MessageAnalysis rows."""

    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="state"
    )
    sentiment = models.FloatField(default=0)
    trajectory = models.JSONField(default=list, help_text="Customer message sentiments in order.")
    trend = models.FloatField(default=0, help_text="Slope over the last customer messages.")
    risk = models.FloatField(default=0)
    topic = models.CharField(max_length=40, blank=True)
    counts = models.JSONField(default=dict, help_text="Signal kind -> number of events.")
    customer_turns = models.PositiveIntegerField(default=0)
    # Codes of the rules whose condition holds now, flag-only rules included: a flag leaves
    # this mark (and the admin's "flagged" filter) and nothing else.
    rules_fired = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"state of {self.conversation_id}"


class Rule(models.Model):
    """A guardrail: a condition over the conversation state and an action. Data, not code.

    `condition` is {"all" | "any": [clause, ...]}, a clause being
    {"field": name, "op": one of >= > <= < == != in, "value": v}, or a nested all/any.
    Fields: risk, sentiment, trend, topic, customer_turns, turns, and any signal kind
    (number of events it fired on: customer_requested_human, prompt_injection, low_confidence,
    policy_denied, ai_loop, profanity, …). docs/escalation.md lists them.
    """

    class Action(models.TextChoices):
        ESCALATE = "escalate", "Escalate to a human"
        FLAG = "flag", "Flag only"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=100, help_text="Lower runs first.")
    condition = models.JSONField()
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.ESCALATE)
    priority = models.PositiveSmallIntegerField(default=50)
    team = models.CharField(max_length=50, default="general")
    # Drop the AI to read-only when this rule fires (prompt injection).
    ai_read_only = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from escalation.rules import RuleError, condition_validate

        try:
            condition_validate(self.condition)
        except RuleError as exc:
            raise ValidationError({"condition": str(exc)}) from None


class HandoffPacket(models.Model):
    """What the human sees before the customer arrives. Versions: the embedded packet first,
    the LLM's when it arrives."""

    class Backend(models.TextChoices):
        EMBEDDED = "embedded", "Embedded"
        LLM = "llm", "LLM"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="packets")
    version = models.PositiveSmallIntegerField()
    backend = models.CharField(max_length=10, choices=Backend.choices)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="packet_unique_version"),
            # One packet per backend: a late LLM task that runs twice cannot store a second.
            models.UniqueConstraint(fields=["case", "backend"], name="packet_unique_backend"),
        ]

    def __str__(self) -> str:
        return f"packet v{self.version} of case {self.case_id}"


class PresenceChange(models.Model):
    """Append-only log of an agent's presence: the board's breaks and available time."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_changes"
    )
    presence = models.CharField(max_length=10, choices=AgentProfile.Presence.choices)
    reason = models.CharField(max_length=120, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A supervisor who set it (a break), or empty when the agent did.",
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["user", "at"], name="presence_change_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.presence} at {self.at:%H:%M}"


class WorkloadPolicy(models.Model):
    """The thresholds of the workload board, alerts and routing: data a supervisor edits, not
    constants. One row (pk=1); `workload_policy()` reads it, with these defaults."""

    hard_difficulty = models.FloatField(
        default=0.6, help_text="A case this hard or harder is hard."
    )
    easy_difficulty = models.FloatField(default=0.3, help_text="A case below this is easy.")
    index_amber = models.PositiveSmallIntegerField(default=60)
    index_red = models.PositiveSmallIntegerField(default=80)
    occupancy_amber = models.FloatField(default=0.85)
    occupancy_red = models.FloatField(default=0.90)
    intensification_amber = models.FloatField(default=1.3)
    intensification_red = models.FloatField(default=1.6)
    shift_hours = models.PositiveSmallIntegerField(
        default=8, help_text="How far back 'this shift' reaches."
    )
    approvals_wait_minutes = models.PositiveSmallIntegerField(
        default=10, help_text="Alert when a drafted action waits longer than this for approval."
    )
    cooldown_minutes = models.PositiveSmallIntegerField(
        default=20, help_text="A cool-down's default length."
    )
    # Recovery-aware routing: after this many hard cases in a row, the next case routed to
    # the agent is an easier one when one is waiting.
    recovery_routing = models.BooleanField(default=False)
    recovery_after_hard = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "workload policy"

    def __str__(self) -> str:
        return "workload policy"


class Alert(models.Model):
    """A threshold crossed, on the supervisor console: raised, acknowledged, cleared."""

    class Kind(models.TextChoices):
        AGENT_INDEX = "agent_index", "Agent intensification"
        OCCUPANCY = "occupancy", "Occupancy"
        TEAM_INTENSIFICATION = "team_intensification", "Team intensification"
        QUEUE_SLA = "queue_sla", "Queue older than its SLA"
        APPROVALS_WAITING = "approvals_waiting", "Approvals waiting"

    class Level(models.TextChoices):
        AMBER = "amber", "Amber"
        RED = "red", "Red"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    level = models.CharField(max_length=6, choices=Level.choices)
    # What it is about: one open alert per key ("agent_index:12", "queue_sla:billing").
    key = models.CharField(max_length=80)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.CharField(max_length=50, blank=True)
    message = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(cleared_at__isnull=True), name="alert_one_open_per_key"
            ),
        ]
        indexes = [models.Index(fields=["cleared_at", "raised_at"], name="alert_open_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.level}: {self.message}"


class SupervisorAudit(models.Model):
    """Append-only: every supervisor control (reassign, capacity, cool-down, break, pausing
    a team's auto-assignment, a policy or rule change) leaves one row."""

    kind = models.CharField(max_length=40)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.CharField(max_length=50, blank=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["agent", "at"], name="supervisor_audit_agent_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.by} at {self.at:%H:%M}"


class RuleVersion(models.Model):
    """Every saved state of a rule, in order: a save adds one, a rollback adds a copy of an
    older one. `snapshot` holds the rule's editable fields."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    rolled_back_from = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="rule_version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.rule} v{self.number}"


class WaitEstimateLog(models.Model):
    """Append-only, then settled once: one row per wait estimate shown to a customer
    (escalation/cases/estimate.py), and the wait they actually had, filled in when a person
    takes the case. What the estimate's accuracy is measured on (bench/wait_estimate.py)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="wait_estimates")
    shown_at = models.DateTimeField()
    position = models.PositiveIntegerField()
    free_seats = models.PositiveIntegerField()
    next_available = models.BooleanField(default=False)
    # The range shown, seconds from `shown_at` (50th and 90th percentile); null when it was
    # hidden for too little history.
    low_s = models.FloatField(null=True, blank=True)
    high_s = models.FloatField(null=True, blank=True)
    # Completions per minute the range was read from, and over how many minutes.
    basis = models.FloatField(null=True, blank=True)
    window_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    # taken_at - shown_at: the wait that followed this estimate.
    actual_wait = models.DurationField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["case"],
                condition=Q(taken_at__isnull=True),
                name="wait_estimate_open_idx",
            ),
            models.Index(fields=["shown_at"], name="wait_estimate_shown_idx"),
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} at {self.shown_at:%H:%M}: #{self.position}"
