"""The machine a figure was taken on, and waiting for it to be idle before an absolute timing.

Ratios against a baseline taken in the same round survive a busy machine; an absolute time in
milliseconds does not. So absolute figures are taken only once the 1-minute load average has
fallen below IDLE_LOAD_PER_CORE per core, waiting at most BENCH_IDLE_WAIT seconds (default 300);
a figure taken without that says so ("machine busy") and carries the load it was taken under.
"""

import os
import platform
import time

IDLE_LOAD_PER_CORE = float(os.environ.get("BENCH_IDLE_LOAD_PER_CORE", "0.5"))
IDLE_WAIT = float(os.environ.get("BENCH_IDLE_WAIT", "300"))


def cores() -> int:
    return os.cpu_count() or 1


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def description() -> dict:
    """What the README table says about where the figures come from."""
    return {
        "machine": platform.machine(),  # `uname -m`
        "cores": cores(),
        "load_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


class IdleWait:
    """One budget of IDLE_WAIT seconds shared by every absolute figure of a run: the first waits
    as long as it takes (within the budget), the later ones only for what is left of it."""

    def __init__(self, limit: float = IDLE_WAIT) -> None:
        self.threshold = IDLE_LOAD_PER_CORE * cores()
        self.deadline = time.monotonic() + limit

    def wait(self, log) -> dict:
        """Waits for the load to fall below the threshold (or the budget to run out). Returns
        {"idle", "load_1m", "threshold", "waited_s"}, to be printed with the figure."""
        started = time.monotonic()
        said = False
        while load() >= self.threshold and time.monotonic() < self.deadline:
            if not said:
                log(
                    f"waiting for the machine to be idle: load {load()} >= {self.threshold:.2f}"
                    f" (at most {max(0, self.deadline - time.monotonic()):.0f} s)"
                )
                said = True
            time.sleep(5)
        now_load = load()
        return {
            "idle": now_load < self.threshold,
            "load_1m": now_load,
            "threshold": round(self.threshold, 2),
            "waited_s": round(time.monotonic() - started),
        }
