"""RecognitionWorker: the session's recognition (hwime.session.Recognition) as a Qt adapter, owning the
Recognizer in a QThread so the UI thread never waits for the model.

Requests coalesce: the UI hands over the newest ink (with the text sent just before, as context) and a request
id; if several arrive while the model is busy only the last one is read. Continuations after a pick and what the
pad learns from a pick run here too. Results, failures and model (re)loads come back as signals carrying the
session's typed messages.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Callable, Protocol, Sequence

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..ink import Ink
from ..session import Job, JobFailure, ModelInfo, ModelNote, WritingMode
from .collector import MainThreadCollector

LINE_CANDIDATES = 4  # whole strings offered in line mode


class LearnedProfile(Protocol):
    """What the worker reads of the writer's profile (hwime.personal.Profile)."""

    warnings: list[str]  # what went wrong reading or keeping it, for the writer

    def __len__(self) -> int: ...

    def learned(self) -> dict[str, int]: ...  # each character learned: its samples kept


class ReadsDevice(Protocol):
    type: str  # "cpu" or "cuda" (a torch.device)


class SupportsRecognition(Protocol):
    """The part of hwime.recognizer.Recognizer the worker uses; test fakes implement it too."""

    labels: Sequence[str]
    device: ReadsDevice
    path: Path | None
    notes: list[ModelNote]  # what the writer should know about the load (hwime.notes)
    profile: LearnedProfile | None

    def recognize_ink(self, ink: Ink, top: int = 10, context: str = "", prior: bool | None = None,
                      script: str | None = None) -> list: ...

    def recognize_line(self, sample: Ink, top: int = 5, context: str = "", *, language: bool = True,
                       script: str | None = None) -> list: ...

    def line_ink_parts(self, ink: Ink, spans: Sequence[tuple[int, int]]) -> list[Ink]: ...

    def learn(self, sample: Ink, char: str) -> int: ...

    def forget_sample(self, sample_id: int) -> None: ...

    def forget_all(self) -> None: ...

    def forget_char(self, char: str) -> int: ...


RecognizerFactory = Callable[[str | None, str], SupportsRecognition]  # (bundle path or None, device) -> recognizer

