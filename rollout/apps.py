from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "rollout"
    verbose_name = "Rollout"

    def ready(self) -> None:
        # Registers the planning and metric gate conditions with rollout.gates.
        from rollout import (  # noqa: F401
            gate_conditions,
            gate_conditions_escalations,
            gate_conditions_metrics,
            gate_conditions_notices,
        )
