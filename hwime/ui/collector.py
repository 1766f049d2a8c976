"""Python's cycle collector, run on the GUI thread alone while a recognition thread lives.

The collector runs in whichever thread happens to allocate when a generation fills up. When that is the
recognition thread (it allocates a great deal: a model load, every reading), the garbage it frees can hold Qt
objects of the GUI thread — a closed dialog, a window that was caught in a reference cycle — and deleting a widget
off its thread crashes the process (seen in CI: a segmentation fault "Garbage-collecting" inside torch.load on the
worker). So while any WorkerThread runs, automatic collection is off and a timer on the GUI thread collects
whatever generation is due, by the collector's own thresholds.
"""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, QTimer

TICK_MS = 250  # often enough that garbage never piles up for long: a pen stroke's events alone take longer


class MainThreadCollector(QObject):
    """Holds automatic collection off while any holder (a worker thread) needs it; collects on its own timer."""

    _instance: MainThreadCollector | None = None

    def __init__(self) -> None:
        super().__init__()
        self._holders = 0
        self._was_enabled = True
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.collect_due)

    @classmethod
    def shared(cls) -> MainThreadCollector:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @property
    def holding(self) -> bool:
        return self._holders > 0

    def hold(self) -> None:
        """Called on the GUI thread when a worker thread starts."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the collector is held from the GUI thread, which owns the widgets")
        if self._holders == 0:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer.start()
        self._holders += 1

    def release(self) -> None:
        """Called when a worker thread has stopped: the last release gives collection back to Python."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            self._timer.stop()
            self.collect_due()
            if self._was_enabled:
                gc.enable()

    def collect_due(self) -> None:
        """Collect the oldest generation whose count is over its threshold, as Python itself would have."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if thresholds[0] == 0 or counts[0] <= thresholds[0]:
            return
        generation = 0
        for gen in (1, 2):
            if counts[gen] > thresholds[gen]:
                generation = gen
        gc.collect(generation)
