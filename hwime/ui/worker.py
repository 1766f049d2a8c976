"""RecognitionWorker: owns the Recognizer in a QThread so the UI thread never waits for the model.

Requests coalesce: the UI hands over the newest ink and a request id; if several arrive while the model
is busy only the last one is classified. Results, failures and model (re)loads come back as signals.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..ink import Ink


class RecognitionWorker(QObject):
    candidatesReady = Signal(int, object)  # request id, list[Candidate]
    recognitionFailed = Signal(int, str)
    modelLoaded = Signal(str)  # a line describing the model
    modelFailed = Signal(str)
    _wake = Signal()
    _loadRequested = Signal(str, str)

    def __init__(self, top: int = 10, recognizer_factory=None):
        super().__init__()
        self.top = top
        self._lock = threading.Lock()
        self._pending: tuple[int, Ink] | None = None
        self._recognizer = None
        self._factory = recognizer_factory
        self._wake.connect(self._run_pending)
        self._loadRequested.connect(self._load)

    # --- called from the UI thread -------------------------------------------------------------------------
    def request(self, request_id: int, ink: Ink) -> None:
        with self._lock:
            self._pending = (request_id, ink)
        self._wake.emit()  # queued into the worker thread

    def load_model(self, path: str = "", device: str = "auto") -> None:
        self._loadRequested.emit(path, device)

    # --- the worker thread ---------------------------------------------------------------------------------
    @Slot(str, str)
    def _load(self, path: str, device: str) -> None:
        try:
            if self._factory:
                rec = self._factory(path or None, device)
            else:
                from ..recognizer import Recognizer

                rec = Recognizer.load(path or None, device)
        except Exception as exc:  # a missing or corrupt bundle must not take the pad down
            self._recognizer = None
            self.modelFailed.emit(str(exc))
            return
        self._recognizer = rec
        notes = "; ".join(getattr(rec, "notes", []))
        name = getattr(rec, "path", None)
        self.modelLoaded.emit(f"{len(rec.labels)} characters on {rec.device.type.upper()}"
                              + (f" ({name.name})" if name else "") + (f" — {notes}" if notes else ""))

    @Slot()
    def _run_pending(self) -> None:
        with self._lock:
            job, self._pending = self._pending, None
        if job is None:
            return  # an earlier wake-up already took the newest ink
        request_id, ink = job
        if self._recognizer is None:
            self.recognitionFailed.emit(request_id, "no model loaded")
            return
        try:
            candidates = self._recognizer.recognize_ink(ink, self.top) if not ink.is_empty else []
        except Exception as exc:  # shown in the status line; the next stroke tries again
            traceback.print_exc()
            self.recognitionFailed.emit(request_id, f"{type(exc).__name__}: {exc}")
            return
        self.candidatesReady.emit(request_id, candidates)


class WorkerThread:
    """A RecognitionWorker living in its own QThread, stopped cleanly with stop()."""

    def __init__(self, worker: RecognitionWorker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("hwime-recognition")
        worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self) -> None:
        self.thread.quit()
        self.thread.wait(5000)
