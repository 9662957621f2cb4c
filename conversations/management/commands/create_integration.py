from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations.models import Integration
from conversations.services import integration_create, integration_rotate_token


class Command(BaseCommand):
    help = "Create an integration (an AI platform) and print its bearer token, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="If the integration exists, issue it a new token (the old one stops working).",
        )
        parser.add_argument(
            "--token-only", action="store_true", help="Print only the token (for scripts)."
        )

    def handle(self, *args: Any, name: str, rotate: bool, token_only: bool, **options: Any) -> None:
        existing = Integration.objects.filter(name=name).first()
        if existing is not None and not rotate:
            raise CommandError(
                f"An integration named {name!r} exists. Use --rotate to issue it a new token."
            )
        if existing is not None:
            token = integration_rotate_token(integration=existing)
        else:
            _, token = integration_create(name=name)
        if token_only:
            self.stdout.write(token)
            return
        self.stdout.write(f"Integration {name!r} token (shown once, store it now):")
        self.stdout.write(token)
