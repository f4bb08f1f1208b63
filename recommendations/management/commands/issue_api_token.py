"""Print a user's API token, creating it if needed (--reset issues a new one)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print USERNAME's API token (created once; --reset replaces it, revoking the old)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="rotate: revoke and reissue")

    def handle(self, *args, username: str, reset: bool, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        with transaction.atomic():
            if reset:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
        if created and not reset:
            self.stderr.write(f"Issued a new token for {username}.")
        elif reset:
            self.stderr.write(f"Revoked the old token of {username} and issued a new one.")
        self.stdout.write(token.key)
