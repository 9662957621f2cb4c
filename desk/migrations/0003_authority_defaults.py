from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    # The AI may refund up to $100 and never a subscription older than 30 days.
    {"actor": "ai", "max_refund": Decimal("100.00"), "max_subscription_age_days": 30},
    # An agent may refund up to $500.
    {"actor": "agent", "max_refund": Decimal("500.00"), "max_subscription_age_days": None},
    # Above that, a supervisor approves: no limit.
    {"actor": "supervisor", "max_refund": None, "max_subscription_age_days": None},
]


def seed(apps, schema_editor):
    AuthorityLimit = apps.get_model("desk", "AuthorityLimit")
    for row in DEFAULTS:
        AuthorityLimit.objects.get_or_create(actor=row["actor"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("desk", "0002_authoritylimit_draftedaction_auditentry_and_more")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
