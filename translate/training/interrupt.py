"""Ctrl-C and SIGTERM during training: finish the step, save it, then stop.

A signal that lands in the middle of an optimiser step would leave the networks and
optimisers half updated, so the handler only records the request; the loop checks it
between steps, writes a checkpoint of the last finished step and raises
``TrainingInterrupted``. A second Ctrl-C while that save runs is not swallowed: it
interrupts at once (the save is atomic, so the previous checkpoint survives).
"""
from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Optional


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on request; ``step`` is the step saved in ``folder``."""

    def __init__(self, message: str, step: int, folder: Path):
        super().__init__(message)
        self.step, self.folder = step, folder


class StopRequests:
    """Installs SIGINT/SIGTERM handlers for the duration of a ``with`` block (main thread only)."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self) -> None:
        self.signal_name: Optional[str] = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum, frame) -> None:
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                sig = getattr(signal, name, None)
                if sig is not None:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