class RecognitionWorker(QObject):
    _warned = 0  # how many of the profile's warnings the writer was told
    candidatesReady = Signal(int, object)  # request id, list[Candidate] (a string mode: list[LineCandidate])
    suggestionsReady = Signal(int, object)  # request id, list[Suggestion]
    recognitionFailed = Signal(int, str)  # the request's id, what went wrong
    jobFailed = Signal(object)  # JobFailure: learning, unlearning, the warm-up (no request of the writer's)
    modelLoaded = Signal(object)  # ModelInfo: the window says it in its language
    modelFailed = Signal(str)
    learned = Signal(int)  # samples in the profile after a pick was learned
    learnedChars = Signal(object)  # dict[str, int]: each character learned and its samples, with every ``learned``
    notice = Signal(str)  # something the user should see until they dismiss it (e.g. a damaged profile set aside)
    _wake = Signal()
    _loadRequested = Signal(str, str)
    _suggestRequested = Signal(int, str, int)
    _learnRequested = Signal(object, str)
    _forgetRequested = Signal()
    _forgetCharRequested = Signal(str)
    _unlearnRequested = Signal(object)
    _learnLineRequested = Signal(object, object, object, object)

    def __init__(self, top: int = 10, recognizer_factory: RecognizerFactory | None = None,
                 profile_factory: Callable[[], object] | None = None):
        """``recognizer_factory``: how a recognizer is made (default: Recognizer.load with the profile that
        ``profile_factory`` makes)."""
        super().__init__()
        self.top = top
        self.use_prior = True  # passed on each call (the ranking's usage prior, the line's language side)
        self.script = "simplified"  # the writer's (hwime.script); the window sets it from the settings
        self.learn_enabled = True
        self._lock = threading.Lock()
        self._pending: tuple[int, Ink, str, WritingMode] | None = None
        self._recognizer: SupportsRecognition | None = None
        self._readers: dict[WritingMode, Callable[[SupportsRecognition, Ink, str], list]] = {
            WritingMode.CHARACTER: self._read_character,
            WritingMode.LINE: self._read_line,
            WritingMode.OVERLAPPED: self._read_overlapped,
        }
        self._segmenter = None  # hwime.segmenter.Segmenter, loaded at the first overlapped reading
        # ((recognizer, context, script, language), OverlapReader) for the overlapped ink being written; dropped
        # when the profile changes (what it read may read otherwise now)
        self._overlap: tuple | None = None
        self._factory = recognizer_factory
        self._profile_factory = profile_factory
        self._wake.connect(self._run_pending)
        self._loadRequested.connect(self._load)
        self._suggestRequested.connect(self._suggest)
        self._learnRequested.connect(self._learn)
        self._forgetRequested.connect(self._forget)
        self._forgetCharRequested.connect(self._forget_char)
        self._unlearnRequested.connect(self._unlearn)
        self._learnLineRequested.connect(self._learn_line)
        self._last_learned: tuple[Ink, int] | None = None  # the drawing learned last and its sample id
        self._last_learned_line: tuple[Ink, list] | None = None  # a line's corrections learned last: ink, sample ids

    # --- called from the UI thread -------------------------------------------------------------------------
    def request(self, request_id: int, ink: Ink, context: str = "", mode: WritingMode = WritingMode.CHARACTER) -> None:
        """Read ``ink`` written in ``mode`` (the newest request replaces one not yet taken)."""
        with self._lock:
            self._pending = (request_id, ink, context, mode)
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

    def forget_char(self, char: str) -> None:
        """Delete every sample of ``char`` learned from the writer; the other characters' stay."""
        self._forgetCharRequested.emit(char)

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
        self._warned = 0
        if rec.profile is not None:
            self._emit_learned(rec)
            self._tell_profile_warnings(rec)
        self.modelLoaded.emit(ModelInfo(len(rec.labels), rec.device.type, rec.path.name if rec.path else "",
                                        tuple(rec.notes)))
        self._warm_up()

    def _warm_up(self) -> None:
        """Load the language table and pypinyin here, so the UI thread never pays for their first use; import
        what the other modes read with, so that a reinstall under the running pad (pip install -e over an installed
        copy takes the old files away) cannot break a mode first used after it."""
        from .. import overlap, segmenter
        try:  # the stroke counts overlapped writing weighs spans with: read now, as the modules are
            overlap._stroke_counts()
        except Exception:  # said where overlapped writing is first used, which reads them again
            traceback.print_exc()
        try:
            from ..language import load_language, reading

            load_language(script="traditional" if self.script == "traditional" else "simplified")
            reading("中")
        except Exception as exc:  # continuations and readings are extras: the pad works without them
            traceback.print_exc()
            self.jobFailed.emit(JobFailure(Job.WARM_UP, f"no continuations or readings ({failure_text(exc)})"))
        if self._segmenter is None:
            try:
                self._segmenter = segmenter.Segmenter.load()
            except Exception:  # said where overlapped writing is first used, which loads it again
                traceback.print_exc()

    @Slot()
    def _run_pending(self) -> None:
        with self._lock:
            job, self._pending = self._pending, None
        if job is None:
            return  # an earlier wake-up already took the newest ink
        request_id, ink, context, mode = job
        if self._recognizer is None:
            self.recognitionFailed.emit(request_id, "no model loaded")
            return
        try:
            candidates = self._readers[mode](self._recognizer, ink, context) if not ink.is_empty else []
        except Exception as exc:  # shown in the status line; the next stroke tries again
            if not gone_under_the_pad(exc):  # that one says all there is to say, in one line
                traceback.print_exc()
            self.recognitionFailed.emit(request_id, failure_text(exc))
            return
        self.candidatesReady.emit(request_id, candidates)

    def _read_character(self, rec: SupportsRecognition, ink: Ink, context: str) -> list:
        return rec.recognize_ink(ink, self.top, context=context, prior=self.use_prior, script=self.script)

    def _read_line(self, rec: SupportsRecognition, ink: Ink, context: str) -> list:
        # the line's language side is what the usage prior is for a character: the same setting turns both off
        return rec.recognize_line(ink, LINE_CANDIDATES, context, language=self.use_prior, script=self.script)

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

    def _tell_profile_warnings(self, rec) -> None:
        """The profile's warnings not told yet: a store damaged on disk and set aside, one that cannot be saved —
        found at load or at any later learning."""
        warnings = rec.profile.warnings
        for warning in warnings[self._warned:]:
            self.notice.emit(warning)
        self._warned = len(warnings)

    @Slot(object, str)
    def _learn(self, ink: Ink, char: str) -> None:
        self._overlap = None  # the profile changes: what the overlapped reader read may read otherwise
        rec = self._recognizer
        if rec is None or not self.learn_enabled or rec.profile is None:
            return
        try:
            if self._last_learned is not None and self._last_learned[0] is ink:
                rec.forget_sample(self._last_learned[1])
            self._last_learned = (ink, rec.learn(ink, char))
        except Exception as exc:  # learning is an extra: a failure must not stop recognition
            traceback.print_exc()
            self.jobFailed.emit(JobFailure(Job.LEARN, f"could not learn this pick ({type(exc).__name__}: {exc})"))
            return
        self._emit_learned(rec)
        self._tell_profile_warnings(rec)

    def _read_overlapped(self, rec: SupportsRecognition, ink: Ink, context: str) -> list:
        """Characters written one over another: the segmenter finds where each begins; strings as a line's. One
        reader is kept while the ink grows stroke by stroke (a pen-up reads only what the new stroke adds): the
        strokes it shares with the ink stay, the rest are undone and the new ones added."""
        import numpy as np

        from ..overlap import MAX_OVERLAP_STROKES, OverlapReader
        from ..segmenter import Segmenter

        if len(ink.strokes) > MAX_OVERLAP_STROKES:
            # said at once, the reader kept: the strokes it read are read again only when the writer undoes some
            raise ValueError(f"{len(ink.strokes)} strokes: overlapped writing reads at most {MAX_OVERLAP_STROKES} "
                             f"at a time: undo some, or clear")
        if self._segmenter is None:
            self._segmenter = Segmenter.load()
        key = (rec, context, self.script, self.use_prior)
        if self._overlap is None or self._overlap[0] != key:
            self._overlap = (key, OverlapReader(rec, self._segmenter, context=context, script=self.script,
                                                language=self.use_prior))
        reader = self._overlap[1]
        shared = 0
        while shared < min(len(reader.strokes), len(ink.strokes)) and np.array_equal(
                reader.strokes[shared], np.asarray(ink.strokes[shared], dtype=np.float32)):
            shared += 1
        while len(reader.strokes) > shared:
            reader.undo()
        try:
            for stroke in ink.strokes[shared:]:
                reader.add(stroke)
        except Exception:
            self._overlap = None  # half added: the next reading starts afresh
            raise
        # the best string's cells offer their merges and splits (a wrong cut is fixed from the cells), which costs
        # about one more batch: not when a newer stroke already waits, as this answer will not be shown
        return reader.candidates(LINE_CANDIDATES, regroup=self.is_idle())

    def learn_line(self, ink: Ink, spans: tuple, corrections: dict[int, str],
                   mode: WritingMode = WritingMode.LINE) -> None:
        """Teach the characters the writer corrected in a string ({position: char}), each with its own strokes
        (``spans``: a line's frames, or an overlapped string's stroke ranges)."""
        self._learnLineRequested.emit(ink, spans, corrections, mode)

    @Slot(object, object, object, object)
    def _learn_line(self, ink: Ink, spans: tuple, corrections: dict, mode: WritingMode) -> None:
        self._overlap = None  # the profile changes: what the overlapped reader read may read otherwise
        rec = self._recognizer
        if rec is None or not self.learn_enabled or rec.profile is None:
            return
        try:
            if mode is WritingMode.OVERLAPPED:
                from ..overlap import stroke_parts

                parts = stroke_parts(ink, spans)
            else:
                parts = rec.line_ink_parts(ink, spans)
            ids = [rec.learn(parts[position], char) for position, char in sorted(corrections.items())
                   if position < len(parts) and not parts[position].is_empty]
            self._last_learned_line = (ink, ids)
        except Exception as exc:  # learning is an extra: a failure must not stop recognition
            traceback.print_exc()
            self.jobFailed.emit(JobFailure(Job.LEARN_LINE,
                                           f"could not learn the corrections ({type(exc).__name__}: {exc})"))
            return
        self._emit_learned(rec)
        self._tell_profile_warnings(rec)

    @Slot(object)
    def _unlearn(self, ink: Ink) -> None:
        self._overlap = None  # the profile changes: what the overlapped reader read may read otherwise
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
            self.jobFailed.emit(JobFailure(Job.UNLEARN,
                                           f"could not take back the last pick ({type(exc).__name__}: {exc})"))
            return
        self._emit_learned(rec)

    def _emit_learned(self, rec: SupportsRecognition) -> None:
        self.learned.emit(len(rec.profile))
        self.learnedChars.emit(dict(rec.profile.learned()))

    @Slot(str)
    def _forget_char(self, char: str) -> None:
        self._overlap = None  # the profile changes: what the overlapped reader read may read otherwise
        rec = self._recognizer
        if rec is None or rec.profile is None:
            return
        try:
            rec.forget_char(char)
        except Exception as exc:
            traceback.print_exc()
            self.jobFailed.emit(JobFailure(Job.FORGET, f"could not forget {char} ({type(exc).__name__}: {exc})"))
            return
        self._emit_learned(rec)

    @Slot()
    def _forget(self) -> None:
        self._overlap = None  # the profile changes: what the overlapped reader read may read otherwise
        rec = self._recognizer
        if rec is not None:
            rec.forget_all()
            self._last_learned = None
            self.learned.emit(0)
            self.learnedChars.emit({})


