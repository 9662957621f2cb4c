"""manage.py create_api_token --user rita: a supervisor's personal API token, printed once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from desk.tokens import personal_token_create, personal_tokens_revoke
from escalation.cases.access import user_is_supervisor


class Command(BaseCommand):
    help = (
        "Issue a personal API token for a supervisor (GET /api/v1/metrics). The token is "
        "printed once and only its hash is kept. --revoke revokes the user's tokens instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username of a supervisor")
        parser.add_argument(
            "--revoke",
            nargs="?",
            const="",
            default=None,
            metavar="PREFIX",
            help="revoke the user's active tokens (only those starting with PREFIX, if given)",
        )

    def handle(self, *args: Any, user: str, revoke: str | None, **options: Any) -> None:
        person = get_user_model().objects.filter(username=user).first()
        if person is None:
            raise CommandError(f"No user {user!r}.")
        if revoke is not None:
            count = personal_tokens_revoke(user=person, prefix=revoke)
            self.stdout.write(f"Revoked {count} token{'s' if count != 1 else ''} of {user}.")
            return
        if not user_is_supervisor(person):
            raise CommandError(f"{user} is not a supervisor; only supervisors' tokens work.")
        row, token = personal_token_create(user=person)
        self.stdout.write(token)
        if options["verbosity"] > 1:
            self.stderr.write(f"Token {row.prefix}… for {user}; it is not shown again.")
