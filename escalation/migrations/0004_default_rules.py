"""The default guardrail rules (docs/escalation.md). Frozen here: later changes to the defaults
in escalation/rules.py do not rewrite an installed desk's rules."""

from django.db import migrations

DEFAULT_RULES = [
    {
        "code": "customer-asks-for-person",
        "name": "The customer asks for a person",
        "condition": {"all": [{"field": "customer_requested_human", "op": ">=", "value": 1}]},
        "action": "escalate",
        "priority": 80,
        "team": "general",
        "ai_read_only": False,
        "order": 10,
    },
    {
        "code": "prompt-injection",
        "name": "Prompt-injection attempt",
        "condition": {"all": [{"field": "prompt_injection", "op": ">=", "value": 1}]},
        "action": "escalate",
        "priority": 85,
        "team": "trust-and-safety",
        "ai_read_only": True,
        "order": 20,
    },
    {
        "code": "sensitive-topic",
        "name": "A sensitive topic goes to specialists",
        "condition": {
            "all": [
                {
                    "field": "topic",
                    "op": "in",
                    "value": [
                        "bereavement",
                        "legal",
                        "injury_safety",
                        "fraud",
                        "accessibility",
                        "privacy",
                    ],
                }
            ]
        },
        "action": "escalate",
        "priority": 75,
        "team": "specialists",
        "ai_read_only": False,
        "order": 30,
    },
    {
        "code": "action-denied",
        "name": "A consequential action was denied",
        "condition": {"all": [{"field": "policy_denied", "op": ">=", "value": 1}]},
        "action": "escalate",
        "priority": 65,
        "team": "general",
        "ai_read_only": False,
        "order": 40,
    },
    {
        "code": "high-risk",
        "name": "Risk over the threshold",
        "condition": {"all": [{"field": "risk", "op": ">=", "value": 0.35}]},
        "action": "escalate",
        "priority": 60,
        "team": "general",
        "ai_read_only": False,
        "order": 50,
    },
    {
        "code": "ai-unsure-twice",
        "name": "AI confidence below 0.4 twice",
        "condition": {"all": [{"field": "low_confidence", "op": ">=", "value": 2}]},
        "action": "escalate",
        "priority": 55,
        "team": "general",
        "ai_read_only": False,
        "order": 60,
    },
    {
        "code": "ai-loop-twice",
        "name": "The AI repeated itself twice",
        "condition": {"all": [{"field": "ai_loop", "op": ">=", "value": 2}]},
        "action": "escalate",
        "priority": 55,
        "team": "general",
        "ai_read_only": False,
        "order": 70,
    },
]


def seed(apps, schema_editor):
    Rule = apps.get_model("escalation", "Rule")
    for rule in DEFAULT_RULES:
        fields = {k: v for k, v in rule.items() if k != "code"}
        Rule.objects.get_or_create(code=rule["code"], defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0003_engine")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
