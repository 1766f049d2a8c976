"""The writing session, with no Qt in it: what was sent, picks and undo, a line's fixes, continuations, what the
choice bar shows and the writing mode. A front end (the Qt pad, an input-method engine) drives it with the writer's
acts and paints what it is told through ``SessionView``; recognition runs behind ``Recognition`` (the Qt worker is
one adapter) and answers with the typed messages below.

The flow: ink changes → ``ink_changed`` asks for a reading (numbered: only the answer to the newest request is
shown) → ``candidates_ready`` shows it → ``pick`` sends a choice (or fixes one character of a line) → continuations
are offered → ``undo`` right after a pick brings its drawing and choices back.

A front end makes ``WritingSession(view, recognition, mode=…, recent=…)``, calls ``follow_mode()`` once to give its
box the mode's shape, sets ``model_ready`` from recognition's model messages (``ModelInfo``, or a failure) and
``options`` from its settings, and from then on reports the writer's acts (``ink_changed``, ``pick``, ``send_best``,
``undo``, ``clear``, ``choose_mode``, ``show_alternatives``, ``send``) and recognition's answers. A front end that
sends after a pause keeps the clock itself (started at pen-up once ``can_send_on_pause``, stopped by any other act)
and calls ``send_on_pause`` when it runs out.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

from .ink import Ink
from .notes import ModelNote, NoteKind  # noqa: F401 (ModelInfo carries them; front ends import them from here)

CONTEXT_KEPT = 8  # characters of what was sent, used to rank the next one and to offer continuations
RECENT_KEPT = 12  # characters sent lately, newest first, offered again by a front end that shows them


class WritingMode(enum.Enum):
    """How the ink is written and so how it is read. A new mode is a member here, a reader in the recognition
    adapter, and its shape and words in each front end."""

    CHARACTER = "character"  # one character in the square box
    LINE = "line"  # a phrase written along a wide line
    OVERLAPPED = "overlapped"  # 叠写: characters written one over another in the square box, read as a string

    @property
    def reads_strings(self) -> bool:
        """Whether the ink is read as a string of characters, offered whole and fixed one position at a time
        (rather than as one character)."""
        return self is not WritingMode.CHARACTER


class BarState(enum.Enum):
    """What the choice bar offers."""

    CANDIDATES = "candidates"  # what the ink reads as (characters, or a line's whole strings)
    ALTERNATIVES = "alternatives"  # what one position of the line's best string could be; a pick fixes it
    SUGGESTIONS = "suggestions"  # continuations after what was sent


class Notice(enum.Enum):
    """What the session has to tell the writer; each front end words it in its own language."""

    NEW_DRAWING = "new drawing"  # a drawing began: what the last message said is over (how to write and pick)
    READY = "ready"  # started over: how to write and pick
    NOTHING_TO_SEND = "nothing to send"
    MODE_CHOSEN = "mode chosen"  # args: the mode; nothing was written, the box took the mode's shape
    CHARACTER_CARRIED = "character carried"  # args: the mode; the character written is the string's first
    STRING_KEPT = "string kept"  # args: the mode of the ink; it keeps its shape until it is sent or cleared
    DRAWING_BACK = "drawing back"  # the last pick's drawing and choices are back
    PICK_FOR_POSITION = "pick for position"  # args: the position (from 0) whose alternatives the bar shows
    POSITION_FIXED = "position fixed"  # args: the position (from 0), the character it now is
    LEARNED_FORGOTTEN = "learned forgotten"  # args: the characters whose samples were forgotten


# --- what recognition answers with --------------------------------------------------------------------------------

class Choice(Protocol):
    """Anything the bar offers: a character candidate, a continuation, a line's string."""

    @property
    def char(self) -> str: ...  # what a pick sends

    @property
    def score(self) -> float: ...


class LineString(Choice, Protocol):
    """One reading of a line (hwime.recognizer.LineCandidate, a frozen dataclass)."""

    @property
    def text(self) -> str: ...

    @property
    def chars(self) -> tuple: ...  # per position: its alternatives (Choice), the text's own first

    @property
    def spans(self) -> tuple: ...  # per position: its frames (what learning cuts the ink with)