def gone_under_the_pad(exc: BaseException) -> bool:
    """Whether hwime's own files went away under the running pad (it was reinstalled or removed)."""
    from ..bundled import AssetGoneError

    return isinstance(exc, AssetGoneError) or (isinstance(exc, ImportError)
                                                and (exc.name or "").split(".")[0] == "hwime")


def failure_text(exc: BaseException) -> str:
    """One line for the writer: what failed, or, where hwime's own files went away under the running pad, what to
    do."""
    if isinstance(exc, ImportError) and gone_under_the_pad(exc):
        return f"{exc.name} is gone (hwime reinstalled?): restart the pad"
    if gone_under_the_pad(exc):
        return str(exc)  # "… was removed or replaced (hwime reinstalled?): restart the pad"
    return f"{type(exc).__name__}: {exc}"


class WorkerThread:
    """A RecognitionWorker living in its own QThread, stopped cleanly with stop()."""

    def __init__(self, worker: RecognitionWorker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("hwime-recognition")
        worker.moveToThread(self.thread)
        MainThreadCollector.shared().hold()  # the worker's allocations must not free the GUI thread's widgets
        self._held = True
        self.thread.start()

    def stop(self) -> None:
        """Finish what the worker is doing (a model load can take several seconds on a slow or busy machine) and
        end the thread: a QThread destroyed while it still runs aborts the whole process."""
        self.thread.quit()
        self.thread.wait()
        if self._held:
            self._held = False
            MainThreadCollector.shared().release()
