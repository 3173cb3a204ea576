from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "rollout"
    verbose_name = "Rollout"

    def ready(self) -> None:
        # Registers the planning and metric gate conditions with rollout.gates.
        from rollout import gate_conditions, gate_conditions_metrics  # noqa: F401