@runtime_checkable
class Regroup(Choice, Protocol):
    """An alternative of a string's position that cuts its strokes otherwise (overlapped writing:
    hwime.overlap.Regrouping, a frozen dataclass): the consecutive cells whose spans are ``replaces`` become the cells
    ``spans``, reading ``char`` (one character per span), each with its alternatives in ``chars``. A merge of two
    cells is one, a split of one cell is one."""

    @property
    def replaces(self) -> tuple: ...

    @property
    def spans(self) -> tuple: ...

    @property
    def chars(self) -> tuple: ...


@dataclass(frozen=True)
class ModelInfo:
    """A model was loaded: what it reads and where it runs."""

    classes: int  # characters it answers
    device: str  # "cpu" or "cuda"
    file: str = ""  # the bundle's file name ("" for none)
    notes: tuple[ModelNote, ...] = ()


class Job(enum.Enum):
    """The work recognition does beside reading the writer's requests: a failure there is no request's."""

    WARM_UP = "warm up"
    LEARN = "learn"
    LEARN_LINE = "learn line"
    UNLEARN = "unlearn"
    FORGET = "forget"


@dataclass(frozen=True)
class JobFailure:
    job: Job
    message: str  # what went wrong, for the writer (English, with the exception's own text)


class Recognition(Protocol):
    """Where the session sends its work. Answers come back to ``candidates_ready`` and ``suggestions_ready`` with
    the request id they were asked with, at any later time."""

    def request(self, request_id: int, ink: Ink, context: str = "", mode: WritingMode = WritingMode.CHARACTER) -> None:
        """Read ``ink`` written in ``mode`` after ``context`` (the newest request replaces one not yet taken)."""

    def suggest(self, request_id: int, context: str, top: int) -> None:
        """Continuations after ``context``."""

    def learn(self, ink: Ink, char: str) -> None:
        """Teach the writer's profile that ``ink`` is ``char`` (the same ink again replaces its label)."""

    def learn_line(self, ink: Ink, spans: tuple, corrections: dict[int, str],
                   mode: WritingMode = WritingMode.LINE) -> None:
        """Teach the characters the writer corrected in a string ({position: char}), each with its own strokes:
        ``spans`` are a line's frames, or an overlapped string's stroke ranges (``mode``)."""

    def unlearn(self, ink: Ink) -> None:
        """Take back what the last pick of ``ink`` taught."""

    def forget_char(self, char: str) -> None:
        """Forget every sample of ``char`` the writer taught; what they taught of other characters stays."""


class SessionView(Protocol):
    """What a front end shows and does for the session."""

    @property
    def ink(self) -> Ink: ...  # the finished strokes written so far

    def shown(self) -> Sequence[Choice]:
        """The choices on screen: the first of those last offered (a narrow bar may leave words out)."""

    def show_choices(self, choices: Sequence[Choice]) -> None:
        """Offer characters or continuations (none: an empty bar)."""

    def show_strings(self, strings: Sequence[LineString], fixed: frozenset[int]) -> None:
        """Offer a line's whole strings, and the best one's characters with the ``fixed`` positions marked."""

    def show_alternatives(self, position: int, best: LineString, fixed: frozenset[int]) -> None:
        """Offer what ``position`` of ``best`` could be instead, that position marked."""

    def clear_line(self) -> None:
        """No line's characters any more."""

    def reshape(self, previous: WritingMode, mode: WritingMode, carry_ink: bool) -> None:
        """Give the writing box ``mode``'s shape (it had ``previous``'s); ``carry_ink``: the character written
        moves into the new shape as the string's first, else the ink is left as it is."""

    def show_ink(self, ink: Ink) -> None:
        """Show ``ink`` as what is written, without a change of ink being reported back."""

    def clear_ink(self) -> None:
        """Wipe the ink; a front end that had some reports the empty ink to ``ink_changed``."""

    def undo_stroke(self) -> None:
        """Take the last stroke away; a front end that had one reports the ink left to ``ink_changed``."""

    def put_out(self, text: str) -> None:
        """Put ``text`` out (the clipboard, typed keys, an input method's commit) and say so."""

    def take_back(self, text: str) -> None:
        """Undo took back the pick that put ``text`` out last: erase it where it was typed when that is known to be
        safe (the clipboard's copy needs nothing); ``DRAWING_BACK``, told next, says how it went."""

    def show_recent(self, recent: Sequence[str]) -> None:
        """The characters sent lately changed (newest first); a front end may keep and offer them."""

    def tell(self, notice: Notice, *args: object) -> None:
        """Tell the writer ``notice`` (its arguments are listed with it)."""


