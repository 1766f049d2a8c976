"""Stand-ins for the parts behind the pad's small interfaces, one module for every test that needs one:
recognizers (hwime.ui.worker.SupportsRecognition), the session's view and recognition (hwime.session.SessionView,
hwime.session.Recognition)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from hwime.ink import Ink
from hwime.session import Choice, LineString, Notice, WritingMode


class SlowRecognizer:
    """Wraps a real recognizer; the first call blocks until ``gate`` is set, so later requests pile up."""

    path: Path | None = None
    profile = None

    def __init__(self, rec):
        self.rec, self.gate = rec, threading.Event()
        self.labels, self.device, self.notes = rec.labels, rec.device, []

    def recognize_ink(self, ink: Ink, top: int = 10, context: str = "", prior: bool | None = None,
                      script: str | None = None) -> list:
        self.gate.wait(10)
        return self.rec.recognize_ink(ink, top, context=context, prior=prior, script=script)

    def recognize_line(self, sample: Ink, top: int = 5, context: str = "", *, language: bool = True,
                       script: str | None = None) -> list:
        self.gate.wait(10)
        return self.rec.recognize_line(sample, top, context, language=language, script=script)

    def line_ink_parts(self, ink: Ink, spans: Sequence[tuple[int, int]]) -> list[Ink]:
        return self.rec.line_ink_parts(ink, spans)

    def learn(self, sample: Ink, char: str) -> int:
        raise AssertionError("a recognizer without a profile is never taught")

    def forget_sample(self, sample_id: int) -> None:
        pass

    def forget_all(self) -> None:
        pass

    def forget_char(self, char: str) -> int:
        return 0


class BrokenRecognizer(SlowRecognizer):
    """Every reading fails."""

    def recognize_ink(self, ink: Ink, top: int = 10, context: str = "", prior: bool | None = None,
                      script: str | None = None) -> list:
        raise RuntimeError("model exploded")


@dataclass(frozen=True)
class Cand:
    """A character candidate (as hwime.recognizer.Candidate)."""

    char: str
    score: float = 0.5


@dataclass(frozen=True)
class LineCand:
    """A line's string (as hwime.recognizer.LineCandidate): per position the alternatives, its own first."""

    text: str
    score: float
    chars: tuple
    spans: tuple = ()

    @property
    def char(self) -> str:
        return self.text


def line_reading(text: str, score: float = 0.5, others: str = "") -> LineCand:
    """A string whose every position offers itself, then each of ``others``."""
    chars = tuple((Cand(ch, 0.8),) + tuple(Cand(o, 0.1) for o in others if o != ch) for ch in text)
    return LineCand(text, score, chars, tuple((2 * k, 2 * k + 1) for k in range(len(text))))


@dataclass(frozen=True)
class Regrouping:
    """An alternative that cuts a string's strokes otherwise (as hwime.overlap.Regrouping)."""

    char: str
    score: float
    replaces: tuple
    spans: tuple
    chars: tuple


def overlapped_reading(text: str, spans: tuple, score: float = 0.5, others: str = "") -> LineCand:
    """An overlapped string: ``line_reading``'s alternatives, cut at the stroke ranges ``spans``."""
    return LineCand(text, score, line_reading(text, score, others).chars, spans)


@dataclass
class RecordingRecognition:
    """The session's recognition, recording what it was asked; nothing answers until a test does."""

    calls: list = field(default_factory=list)

    def request(self, request_id: int, ink: Ink, context: str = "", mode: WritingMode = WritingMode.CHARACTER) -> None:
        self.calls.append(("request", request_id, len(ink), context, mode))

    def suggest(self, request_id: int, context: str, top: int) -> None:
        self.calls.append(("suggest", request_id, context, top))

    def learn(self, ink: Ink, char: str) -> None:
        self.calls.append(("learn", len(ink), char))

    def learn_line(self, ink: Ink, spans: tuple, corrections: dict[int, str],
                   mode: WritingMode = WritingMode.LINE) -> None:
        self.calls.append(("learn_line", len(ink), corrections, spans, mode))

    def unlearn(self, ink: Ink) -> None:
        self.calls.append(("unlearn", len(ink)))

    def forget_char(self, char: str) -> None:
        self.calls.append(("forget_char", char))

    def last(self, kind: str) -> tuple:
        return next(c for c in reversed(self.calls) if c[0] == kind)


