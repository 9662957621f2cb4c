from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.models import Integration
from conversations.services import integration_revoke


class Command(BaseCommand):
    help = "Revoke an integration's token; its open sockets are closed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        integration = Integration.objects.filter(name=name).first()
        if integration is None:
            raise CommandError(f"No integration named {name!r}.")
        integration_revoke(integration=integration)
        self.stdout.write(f"Revoked the token of {name!r}.")