@dataclass(frozen=True)
class SessionOptions:
    use_context: bool = True  # rank by what was sent just before
    suggest: bool = True  # offer continuations after a pick
    learn: bool = True  # teach the profile from picks
    suggestions: int = 10  # how many continuations are asked for


@dataclass
class Pick:
    """The last pick, so Undo can take it back: its drawing, the choices shown, what it sent, the recent
    characters before it and the mode it was written in."""

    ink: Ink
    choices: list[Choice]
    text: str
    recent_before: list[str]
    mode: WritingMode


@dataclass(eq=False)  # one session is one writer's: compared by identity
class WritingSession:
    view: SessionView
    recognition: Recognition
    mode: WritingMode = WritingMode.CHARACTER  # the writer's choice
    recent: list[str] = field(default_factory=list)
    options: SessionOptions = field(default_factory=SessionOptions)
    # how the ink on the box is read: the chosen mode whenever the box is empty; ink keeps the mode it was
    # written in until it is sent, cleared or undone (see choose_mode)
    shape: WritingMode = WritingMode.CHARACTER
    bar: BarState = BarState.CANDIDATES
    sent: str = ""  # what was sent lately, oldest first: the context of what is written next
    last_pick: Pick | None = None
    model_ready: bool = False
    request_id: int = 0  # the newest request's; an answer to an older one is stale
    answered: int = -1  # the request whose candidates the bar shows (request_id: they read the ink as it is now)
    # the ink those candidates were read from: a pick made before the newest stroke's answer came teaches the
    # profile the drawing the writer saw read, not one with a stroke more
    answered_ink: Ink | None = None
    _asked_ink: Ink | None = field(default=None, init=False, repr=False)
    # a line read: its strings offered (best first), the positions the writer fixed, the position whose
    # alternatives show
    lines: list[LineString] = field(default_factory=list)
    fixed: dict[int, str] = field(default_factory=dict)
    alternatives_for: int | None = None

    # --- the writer writes ---------------------------------------------------------------------------------------
    def follow_mode(self) -> None:
        """The box takes the chosen mode's shape (nothing is written in it)."""
        self._reshape(self.mode)

    def ink_changed(self, ink: Ink) -> None:
        """A stroke was added or taken away (or is still being drawn): read what is written now."""
        self.request_id += 1
        if ink.is_empty:
            if self.shape is not self.mode:  # what was written in the other mode is done with
                self._reshape(self.mode)
            if self.bar is BarState.CANDIDATES:
                self.view.show_choices([])  # nothing to read; any answer still on its way is stale
            return
        if self.bar is BarState.SUGGESTIONS or len(ink) == 1:  # a new drawing: what the last message said is over
            if self.model_ready:
                self.view.tell(Notice.NEW_DRAWING)
        if self.bar is BarState.SUGGESTIONS:
            # the continuations leave the bar with the first stroke: a click on one while the stroke is being read
            # would send it over the new drawing and teach the drawing a word
            self.view.show_choices([])
        self.bar = BarState.CANDIDATES  # a new stroke returns from continuations (or alternatives) to reading
        if self.model_ready:
            self._asked_ink = ink
            self.recognition.request(self.request_id, ink, self.context(), self.shape)

    def read_again(self) -> None:
        """The model or the options changed: read what is written again, or offer the continuations anew."""
        ink = self.view.ink
        if not ink.is_empty:
            self.ink_changed(ink)
        elif self.bar is BarState.SUGGESTIONS:
            self.offer_continuations()  # in the new script, or none when they were turned off

    def context(self) -> str:
        return self.sent[-CONTEXT_KEPT:] if self.options.use_context else ""

    def choose_mode(self, mode: WritingMode) -> bool:
        """The writer chose a mode; whether anything changed. What is written is never read again the other way,
        clipped or sent: with nothing written the box takes the new shape at once; a character written alone moves
        into a string mode's box as its first (the string goes on from it); a string stays as it was written,
        offered whole, until it is sent, cleared or undone, and then the chosen mode's box comes."""
        if mode is self.mode and mode is self.shape:
            return False
        self.mode = mode
        ink = self.view.ink
        if ink.is_empty or mode is self.shape:  # (chosen twice: the ink being written never noticed)
            if mode is not self.shape:
                self._reshape(mode)
            self.view.tell(Notice.MODE_CHOSEN, mode)
        elif self.shape is WritingMode.CHARACTER:
            self._reshape(mode, carry_ink=True)
            self.view.tell(Notice.CHARACTER_CARRIED, mode)
            self.ink_changed(self.view.ink)
        else:
            self.view.tell(Notice.STRING_KEPT, self.shape)
        return True

    def _reshape(self, mode: WritingMode, carry_ink: bool = False) -> None:
        previous, self.shape = self.shape, mode
        self._drop_line()
        self.view.reshape(previous, mode, carry_ink)

    def _drop_line(self) -> None:
        self.lines, self.fixed, self.alternatives_for = [], {}, None

    # --- answers -----------------------------------------------------------------------------------------------
    def is_current(self, request_id: int) -> bool:
        """Whether an answer (or a failure) is to the newest request."""
        return request_id == self.request_id

    def candidates_ready(self, request_id: int, candidates: Sequence[Choice]) -> None:
        if request_id != self.request_id or self.bar not in (BarState.CANDIDATES, BarState.ALTERNATIVES):
            return
        self.answered, self.answered_ink = request_id, self._asked_ink
        if self.shape.reads_strings:
            self.lines, self.fixed, self.alternatives_for = list(candidates), {}, None
            self.bar = BarState.CANDIDATES
            self._show_lines()
        else:
            self.view.show_choices(candidates)

    def suggestions_ready(self, request_id: int, suggestions: Sequence[Choice]) -> None:
        if request_id == self.request_id and self.bar is BarState.SUGGESTIONS and self.view.ink.is_empty:
            self.view.show_choices(suggestions)

    # --- a line's characters -------------------------------------------------------------------------------------
    def _show_lines(self) -> None:
        self.view.show_strings(self.lines, frozenset(self.fixed))

    def show_alternatives(self, position: int) -> None:
        """The bar offers what else this position of the best string could be; a pick there fixes it."""
        if not self.lines or position >= len(self.lines[0].chars):
            return
        self.bar, self.alternatives_for = BarState.ALTERNATIVES, position
        best = self.lines[0]
        # a regrouping whose cells a later one cut otherwise is not offered (kept: a regrouping back revives it)
        chars = tuple(tuple(a for a in alts if not isinstance(a, Regroup) or _consecutive(best.spans, a.replaces))
                      for alts in best.chars)
        self.view.show_alternatives(position, dataclasses.replace(best, chars=chars), frozenset(self.fixed))
        self.view.tell(Notice.PICK_FOR_POSITION, position)

    def _fix(self, position: int, char: str) -> None:
        """Fix one position of the best string; the other strings that agree with every fix follow it."""
        best = self.lines[0]
        alts = best.chars[position]
        chosen = next(a for a in alts if a.char == char and not isinstance(a, Regroup))
        chars = (best.chars[:position] + ((chosen,) + tuple(a for a in alts if a is not chosen),)
                 + best.chars[position + 1:])
        text = best.text[:position] + char + best.text[position + 1:]
        self.fixed[position] = char
        fixed = dataclasses.replace(best, text=text, chars=chars)

        def with_fixes(c: LineString) -> LineString:
            """A string as long as the best one carries every fix, so each offered string reads what was fixed."""
            return dataclasses.replace(c, text="".join(self.fixed.get(k, ch) for k, ch in enumerate(c.text)))

        # a string of another length has no position k to carry the fixes: it would undo them, so it goes
        rest, seen = [], {text}
        for c in (with_fixes(c) for c in self.lines[1:] if len(c.text) == len(text)):
            if c.text not in seen:
                seen.add(c.text)
                rest.append(c)
        self.lines = [fixed] + rest
        self.bar, self.alternatives_for = BarState.CANDIDATES, None
        self._show_lines()
        self.view.tell(Notice.POSITION_FIXED, position, char)

    def _regroup(self, position: int, choice: Regroup) -> None:
        """Cut the best string's strokes as ``choice`` says (a merge, a split); its new cells count as fixed, the
        fixes elsewhere stay with their characters, and only the other strings cut the same way follow. The other
        cells keep every regrouping they had: one whose cells are gone is only not offered (show_alternatives)."""
        best, n = self.lines[0], len(choice.replaces)
        start = next((s for s in range(max(0, position - n + 1), position + 1)
                      if tuple(best.spans[s : s + n]) == tuple(choice.replaces)), None)
        if start is None:  # (never offered: the cells it names are gone)
            return
        old = best.chars[start : start + n]
        # the cut as it was stays one pick away: each new cell offers it back
        back = dataclasses.replace(choice, char=best.text[start : start + n],
                                   score=math.prod(c[0].score for c in old if c),
                                   replaces=tuple(choice.spans), spans=tuple(choice.replaces), chars=tuple(old))
        spans = tuple(best.spans[:start]) + tuple(choice.spans) + tuple(best.spans[start + n:])
        cells = tuple(tuple(c) + (back,) for c in choice.chars)
        chars = tuple(best.chars[:start]) + cells + tuple(best.chars[start + n:])
        text = best.text[:start] + choice.char + best.text[start + n:]
        shift = len(choice.spans) - n
        self.fixed = {(k if k < start else k + shift): c for k, c in self.fixed.items()
                      if not start <= k < start + n}
        self.fixed.update({start + i: c for i, c in enumerate(choice.char)})
        regrouped = dataclasses.replace(best, text=text, chars=chars, spans=spans)

        def with_fixes(c: LineString) -> LineString:
            return dataclasses.replace(c, text="".join(self.fixed.get(k, ch) for k, ch in enumerate(c.text)))

        rest, seen = [], {text}
        for c in (with_fixes(c) for c in self.lines[1:] if tuple(c.spans) == spans):
            if c.text not in seen:
                seen.add(c.text)
                rest.append(c)
        self.lines = [regrouped] + rest
        self.bar, self.alternatives_for = BarState.CANDIDATES, None
        self._show_lines()
        self.view.tell(Notice.POSITION_FIXED, start, choice.char)

    # --- picks and what goes out -----------------------------------------------------------------------------------
    def pick(self, index: int) -> None:
        """The writer picked the ``index``-th choice shown."""
        shown = list(self.view.shown())
        choice = shown[index]
        ink = self.view.ink
        read = self.answered_ink if self.answered_ink is not None else ink  # what the choices on the bar read
        if self.bar is BarState.ALTERNATIVES and self.alternatives_for is not None:
            if isinstance(choice, Regroup):
                self._regroup(self.alternatives_for, choice)
            else:
                self._fix(self.alternatives_for, choice.char)
            return
        if self.shape.reads_strings and self.bar is BarState.CANDIDATES and not ink.is_empty:
            # the whole string goes out; the characters the writer corrected teach the profile with their strokes
            # (a line's spans are frames, an overlapped string's stroke ranges: the mode says which)
            if self.fixed and self.options.learn and self.model_ready and index == 0:
                self.recognition.learn_line(read, self.lines[0].spans, dict(self.fixed), self.shape)
            self.last_pick = Pick(read, shown, choice.char, list(self.recent), self.shape)
            self.send(choice.char)
            return
        recent_before = list(self.recent)
        if self.bar is BarState.CANDIDATES and not ink.is_empty:
            if self.options.learn and self.model_ready:
                self.recognition.learn(read, choice.char)
            self.last_pick = Pick(read, shown, choice.char, recent_before, self.shape)
        else:
            self.last_pick = None  # a continuation has no drawing: nothing to learn
        self.send(choice.char)

    def send_best(self) -> None:
        """Send what the bar offers first, or say why nothing goes out."""
        if not self.view.shown():
            self.view.tell(Notice.NOTHING_TO_SEND)
            return
        self.pick(0)

    def can_send_on_pause(self) -> bool:
        """Whether resting the pen now would send something: the bar offers candidates (or whole strings) read from
        the ink exactly as it is, and the writer is not choosing among a position's alternatives. A front end's pause
        clock starts only then, so what a pause sends is what the writer sees offered."""
        return (self.bar is BarState.CANDIDATES and self.answered == self.request_id
                and not self.view.ink.is_empty and bool(self.view.shown()))

    def send_on_pause(self) -> bool:
        """The pen rested as long as the writer asked (*Send after a pause*): send the best candidate or string as a
        pick of it would, so Undo right after takes it back the same way; whether anything was sent."""
        if not self.can_send_on_pause():
            return False
        self.pick(0)
        return True

    def send(self, text: str, clear: bool = True) -> None:
        """Send ``text`` (a character, a string, a continuation); ``clear=False`` (a recent character sent again)
        keeps the ink being written."""
        if len(text) == 1:
            self.recent = ([text] + [c for c in self.recent if c != text])[:RECENT_KEPT]
            self.view.show_recent(self.recent)
        self.sent = (self.sent + text)[-CONTEXT_KEPT:]
        self.view.put_out(text)
        if clear:
            self._drop_line()  # the line's characters go with its ink
            self.view.clear_line()
            self.view.clear_ink()
            self.offer_continuations()

    def offer_continuations(self) -> None:
        self.request_id += 1
        if self.options.suggest and self.sent and self.model_ready:
            self.bar = BarState.SUGGESTIONS
            self.recognition.suggest(self.request_id, self.sent, self.options.suggestions)
        else:
            self.bar = BarState.CANDIDATES
            self.view.show_choices([])

    def typed_apart(self, text: str = "", erased: int = 0) -> None:
        """The writer typed through the pad beside the picks (type mode's keys): ``erased`` characters taken away
        with Backspace, or ``text`` typed (a space, a line break, a punctuation mark). The last pick is no longer the
        end of the text, so Undo leaves what it typed alone; a Backspace shortens the context, anything else ends it
        (no continuation follows a punctuation mark); continuations on the bar follow."""
        self.last_pick = None
        self.sent = self.sent[: max(0, len(self.sent) - erased)] if erased else ""
        if self.bar is BarState.SUGGESTIONS and self.view.ink.is_empty:
            self.offer_continuations()

    def clear(self) -> None:
        """Start over: no ink, no continuations, no context from what was sent before."""
        self.sent = ""
        self._drop_line()
        self.view.clear_line()
        self.last_pick = None
        self.bar = BarState.CANDIDATES
        self.request_id += 1
        self.view.clear_ink()  # a string kept in its mode after another was chosen: the chosen mode's box comes
        self.view.show_choices([])
        if self.model_ready:  # how to write in the box as it is now
            self.view.tell(Notice.READY)

    def forget_learned(self, chars: Sequence[str], read_again: bool = True) -> None:
        """The writer forgets what they taught of each of ``chars`` (a mistaken pick, a wrong correction): those
        characters' samples go, everything else learned stays, and what is written is read again without them."""
        chars = list(dict.fromkeys(chars))
        if not chars:
            return
        for char in chars:
            self.recognition.forget_char(char)
        self.view.tell(Notice.LEARNED_FORGOTTEN, "".join(chars))
        if read_again:
            self.read_again()

    def undo(self) -> None:
        """Take the last stroke away; with nothing written right after a pick, bring back that drawing and its
        choices, so another can be picked (it replaces what was learned from the first pick)."""
        if not (self.view.ink.is_empty and self.last_pick is not None):
            self.view.undo_stroke()
            return
        # the pick is taken back whatever comes next (another pick, Clear, new ink): it is unlearned, leaves the
        # recent characters and the context now
        pick, self.last_pick = self.last_pick, None
        self.view.take_back(pick.text)
        self.recognition.unlearn(pick.ink)
        if self.sent.endswith(pick.text):
            self.sent = self.sent[: -len(pick.text)]
        self.recent = pick.recent_before
        self.view.show_recent(self.recent)
        self.request_id += 1
        self.bar = BarState.CANDIDATES
        if pick.mode is not self.shape:  # the drawing comes back in the mode it was written in
            self._reshape(pick.mode)
        self.view.show_ink(pick.ink)
        self.answered_ink = pick.ink  # the choices coming back read it
        if pick.mode.reads_strings:
            self.lines = list(pick.choices)
            self._show_lines()
        else:
            self.view.show_choices(pick.choices)
        self.view.tell(Notice.DRAWING_BACK)


def _consecutive(spans: tuple, run: tuple) -> bool:
    """Whether ``run`` is found in ``spans`` as consecutive cells."""
    n = len(run)
    return any(tuple(spans[s : s + n]) == tuple(run) for s in range(len(spans) - n + 1))

