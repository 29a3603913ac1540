"""Why a training run stops before its step count: a signal (Ctrl-C, SIGTERM) or its wall-clock budget.

The loop asks :meth:`Stopper.reason` after each step, so it always stops between steps, with
every network and optimiser state consistent, and checkpoints there.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from assay.core.errors import AssayError

#: why a run stopped (the catalog's ``stopped`` parameter)
STEPS, TIME_BUDGET, INTERRUPT = "steps", "time_budget", "interrupt"
#: in order of precedence, so ranks agree by taking the largest code (see ``assay.core.devices.agree_max``)
CODES = (None, TIME_BUDGET, INTERRUPT)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(AssayError):
    """A run stopped by a signal after checkpointing; ``str()`` says how to resume it."""

    def __init__(self, run_id: str, step: int) -> None:
        super().__init__(f"run {run_id} interrupted at step {step}; checkpoint saved. "
                         f"Resume with: assay forge train --resume {run_id}")
        self.run_id, self.step = run_id, step


def parse_duration(text: str) -> float | None:
    """Seconds in ``"90"``, ``"90s"``, ``"12m"`` or ``"1.5h"``; None for ``""`` or ``"0"`` (no budget)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*", str(text).lower())
    if text != "" and not match:
        raise ValueError(f"time_budget must be a duration like 90s, 12m or 1.5h, got {text!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    return seconds or None


class Stopper:
    """Within ``with``: the first SIGINT or SIGTERM asks the loop to stop after the current step
    (a second one acts as usual, at once); :meth:`reason` also reports a spent time budget."""

    def __init__(self, budget_s: float | None) -> None:
        self.budget_s = budget_s
        self.started = time.monotonic()
        self.signal: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "Stopper":
        if threading.current_thread() is threading.main_thread():    # signals reach the main thread only
            self._previous = {s: signal.signal(s, self._on_signal) for s in SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signal.Signals(signum).name
        self._restore()
        print(f"\n{self.signal}: stopping after this step to save a checkpoint (send it again to stop at once, "
              "without one)", file=sys.stderr, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def reason(self) -> str | None:
        """INTERRUPT after a signal, TIME_BUDGET once the budget is spent, else None."""
        if self.signal:
            return INTERRUPT
        if self.budget_s is not None and self.elapsed() >= self.budget_s:
            return TIME_BUDGET
        return None
