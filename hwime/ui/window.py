"""PadWindow: canvas, candidates, recent characters and a status line, wired to the worker and the output."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QRect, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import (QCloseEvent, QFont, QFontDatabase, QGuiApplication, QKeyEvent, QPalette, QTextLayout,
                           QTextOption)
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QSpinBox,
                               QVBoxLayout, QWidget)

from ..ink import Ink
from ..output import Deliverer, keep_clipboard_after_exit
from ..settings import Settings, save_settings
from .candidates import KEY_LABELS, CandidateBar, LineCells, candidate_font_family
from .canvas import LINE_ASPECT, WritingCanvas
from .i18n import is_dark
from .worker import LINE_CANDIDATES, RecognitionWorker, WorkerThread

RECENT_SHOWN = 12
CONTEXT_KEPT = 8  # characters of what this pad sent, used to rank the next one and to offer continuations


def _tool_button(text: str, tip: str) -> QPushButton:
    b = QPushButton(text)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setToolTip(tip)
    return b


class AspectBox(QWidget):
    """Holds the canvas as the largest centred rectangle of its aspect that fits: the writing box is one character
    (a square) or one line (LINE_ASPECT : 1), whatever the window."""

    def __init__(self, child: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())

    def sizeHint(self) -> QSize:
        return self.child.sizeHint()

    def relayout(self) -> None:
        aspect = getattr(self.child, "aspect", 1.0)
        w = min(self.width(), int(self.height() * aspect))
        h = int(w / aspect)
        self.child.setGeometry(QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h))

    def resizeEvent(self, event) -> None:
        self.relayout()
        super().resizeEvent(event)


STATUS_LINES = 2


class StatusLine(QLabel):
    """The latest event in two lines, as wide as the window is: the text wraps (between words, or between any two
    characters of Chinese) and only what is left past the second line is elided (the whole text is in the
    tooltip). It is always two lines tall and asks for no width, so neither a new message nor a long one moves the
    window's layout or makes the window wider."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setFixedHeight(self.fontMetrics().lineSpacing() * STATUS_LINES + 4)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())

    def sizeHint(self) -> QSize:
        return QSize(0, self.height())

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:
        self._elide()
        super().resizeEvent(event)

    def shown_lines(self) -> list[str]:
        """The lines as shown: the text broken to the label's width, the last one elided when more is left."""
        width = max(10, self.width() - 2)
        metrics = self.fontMetrics()
        layout = QTextLayout(self._full, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        lines: list[str] = []
        layout.beginLayout()
        while len(lines) < STATUS_LINES:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            start = line.textStart()
            if len(lines) == STATUS_LINES - 1:  # the last line shown: the rest of the text, elided if it is more
                lines.append(metrics.elidedText(self._full[start:].strip(), Qt.TextElideMode.ElideRight, width))
            else:
                lines.append(self._full[start:start + line.textLength()].rstrip())
        layout.endLayout()
        return [ln for ln in lines if ln] or [""]

    def _elide(self) -> None:
        super().setText("\n".join(self.shown_lines()))


class WarningBar(QFrame):
    """Warnings that stay until the user dismisses them (a corrupt settings file, a read-only config folder…)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        dark = is_dark(self.palette())
        self.setStyleSheet("WarningBar { background: %s; border: 1px solid #e7b58f; border-radius: 4px; }"
                           % ("#4a2e1f" if dark else "#fff1e6"))
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setStyleSheet("color: #ffd3b8;" if dark else "color: #8a2b0a;")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = _tool_button(self.tr("Dismiss"), self.tr("Hide these warnings"))
        self.dismiss_button.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 3, 6, 3)
        row.addWidget(self.text, 1)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.messages: list[str] = []
        self.hide()

    def add(self, message: str) -> None:
        if message in self.messages:
            return
        self.messages = (self.messages + [message])[-3:]
        self.text.setText("\n".join(self.messages))
        self.show()

    def dismiss(self) -> None:
        self.messages = []
        self.text.setText("")
        self.hide()


class PadWindow(QWidget):
    delivered = Signal(object)  # Delivery
    closed = Signal()  # the app quits on it: a type-mode tool window does not count as a last window

    def __init__(self, settings: Settings, settings_path: Path | None = None, worker: RecognitionWorker | None = None,
                 deliverer: Deliverer | None = None, warnings: list[str] = (), profile_dir: Path | None = None):
        """``profile_dir``: where what the pad learns from its writer is kept (None: in memory, for this run only)."""
        super().__init__()
        self.settings = settings
        self.settings_path = settings_path
        self.setWindowTitle(self.tr("hwime — handwriting"))
        self.canvas = WritingCanvas(settings.pen_width)
        self.bar = CandidateBar(settings.candidate_count, reading=self._reading if settings.show_pinyin else None)
        self.bar.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.warnings = WarningBar()
        self.status = StatusLine()
        self.recent = QHBoxLayout()
        self.recent.setSpacing(2)
        self._recent_buttons: list[QPushButton] = []

        self.undo_button = _tool_button(self.tr("Undo"), self.tr(
            "Remove the last stroke (Backspace, right click); right after a pick, bring its drawing back to pick "
            "another candidate"))
        self.clear_button = _tool_button(self.tr("Clear"), self.tr("Start over (Esc)"))
        self.best_button = _tool_button(self.tr("Send 1st"), self.tr("Send the best candidate (Space)"))
        self.mode_button = _tool_button("", self.tr("Switch between copying to the clipboard and typing into the focused window"))
        self.line_button = _tool_button(self.tr("Line"), self.tr(
            "Write a whole phrase in a wide line (on) or one character in the square box (off)"))
        self.line_button.setCheckable(True)
        self.cells = LineCells()
        self.cells.cellClicked.connect(self._show_alternatives)
        self.settings_button = _tool_button(self.tr("Settings…"), self.tr("Output, candidates, pen, model"))
        self.undo_button.clicked.connect(self.undo)
        self.clear_button.clicked.connect(self.clear)
        self.best_button.clicked.connect(self.send_best)
        self.mode_button.clicked.connect(self.toggle_mode)
        self.settings_button.clicked.connect(self.open_settings)

        buttons = QHBoxLayout()
        self.line_button.toggled.connect(self.set_line_mode)
        for b in (self.undo_button, self.clear_button, self.best_button, self.line_button, self.mode_button,
                  self.settings_button):
            buttons.addWidget(b)
        recent_row = QHBoxLayout()
        self.recent_row = recent_row
        label = QLabel(self.tr("Recent:"))
        label.setFixedHeight(30)  # the row is as tall with no recent character as with some: nothing jumps
        label.setStyleSheet("color: #777")
        recent_row.addWidget(label)
        recent_row.addLayout(self.recent)
        recent_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.warnings)
        self.canvas_box = AspectBox(self.canvas)
        layout.addWidget(self.canvas_box, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cells)
        layout.addLayout(recent_row)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

        self.deliverer = deliverer or Deliverer(QGuiApplication.clipboard().setText, settings.output_mode)
        if worker is None:
            from ..personal import Profile

            worker = RecognitionWorker(settings.candidate_count, profile_factory=lambda: Profile(profile_dir))
        self.worker = worker
        self.worker.top = settings.candidate_count
        self._apply_options()
        self._thread = WorkerThread(self.worker)
        self._request_id = 0
        self._copied = ""  # the last character this pad put on the clipboard
        self.sent = ""  # what this pad sent lately, oldest first: the context of the next character
        self.showing = "candidates"  # or "suggestions": continuations after a pick
        # the last pick: its drawing, candidates, character and Recent before it, so Undo can take it back
        self._last_pick: tuple[Ink, list, str, list, bool] | None = None  # … and whether it was a line
        self.learned_count = 0
        self.model_ready = False
        # line mode: the n-best strings shown, the positions the writer fixed, the position whose alternatives show
        self.lines: list = []
        self.fixed: dict[int, str] = {}
        self.alternatives_for: int | None = None
        self.worker.candidatesReady.connect(self._on_candidates)
        self.worker.suggestionsReady.connect(self._on_suggestions)
        self.worker.learned.connect(self._on_learned)
        self.worker.notice.connect(self.warnings.add)
        self.worker.recognitionFailed.connect(self._on_failed)
        self.worker.modelLoaded.connect(self._on_model_loaded)
        self.worker.modelFailed.connect(self._on_model_failed)
        self.canvas.inkChanged.connect(self.request_recognition)
        self.canvas.undoRequested.connect(self.undo)
        self.canvas.inkGrowing.connect(self.request_recognition)
        self.bar.picked.connect(self._on_pick)

        self._left_at: dict[bool, tuple[int, int]] = {}  # per shape (line or not): the window's size when it was left
        self._mode_applied: str | None = None
        self._apply_mode()
        # the saved place and size first, and the Line button set without its signal: set_line_mode saves the
        # settings, which at this point would overwrite the saved geometry with the unplaced window's
        if settings.geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.geometry.encode()))
        with QSignalBlocker(self.line_button):
            self.line_button.setChecked(settings.line_mode)
        self._apply_line_mode()
        self._refresh_recent()
        for w in warnings:
            self.warnings.add(w)
        self.show_status(self.tr("Loading the model…"))
        self.worker.load_model(settings.model_path, settings.device)

    # --- recognition ---------------------------------------------------------------------------------------
    def request_recognition(self, ink: Ink) -> None:
        self._request_id += 1
        if ink.is_empty:
            if self.line_shape != self.settings.line_mode:  # what was written in the other shape is done with
                self._apply_line_mode()
            if self.showing == "candidates":
                self.bar.set_candidates([])  # nothing to classify; any answer still on its way is stale
            return
        if self.showing == "suggestions" or len(ink) == 1:  # a new drawing: what the last message said is over
            if self.model_ready and not self._status_lasting:
                self.show_status(self.ready_text())
        self.showing = "candidates"  # a new stroke returns from continuations to recognition
        if self.model_ready:
            self.worker.request(self._request_id, ink, self.sent[-CONTEXT_KEPT:] if self.settings.use_context else "",
                                line=self.line_shape)

    def _on_candidates(self, request_id: int, candidates: list) -> None:
        if request_id != self._request_id or self.showing not in ("candidates", "alternatives"):
            return
        if self.line_shape:
            self.lines, self.fixed, self.alternatives_for = list(candidates), {}, None
            self.showing = "candidates"
            self._show_lines()
        else:
            self.bar.set_candidates(candidates)

    # --- line mode ---------------------------------------------------------------------------------------------
    @property
    def line_shape(self) -> bool:
        """Whether the canvas is the line now, and so how the ink on it is read. It follows the Line setting
        whenever the canvas is empty; ink keeps the shape it was written in (see set_line_mode)."""
        return self.canvas.aspect != 1.0

    def set_line_mode(self, on: bool) -> None:
        """The Line button. What is written is never reread the other way, clipped or sent: with nothing written
        the canvas takes the new shape at once; a character written in the square moves into the line's first cell
        (the phrase goes on from it); a phrase written in the line stays a line, offered whole, until it is sent,
        cleared or undone, and then the square comes."""
        if on == self.settings.line_mode and on == self.line_shape:
            return
        self.settings.line_mode = on
        ink = self.canvas.ink
        if ink.is_empty or on == self.line_shape:  # (pressed twice: the ink being written never noticed)
            if on != self.line_shape:
                self._apply_line_mode()
            self.show_status(self.tr("Line: write a phrase, then pick the whole string; click a character below to "
                                     "fix it.") if on else self.tr("Write one character in the box."))
        elif on:  # the square's character, scaled into the line's first cell, read again as the start of a line
            side = self.canvas.height()
            self._apply_line_mode()
            self.canvas.set_ink(self._scaled(ink, self.canvas.height() / max(1, side)))
            self.show_status(self.tr("Line: the character is the line's first; write the rest after it."))
            self.request_recognition(self.canvas.ink)
        else:
            self.show_status(self.tr("The phrase stays a line: pick its string or Clear; then the box comes."))
        self.save()  # the setting, and the window's size as the new shape made it

    @staticmethod
    def _scaled(ink: Ink, factor: float) -> Ink:
        strokes = [stroke.copy() for stroke in ink.strokes]
        for stroke in strokes:
            stroke[:, :2] *= factor  # x and y; the times and pressures stay
        return Ink.from_strokes(strokes)

    def _apply_line_mode(self, on: bool | None = None) -> None:
        """Give the canvas a shape (the setting's unless ``on`` says), the bar and the cells with it."""
        on = self.settings.line_mode if on is None else on
        if on != self.line_shape:
            self._left_at[self.line_shape] = (self.width(), self.height())
        self.canvas.set_line_mode(on)
        self.canvas_box.setMinimumSize(self.canvas.minimumSize())  # a line may be lower than the square's least
        self.canvas_box.relayout()
        self._size_bar()
        self.lines, self.fixed, self.alternatives_for = [], {}, None
        self.cells.show_text("")
        self.cells.setVisible(on)
        self._fit_height()

    def _fit_height(self) -> None:
        """The window as tall as the shape needs at its width: a line box as wide as the window with no empty
        bands above and below, the square as tall as it is wide (as far as the screen allows). A maximized or
        hidden window (its saved geometry still to come) is left alone."""
        if not self.isVisible() or self.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
            return
        # the other rows (the cells, the bar's rows: fixed heights) as the new shape has them, laid out now
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        wanted = self.height() - self.canvas_box.height() + round(self.canvas_box.width() / self.canvas.aspect)
        room = self.screen().availableGeometry().height() - (self.frameGeometry().height() - self.height())
        before = self._left_at.get(self.line_shape)
        if not self.line_shape and before and before[0] == self.width():
            wanted = before[1]  # back to the square at the width it was left at: as tall as it was then
        self.resize(self.width(), max(self.minimumSizeHint().height(), min(wanted, room)))

    def _size_bar(self) -> None:
        """The candidate bar for the mode: whole strings in a few wide cells, or the characters the settings ask."""
        if self.line_shape:
            self.bar.set_count(LINE_CANDIDATES, per_row=2)
        else:
            self.bar.set_count(self.settings.candidate_count)

    def _show_lines(self) -> None:
        self._size_bar()
        self.bar.set_candidates(self.lines)
        self.cells.show_text(self.lines[0].text if self.lines else "", frozenset(self.fixed))

    def _show_alternatives(self, position: int) -> None:
        """The bar shows what else this position of the best string could be; a pick there fixes it."""
        if not self.lines or position >= len(self.lines[0].chars):
            return
        self.showing, self.alternatives_for = "alternatives", position
        # a character's alternatives, as many as the box offers, in as many rows as the strings had: the line box
        # stays where the writer was looking
        count = self.settings.candidate_count
        rows = self.bar.rows
        self.bar.set_count(count, per_row=max(1, -(-count // rows)))
        self.bar.set_candidates(list(self.lines[0].chars[position]))
        self.cells.show_text(self.lines[0].text, frozenset(self.fixed), selected=position)
        self.show_status(self.tr("Pick what character {0} should be.").format(position + 1))

    def _fix(self, position: int, char: str) -> None:
        """Fix one position of the best string; the other strings that agree with every fix follow it."""
        import dataclasses

        best = self.lines[0]
        alts = best.chars[position]
        chosen = next(a for a in alts if a.char == char)
        chars = best.chars[:position] + ((chosen,) + tuple(a for a in alts if a.char != char),) + best.chars[position + 1:]
        text = best.text[:position] + char + best.text[position + 1:]
        self.fixed[position] = char
        fixed = dataclasses.replace(best, text=text, chars=chars)

        def with_fixes(c):
            """A string as long as the best one carries every fix, so each offered string reads what was fixed."""
            return dataclasses.replace(c, text="".join(self.fixed.get(k, ch) for k, ch in enumerate(c.text)))

        # a string of another length has no position k to carry the fixes: it would undo them, so it goes
        rest, seen = [], {text}
        for c in (with_fixes(c) for c in self.lines[1:] if len(c.text) == len(text)):
            if c.text not in seen:
                seen.add(c.text)
                rest.append(c)
        self.lines = [fixed] + rest
        self.showing, self.alternatives_for = "candidates", None
        self._show_lines()
        self.show_status(self.tr("Character {0} is now {1}; pick the string to send it.").format(position + 1, char))

    def _on_suggestions(self, request_id: int, suggestions: list) -> None:
        if request_id == self._request_id and self.showing == "suggestions" and self.canvas.ink.is_empty:
            self.bar.set_candidates(suggestions)

    def _on_learned(self, count: int) -> None:
        self.learned_count = count

    def _reading(self, ch: str) -> str:
        """Pinyin; for a traditional writer zhuyin first (what Taiwan's writers read), then pinyin."""
        from ..language import reading  # imported (and warmed up) by the worker after the model loads

        if self.worker.script == "traditional":
            return "/".join(r for r in (reading(ch, 1, style="zhuyin"), reading(ch)) if r)
        return reading(ch)

    def _apply_options(self) -> None:
        self.worker.script = self.settings.writer_script()
        family = candidate_font_family(self.worker.script, QFontDatabase.families(), self.settings.candidate_font)
        self.bar.set_family(family)
        self.cells.family = family  # the line's cells and the Recent row show characters in the same face
        if family != getattr(self, "_glyph_family", None):
            self._glyph_family = family
            # the window's own text (status, notices, buttons) keeps the system's face for Latin and takes the
            # candidates' for Chinese, instead of whatever face fontconfig falls back to (a brush face, once installed)
            font = QFont(QGuiApplication.font())
            if family:
                font.setFamilies([QGuiApplication.font().family(), family])
            self.setFont(font)
            for label in self.findChildren(QLabel):  # a style sheet (the status's colour) stops the propagation
                label.setFont(font)
            if hasattr(self, "_recent_buttons"):
                self._refresh_recent()
        self.worker.use_prior = self.settings.use_prior
        self.worker.use_context = self.settings.use_context
        self.worker.learn_enabled = self.settings.learn

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._request_id:
            self.show_status(self.tr("Recognition failed: {0}. Keep writing or clear to try again.").format(message),
                             warn=True, lasting=True)
        elif request_id < 0:  # no request of the writer's: warm-up, learning a pick, taking one back
            self.show_status(self.tr("Not done: {0}").format(message), warn=True, lasting=True)

    def _on_model_loaded(self, info: dict) -> None:
        self.model_ready = True
        where = {"cpu": self.tr("the CPU"), "cuda": self.tr("the GPU (CUDA)")}.get(info["device"], info["device"])
        description = self.tr("{0} characters on {1}").format(info["classes"], where)
        if info.get("file"):
            description += f" ({info['file']})"
        notes = [self._note(n) for n in info.get("notes", ())]
        self.show_status(self.tr("Ready — {0}.").format(" — ".join([description] + notes)) + " " + self.ready_text())
        if not self.canvas.ink.is_empty:
            self.request_recognition(self.canvas.ink)

    def _note(self, note: str) -> str:
        """The recognizer's notes in the pad's language (they are plain English in the API)."""
        if note == "CUDA is not available here; running on the CPU":
            return self.tr("CUDA is not available here; running on the CPU")
        lacking = re.fullmatch(r"(\d+) learned samples are of characters this model lacks", note)
        if lacking:
            return self.tr("{0} learned samples are of characters this model lacks").format(lacking.group(1))
        return note
        if not self.canvas.ink.is_empty:
            self.request_recognition(self.canvas.ink)

    def _on_model_failed(self, message: str) -> None:
        self.model_ready = False
        self.show_status(self.tr("No recognizer: {0}").format(message), warn=True)

    # --- output --------------------------------------------------------------------------------------------
    def _on_pick(self, index: int) -> None:
        choice = self.bar.candidates[index]
        ink = self.canvas.ink
        if self.showing == "alternatives" and self.alternatives_for is not None:
            self._fix(self.alternatives_for, choice.char)
            return
        if self.line_shape and self.showing == "candidates" and not ink.is_empty:
            # the whole string goes out; the characters the writer corrected teach the profile with their strokes
            if self.fixed and self.settings.learn and self.model_ready and index == 0:
                self.worker.learn_line(ink, self.lines[0].spans, dict(self.fixed))
            self._last_pick = (ink, list(self.bar.candidates), choice.char, list(self.settings.recent), True)
            self.deliver(choice.char)
            return
        recent_before = list(self.settings.recent)
        if self.showing == "candidates" and not ink.is_empty:
            if self.settings.learn and self.model_ready:
                self.worker.learn(ink, choice.char)
            self._last_pick = (ink, list(self.bar.candidates), choice.char, recent_before, False)
        else:
            self._last_pick = None  # a continuation has no drawing: nothing to learn
        self.deliver(choice.char)

    def deliver(self, text: str, clear: bool = True) -> None:
        """Send ``text`` (a character, or a word from the continuations); ``clear=False`` (a Recent re-send)
        keeps the ink being written."""
        result = self.deliverer.deliver(text)
        if result.method == "clipboard":
            self._copied = text
        if len(text) == 1:
            self.settings.recent = ([text] + [c for c in self.settings.recent if c != text])[:RECENT_SHOWN]
            self._refresh_recent()
            self.save()
        self.sent = (self.sent + text)[-CONTEXT_KEPT:]
        done = self.tr("{0} typed") if result.method != "clipboard" else self.tr("{0} copied to the clipboard")
        self.show_status(done.format(text) + (f" — {result.note}" if result.note else ""), warn=bool(result.note))
        if clear:
            self.lines, self.fixed, self.alternatives_for = [], {}, None  # the line's cells go with its ink
            self.cells.show_text("")
            self.canvas.clear()
            self._offer_continuations()
        self.delivered.emit(result)

    def _offer_continuations(self) -> None:
        self._request_id += 1
        if self.settings.suggest and self.sent and self.model_ready:
            self.showing = "suggestions"
            self.worker.suggest(self._request_id, self.sent, self.settings.candidate_count)
        else:
            self.showing = "candidates"
            self.bar.set_candidates([])

    def ready_text(self) -> str:
        copy = self.settings.output_mode == "copy"  # a no-focus pad (type mode) gets no keys
        if self.line_shape:
            return self.tr("Write a phrase in the line; click a string or press 1–{0}, Space.").format(LINE_CANDIDATES) \
                if copy else \
                self.tr("Write a phrase in the line; click a string.")
        return self.tr("Write a character; click a candidate or press 1–9, 0, Space.") if copy else \
            self.tr("Write a character; click a candidate.")

    def clear(self) -> None:
        """Start over: no ink, no continuations, no context from what was sent before."""
        if self.model_ready:
            self.show_status(self.ready_text())
        self.sent = ""
        self.lines, self.fixed, self.alternatives_for = [], {}, None
        self.cells.show_text("")
        self._last_pick = None
        self.showing = "candidates"
        self._request_id += 1
        self.canvas.clear()
        self.bar.set_candidates([])

    def undo(self) -> None:
        """Remove the last stroke; on an empty pad right after a pick, bring back that drawing and its candidates,
        so another candidate can be picked (it replaces what was learned from the first pick)."""
        if self.canvas.ink.is_empty and self._last_pick is not None:
            # the pick is taken back whatever comes next (another pick, Clear, new ink): it is unlearned, leaves
            # Recent and the context now
            ink, candidates, char, recent_before, line = self._last_pick
            self._last_pick = None
            self.worker.unlearn(ink)
            if self.sent.endswith(char):
                self.sent = self.sent[: -len(char)]
            self.settings.recent = recent_before
            self._refresh_recent()
            self.save()
            self._request_id += 1
            self.showing = "candidates"
            if line != self.line_shape:  # the drawing comes back in the shape it was written in
                self._apply_line_mode(line)
            self.canvas.set_ink(ink)
            if line:
                self.lines = list(candidates)
                self._show_lines()
            else:
                self.bar.set_candidates(candidates)
            self.show_status(self.tr("The last drawing is back: pick the right candidate (the wrong one was already sent)."))
            return
        self.canvas.undo()

    def _refresh_recent(self) -> None:
        for b in self._recent_buttons:
            b.deleteLater()
        self._recent_buttons = []
        for ch in self.settings.recent[:RECENT_SHOWN]:
            b = _tool_button(ch, self.tr("{0} again").format(ch))
            b.setFlat(True)
            b.setFont(QFont(getattr(self, "_glyph_family", "") or b.font().family(), 13))
            b.setFixedSize(30, 30)
            b.clicked.connect(lambda _=False, ch=ch: self.deliver(ch, clear=False))
            self.recent.addWidget(b)
            self._recent_buttons.append(b)

    def toggle_mode(self) -> None:
        self.settings.output_mode = "type" if self.settings.output_mode == "copy" else "copy"
        self._apply_mode()
        self.save()  # on every change: a logout (SIGTERM) must not lose it
        if self.settings.output_mode == "type":
            self.show_status(self.tr("Mode: type — a click on a candidate types it into the window you were working in."))
        else:
            self.show_status(self.tr("Mode: copy — a click on a candidate (or 1–9, 0, Space) copies it."))

    def _apply_mode(self) -> None:
        mode = self.settings.output_mode
        self.deliverer.mode = mode
        self.mode_button.setText(self.tr("Mode: type") if mode == "type" else self.tr("Mode: copy"))
        flags = Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint
        if mode == "type":
            # a tool window that never takes focus, so keystrokes go to the window the user was working in
            flags = Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.WindowDoesNotAcceptFocus
        if mode == self._mode_applied:
            return
        self._mode_applied = mode
        # setWindowFlags re-creates the native window, which forgets its size and place: keep them
        visible = self.isVisible()
        geometry = self.saveGeometry() if visible else None
        self.setWindowFlags(flags)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, mode == "type")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if visible:
            self.show()
            if mode == "copy":  # back to a window that takes keys: take them now, not at the next click
                self.activateWindow()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # the typer refuses to type while the pad itself has the focus (the keys would be lost); the native window
        # is new after every mode change, so it is told again each time the pad is shown
        own = getattr(self.deliverer, "set_own_windows", None)
        if own is not None and QGuiApplication.platformName() == "xcb":
            own({int(self.winId())})

    # --- keys, status, settings, closing ----------------------------------------------------------------
    def send_best(self) -> None:
        """Space and *Send 1st*: send what the bar shows as the default (its highlighted first cell), or say why
        nothing goes out."""
        if not self.bar.candidates:
            self.show_status(self.tr("Nothing to send yet: write a character first."))
            return
        self.bar.pick(0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, text = event.key(), event.text()
        if text and text in KEY_LABELS:
            self.bar.pick(KEY_LABELS.index(text))
        elif key == Qt.Key.Key_Space:
            self.send_best()
        elif key == Qt.Key.Key_Backspace:
            self.undo()
        elif key == Qt.Key.Key_Escape:
            self.clear()
        else:
            super().keyPressEvent(event)

    _status_lasting = False  # the status is a failure a new drawing must not replace (a value, not the text shown)

    def show_status(self, text: str, warn: bool = False, lasting: bool = False) -> None:
        """The status line shows the latest event; a warning also stays in the warning bar until dismissed;
        ``lasting``: a failure that stays on the status line when the writer starts a new drawing."""
        self._status_lasting = lasting
        self.status.setText(text)
        dark = is_dark(self.palette())
        self.status.setStyleSheet(("color: #ff8a80" if dark else "color: #a33") if warn else
                                  f"color: {self.palette().color(QPalette.ColorRole.WindowText).name()}")
        if warn:
            self.warnings.add(text)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self, learned=self.learned_count)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog)

    def apply_settings(self, dialog: "SettingsDialog") -> None:
        """Take the dialog's values; the window keeps its size and place, the model reloads only when it changed."""
        old_model = (self.settings.model_path, self.settings.device)
        dialog.apply(self.settings)
        self.canvas.set_pen_width(self.settings.pen_width)
        self._size_bar()
        self.bar.set_reading(self._reading if self.settings.show_pinyin else None)
        self.worker.top = self.settings.candidate_count
        self._apply_options()
        if dialog.forget_requested:
            self.worker.forget()
            self.learned_count = 0
        self._apply_mode()
        if (self.settings.model_path, self.settings.device) != old_model:
            self.model_ready = False
            self.show_status(self.tr("Loading the model…"))
            self.worker.load_model(self.settings.model_path, self.settings.device)
        elif not self.canvas.ink.is_empty:  # the settings take effect at once: what is written is read again
            self.request_recognition(self.canvas.ink)
        elif self.showing == "suggestions":
            self._offer_continuations()  # in the new script, or gone when continuations were turned off
        self.save()

    def save(self) -> None:
        self.settings.geometry = bytes(self.saveGeometry().toBase64()).decode()
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as exc:
            self.show_status(self.tr("Could not save settings ({0}); they apply until the pad closes.").format(exc),
                             warn=True, lasting=True)

    def shutdown(self) -> None:
        self._thread.stop()
        self.deliverer.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save()
        self.shutdown()
        clipboard = QGuiApplication.clipboard()
        if self._copied and QGuiApplication.platformName() == "xcb" and clipboard.text() == self._copied:
            note = keep_clipboard_after_exit(self._copied)
            if note:
                print(f"hwime: {note}")
        super().closeEvent(event)
        self.closed.emit()


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None, learned: int = 0):
        super().__init__(parent)
        self.forget_requested = False
        self.setWindowTitle(self.tr("hwime settings"))
        form = QFormLayout(self)
        self.mode = QComboBox()  # the words shown are translated, the values stored are the settings'
        for code, name in (("copy", self.tr("copy to the clipboard")), ("type", self.tr("type into the focused window"))):
            self.mode.addItem(name, code)
        self.mode.setCurrentIndex(max(0, self.mode.findData(settings.output_mode)))
        self.count = QSpinBox()
        self.count.setRange(1, 20)
        self.count.setValue(settings.candidate_count)
        self.pen = QDoubleSpinBox()
        self.pen.setRange(1, 40)
        self.pen.setValue(settings.pen_width)
        self.device = QComboBox()
        for code, name in (("auto", self.tr("auto (the GPU when there is one)")), ("cpu", self.tr("the CPU")),
                           ("cuda", self.tr("the GPU (CUDA)"))):
            self.device.addItem(name, code)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.model = QLineEdit(settings.model_path)
        self.model.setPlaceholderText(self.tr("the bundled model"))
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model)
        model_row.addWidget(browse)
        form.addRow(self.tr("Output (copy to clipboard / type into the focused window)"), self.mode)
        form.addRow(self.tr("Candidates shown"), self.count)
        form.addRow(self.tr("Pen width (pixels)"), self.pen)
        form.addRow(self.tr("Run the model on"), self.device)
        form.addRow(self.tr("Model bundle"), model_row)
        self.prior = QCheckBox(self.tr("Rank common characters first"))
        self.prior.setChecked(settings.use_prior)
        self.context = QCheckBox(self.tr("Rank by the characters sent just before"))
        self.context.setChecked(settings.use_context)
        self.pinyin = QCheckBox(self.tr("Show pinyin under the candidates"))
        self.pinyin.setChecked(settings.show_pinyin)
        self.suggest = QCheckBox(self.tr("Offer continuations (associated words) after a pick"))
        self.suggest.setChecked(settings.suggest)
        self.learn = QCheckBox(self.tr("Learn my handwriting from my picks (kept on this computer)"))
        self.learn.setChecked(settings.learn)
        self.script = QComboBox()
        for code, name in (("auto", self.tr("as the system")), ("simplified", "简体"), ("traditional", "繁體"),
                           ("both", self.tr("both (简/繁, kana and symbols too)"))):
            self.script.addItem(name, code)
        self.script.setCurrentIndex(max(0, self.script.findData(settings.script)))
        self.face = QComboBox()
        self.face.addItem(self.tr("automatic (a clear face of the script)"), "")
        for family in sorted(set(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))
                             | set(QFontDatabase.families(QFontDatabase.WritingSystem.TraditionalChinese))):
            self.face.addItem(family, family)
        self.face.setCurrentIndex(max(0, self.face.findData(settings.candidate_font)))
        self.language = QComboBox()
        for code, name in (("auto", self.tr("as the system")), ("en", "English"), ("zh", "简体中文"),
                           ("zh_TW", "繁體中文")):
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        for box in (self.prior, self.context, self.pinyin, self.suggest, self.learn):
            form.addRow(box)
        form.addRow(self.tr("Script I write"), self.script)
        form.addRow(self.tr("Candidates' font"), self.face)
        form.addRow(self.tr("Language of the pad (from its next start)"), self.language)
        self.forget = QPushButton(self.tr("Forget what was learned ({0} samples)").format(learned))
        self.forget.setEnabled(learned > 0)
        self.forget.clicked.connect(self._forget)
        form.addRow(self.forget)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        form.addRow(box)

    def _forget(self) -> None:
        self.forget_requested = True
        self.forget.setText(self.tr("Forgotten when you press OK"))
        self.forget.setEnabled(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Model bundle"), "", self.tr("hwime model (*.pt)"))
        if path:
            self.model.setText(path)

    def apply(self, settings: Settings) -> None:
        settings.output_mode = self.mode.currentData()
        settings.candidate_count = self.count.value()
        settings.pen_width = self.pen.value()
        settings.device = self.device.currentData()
        settings.model_path = self.model.text().strip()
        settings.use_prior = self.prior.isChecked()
        settings.use_context = self.context.isChecked()
        settings.show_pinyin = self.pinyin.isChecked()
        settings.suggest = self.suggest.isChecked()
        settings.learn = self.learn.isChecked()
        settings.language = self.language.currentData()
        settings.script = self.script.currentData()
        settings.candidate_font = self.face.currentData()
