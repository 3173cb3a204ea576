from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the Celery tasks in every process (web, worker, commands): services wake them
        # by name through core.wake and never import the tasks module themselves.
        from accounts import tasks  # noqa: F401
