"""RecognitionWorker: owns the Recognizer in a QThread so the UI thread never waits for the model.

Requests coalesce: the UI hands over the newest ink (with the text sent just before, as context) and a request
id; if several arrive while the model is busy only the last one is classified. Continuations after a pick and
what the pad learns from a pick run here too. Results, failures and model (re)loads come back as signals.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..ink import Ink


LINE_CANDIDATES = 4  # whole strings offered in line mode


class RecognitionWorker(QObject):
    candidatesReady = Signal(int, object)  # request id, list[Candidate] (line mode: list[LineCandidate])
    suggestionsReady = Signal(int, object)  # request id, list[Suggestion]
    recognitionFailed = Signal(int, str)
    modelLoaded = Signal(object)  # {"classes", "device", "file", "notes"}: the window says it in its language
    modelFailed = Signal(str)
    learned = Signal(int)  # samples in the profile after a pick was learned
    notice = Signal(str)  # something the user should see until they dismiss it (e.g. a damaged profile set aside)
    _wake = Signal()
    _loadRequested = Signal(str, str)
    _suggestRequested = Signal(int, str, int)
    _learnRequested = Signal(object, str)
    _forgetRequested = Signal()
    _unlearnRequested = Signal(object)
    _learnLineRequested = Signal(object, object, object)

    def __init__(self, top: int = 10, recognizer_factory=None, profile_factory=None):
        super().__init__()
        self.top = top
        self.use_prior = True
        self.use_context = True
        self.script = "simplified"  # the writer's (hwime.script); the window sets it from the settings
        self.learn_enabled = True
        self._lock = threading.Lock()
        self._pending: tuple[int, Ink, str, bool] | None = None
        self._recognizer = None
        self._factory = recognizer_factory
        self._profile_factory = profile_factory
        self._wake.connect(self._run_pending)
        self._loadRequested.connect(self._load)
        self._suggestRequested.connect(self._suggest)
        self._learnRequested.connect(self._learn)
        self._forgetRequested.connect(self._forget)
        self._unlearnRequested.connect(self._unlearn)
        self._learnLineRequested.connect(self._learn_line)
        self._last_learned: tuple[Ink, int] | None = None  # the drawing learned last and its sample id
        self._last_learned_line: tuple[Ink, list] | None = None  # a line's corrections learned last: ink, sample ids

    # --- called from the UI thread -------------------------------------------------------------------------
    def request(self, request_id: int, ink: Ink, context: str = "", line: bool = False) -> None:
        """Recognize ``ink`` (the newest request replaces one not yet taken); ``line``: read it as a written line."""
        with self._lock:
            self._pending = (request_id, ink, context, line)
        self._wake.emit()  # queued into the worker thread

    def is_idle(self) -> bool:
        """Whether no recognition request waits to be taken (the newest one may be running)."""
        with self._lock:
            return self._pending is None

    def load_model(self, path: str = "", device: str = "auto") -> None:
        self._loadRequested.emit(path, device)

    def suggest(self, request_id: int, context: str, top: int) -> None:
        self._suggestRequested.emit(request_id, context, top)

    def learn(self, ink: Ink, char: str) -> None:
        """Teach the profile that ``ink`` is ``char``; the same drawing picked again replaces its earlier label."""
        self._learnRequested.emit(ink, char)

    def forget(self) -> None:
        """Delete everything learned from the writer."""
        self._forgetRequested.emit()

    def unlearn(self, ink: Ink) -> None:
        """Take back what the last pick taught, when it was of ``ink`` (the writer undid that pick)."""
        self._unlearnRequested.emit(ink)

    # --- the worker thread ---------------------------------------------------------------------------------
    @Slot(str, str)
    def _load(self, path: str, device: str) -> None:
        import torch

        # one character at a time: a second thread buys nothing and fights the user's other programs for the CPU
        torch.set_num_threads(1)
        try:
            if self._factory:
                rec = self._factory(path or None, device)
            else:
                from ..recognizer import Recognizer

                profile = self._profile_factory() if self._profile_factory else None
                rec = Recognizer.load(path or None, device, profile=profile)
        except Exception as exc:  # a missing or corrupt bundle must not take the pad down
            self._recognizer = None
            self.modelFailed.emit(str(exc))
            return
        self._recognizer = rec
        if getattr(rec, "profile", None) is not None:
            self.learned.emit(len(rec.profile))
            for warning in rec.profile.warnings:
                self.notice.emit(warning)
        name = getattr(rec, "path", None)
        self.modelLoaded.emit({"classes": len(rec.labels), "device": rec.device.type,
                               "file": name.name if name else "", "notes": list(getattr(rec, "notes", []))})
        self._warm_up()

    def _warm_up(self) -> None:
        """Load the language table and pypinyin here, so the UI thread never pays for their first use."""
        try:
            from ..language import load_language, reading

            load_language(script="traditional" if self.script == "traditional" else "simplified")
            reading("中")
        except Exception as exc:  # continuations and readings are extras: the pad works without them
            traceback.print_exc()
            self.recognitionFailed.emit(-1, f"no continuations or readings ({exc})")

    @Slot()
    def _run_pending(self) -> None:
        with self._lock:
            job, self._pending = self._pending, None
        if job is None:
            return  # an earlier wake-up already took the newest ink
        request_id, ink, context, line = job
        if self._recognizer is None:
            self.recognitionFailed.emit(request_id, "no model loaded")
            return
        try:
            if line:
                rec = self._recognizer
                rec.use_prior = self.use_prior
                candidates = rec.recognize_line(ink, LINE_CANDIDATES, context if self.use_context else "",
                                                script=self.script) if not ink.is_empty else []
                self.candidatesReady.emit(request_id, candidates)
                return
            options = {}
            if hasattr(self._recognizer, "use_prior"):
                options = {"context": context if self.use_context else "", "prior": self.use_prior,
                           "script": self.script}
            candidates = self._recognizer.recognize_ink(ink, self.top, **options) if not ink.is_empty else []
        except Exception as exc:  # shown in the status line; the next stroke tries again
            traceback.print_exc()
            self.recognitionFailed.emit(request_id, f"{type(exc).__name__}: {exc}")
            return
        self.candidatesReady.emit(request_id, candidates)

    @Slot(int, str, int)
    def _suggest(self, request_id: int, context: str, top: int) -> None:
        try:
            from ..language import load_language
            from ..script import convert

            traditional = self.script == "traditional"
            if self.script == "both":  # "both" continues from the simplified table
                context = convert(context, "simplified")
            suggestions = load_language(script="traditional" if traditional else "simplified").continuations(context, top)
        except Exception as exc:
            traceback.print_exc()
            self.recognitionFailed.emit(request_id, f"no continuations ({type(exc).__name__}: {exc})")
            return
        self.suggestionsReady.emit(request_id, suggestions)

    @Slot(object, str)
    def _learn(self, ink: Ink, char: str) -> None:
        rec = self._recognizer
        if rec is None or not self.learn_enabled or getattr(rec, "profile", None) is None:
            return
        try:
            if self._last_learned is not None and self._last_learned[0] is ink:
                rec.forget_sample(self._last_learned[1])
            self._last_learned = (ink, rec.learn(ink, char))
        except Exception as exc:  # learning is an extra: a failure must not stop recognition
            traceback.print_exc()
            self.recognitionFailed.emit(-1, f"could not learn this pick ({type(exc).__name__}: {exc})")
            return
        self.learned.emit(len(rec.profile))

    def learn_line(self, ink: Ink, spans: tuple, corrections: dict) -> None:
        """Teach the characters the writer corrected in a line ({position: char}), each with its own strokes."""
        self._learnLineRequested.emit(ink, spans, corrections)

    @Slot(object, object, object)
    def _learn_line(self, ink: Ink, spans: tuple, corrections: dict) -> None:
        rec = self._recognizer
        if rec is None or not self.learn_enabled or getattr(rec, "profile", None) is None:
            return
        try:
            parts = rec.line_ink_parts(ink, spans)
            ids = [rec.learn(parts[position], char) for position, char in sorted(corrections.items())
                   if position < len(parts) and not parts[position].is_empty]
            self._last_learned_line = (ink, ids)
        except Exception as exc:  # learning is an extra: a failure must not stop recognition
            traceback.print_exc()
            self.recognitionFailed.emit(-1, f"could not learn the corrections ({type(exc).__name__}: {exc})")
            return
        self.learned.emit(len(rec.profile))

    @Slot(object)
    def _unlearn(self, ink: Ink) -> None:
        rec = self._recognizer
        if rec is None:
            return
        if self._last_learned is not None and self._last_learned[0] is ink:
            ids, self._last_learned = [self._last_learned[1]], None
        elif self._last_learned_line is not None and self._last_learned_line[0] is ink:
            ids, self._last_learned_line = self._last_learned_line[1], None
        else:
            return
        try:
            for sample_id in ids:
                rec.forget_sample(sample_id)
        except Exception as exc:
            traceback.print_exc()
            self.recognitionFailed.emit(-1, f"could not take back the last pick ({type(exc).__name__}: {exc})")
            return
        self.learned.emit(len(rec.profile))

    @Slot()
    def _forget(self) -> None:
        rec = self._recognizer
        if rec is not None and hasattr(rec, "forget_all"):
            rec.forget_all()
            self._last_learned = None
            self.learned.emit(0)


class WorkerThread:
    """A RecognitionWorker living in its own QThread, stopped cleanly with stop()."""

    def __init__(self, worker: RecognitionWorker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("hwime-recognition")
        worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self) -> None:
        """Finish what the worker is doing (a model load can take several seconds on a slow or busy machine) and
        end the thread: a QThread destroyed while it still runs aborts the whole process."""
        self.thread.quit()
        self.thread.wait()
