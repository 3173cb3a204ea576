from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "rollout"
    verbose_name = "Rollout"

    def ready(self) -> None:
        # Registers the Celery tasks in every process (web, worker, commands): services wake them
        # by name through core.wake and never import the tasks module themselves.
        from rollout import tasks  # noqa: F401