@dataclass
class RecordingView:
    """A front end with no screen: it keeps the ink and what it was told to show, and reports ink changes back
    to the session as a canvas does."""

    session: object = None  # the WritingSession it reports to (set after both are made)
    ink: Ink = field(default_factory=Ink)
    choices: list = field(default_factory=list)
    strings: list = field(default_factory=list)
    line_text: str = ""
    fixed: frozenset = frozenset()
    selected: int | None = None
    shape: WritingMode = WritingMode.CHARACTER
    delivered: list[str] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    told: list[tuple] = field(default_factory=list)

    def write(self, strokes: int = 1) -> None:
        """Add strokes, each reported as a pen-up."""
        for _ in range(strokes):
            k = len(self.ink)
            self.ink = self.ink.with_stroke([(10.0 + k, 10.0), (50.0 + k, 50.0)])
            self.session.ink_changed(self.ink)

    def shown(self) -> Sequence[Choice]:
        return self.choices

    def show_choices(self, choices: Sequence[Choice]) -> None:
        self.choices, self.selected = list(choices), None

    def show_strings(self, strings: Sequence[LineString], fixed: frozenset[int]) -> None:
        self.choices, self.strings = list(strings), list(strings)
        self.line_text, self.fixed, self.selected = (strings[0].text if strings else ""), fixed, None

    def show_alternatives(self, position: int, best: LineString, fixed: frozenset[int]) -> None:
        self.choices = list(best.chars[position])
        self.line_text, self.fixed, self.selected = best.text, fixed, position

    def clear_line(self) -> None:
        self.line_text, self.fixed, self.selected = "", frozenset(), None

    def reshape(self, previous: WritingMode, mode: WritingMode, carry_ink: bool) -> None:
        self.told.append(("reshape", previous, mode, carry_ink))
        self.shape = mode
        self.line_text = ""

    def show_ink(self, ink: Ink) -> None:
        self.ink = ink

    def clear_ink(self) -> None:
        had, self.ink = not self.ink.is_empty, Ink()
        if had:
            self.session.ink_changed(self.ink)

    def undo_stroke(self) -> None:
        if not self.ink.is_empty:
            self.ink = self.ink.without_last_stroke()
            self.session.ink_changed(self.ink)

    def put_out(self, text: str) -> None:
        self.delivered.append(text)

    def take_back(self, text: str) -> None:
        self.told.append(("take back", text))

    def show_recent(self, recent: Sequence[str]) -> None:
        self.recent = list(recent)

    def tell(self, notice: Notice, *args: object) -> None:
        self.told.append((notice, *args))

    def notices(self) -> list[Notice]:
        return [t[0] for t in self.told if isinstance(t[0], Notice)]


class FakeProfile(list):
    """The characters learned, in order (hwime.personal.Profile: its length and its warnings)."""

    def __init__(self, warnings: Sequence[str] = ()):
        super().__init__()
        self.warnings = list(warnings)

    def learned(self) -> dict[str, int]:
        return {ch: self.count(ch) for ch in reversed(self)}


class RecordingRecognizer:
    """A recognizer that answers each reading with fixed choices and records how it was asked (its arguments as
    keywords); ``fail`` makes learning raise."""

    path: Path | None = None

    def __init__(self, labels: Sequence[str] = ("十", "口"), fail: bool = False):
        from types import SimpleNamespace

        self.labels, self.notes, self.fail = list(labels), [], fail
        self.device = SimpleNamespace(type="cpu")
        self.profile: FakeProfile | None = FakeProfile()
        self.calls: list[tuple[str, dict]] = []

    def recognize_ink(self, ink: Ink, top: int = 10, context: str = "", prior: bool | None = None,
                      script: str | None = None) -> list:
        self.calls.append(("ink", {"top": top, "context": context, "prior": prior, "script": script}))
        return [Cand(ch) for ch in self.labels[:top]]

    def recognize_line(self, sample: Ink, top: int = 5, context: str = "", *, language: bool = True,
                       script: str | None = None) -> list:
        self.calls.append(("line", {"top": top, "context": context, "language": language, "script": script}))
        return [line_reading("".join(self.labels))]

    def line_ink_parts(self, ink: Ink, spans: Sequence[tuple[int, int]]) -> list[Ink]:
        return [ink for _ in spans]

    def learn(self, sample: Ink, char: str) -> int:
        if self.fail:
            raise OSError("disk full")
        self.profile.append(char)
        return len(self.profile)

    def forget_sample(self, sample_id: int) -> None:
        self.profile.pop()

    def forget_all(self) -> None:
        self.profile.clear()

    def forget_char(self, char: str) -> int:
        gone = self.profile.count(char)
        self.profile[:] = [c for c in self.profile if c != char]
        return gone
