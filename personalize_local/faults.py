"""Fault injection for reliability tests: throttling/500 fractions (seeded RNG), one-shot job failures."""

from __future__ import annotations

import random
import threading

KEYS = (
    "job_delay",
    "throttle_fraction",
    "error500_fraction",
    "fail_next_import",
    "fail_next_training",
    "fail_next_batch",
    "seed",
)


class Faults:
    """Current fault settings; `roll` decides per request, `take` consumes a one-shot job failure."""

    def __init__(self, **settings):
        self._lock = threading.Lock()
        self.settings: dict = {}
        self._rng = random.Random(0)
        self.update(settings)

    def update(self, settings: dict) -> dict:
        unknown = set(settings) - set(KEYS)
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {list(KEYS)}")
        with self._lock:
            if "seed" in settings:
                self._rng = random.Random(settings["seed"])
            self.settings.update({k: v for k, v in settings.items() if k != "seed"})
            self.settings = {k: v for k, v in self.settings.items() if v not in (None, 0, 0.0, "")}
            return dict(self.settings)

    def clear(self) -> None:
        with self._lock:
            self.settings = {}

    def roll(self) -> str | None:
        """'throttle', 'error500' or None for the next request."""
        with self._lock:
            for key, outcome in (("throttle_fraction", "throttle"), ("error500_fraction", "error500")):
                fraction = self.settings.get(key)
                if fraction and self._rng.random() < float(fraction):
                    return outcome
        return None

    def job_delay(self) -> float:
        """Extra seconds every job stays CREATE IN_PROGRESS (to test waiting, quotas and crashes)."""
        return float(self.settings.get("job_delay") or 0.0)

    def take(self, job: str) -> str | None:
        """The pending failure reason for the next `job` ("import", "training", "batch"), consumed once."""
        with self._lock:
            return self.settings.pop(f"fail_next_{job}", None)
