from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "rollout"
    verbose_name = "Rollout"

    def ready(self) -> None:
        # Registers the planning gate conditions with rollout.gates.
        from rollout import gate_conditions  # noqa: F401
