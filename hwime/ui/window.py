"""PadWindow: canvas, candidates, recent characters and a status line. It paints the writing session
(hwime.session: it is the session's view) and forwards the writer's acts and the worker's answers to it; what it
sends goes out through the output."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QRect, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QAction, QCloseEvent, QFont, QFontDatabase, QGuiApplication, QKeyEvent, QPalette,
                           QTextLayout, QTextOption)
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QSpinBox,
                               QVBoxLayout, QWidget)

from ..ink import Ink
from ..output import Deliverer, TakeBack, keep_clipboard_after_exit
from ..session import (Choice, JobFailure, LineString, ModelInfo, ModelNote, Notice, NoteKind, SessionOptions,
                       WritingMode, WritingSession)
from ..settings import PAUSE_CHOICES, Settings, save_settings
from .candidates import KEY_LABELS, CandidateBar, LineCells, candidate_font_family
from .canvas import WritingCanvas
from .i18n import is_dark
from .keys import TypingKeys
from .worker import LINE_CANDIDATES, RecognitionWorker, WorkerThread

RECENT_SHOWN = 12


def _tool_button(text: str, tip: str) -> QPushButton:
    b = QPushButton(text)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setToolTip(tip)
    return b


class AspectBox(QWidget):
    """Holds the canvas as the largest centred rectangle of its aspect that fits: the writing box is one character
    (a square) or one line (LINE_ASPECT : 1), whatever the window."""

    def __init__(self, child: WritingCanvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())

    def sizeHint(self) -> QSize:
        return self.child.sizeHint()

    def relayout(self) -> None:
        aspect = self.child.aspect
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
    """Warnings that stay until the user dismisses them (a corrupt settings file, a read-only config folder…).
    ``around_change(change)`` runs each change of what it shows (it appears, grows, goes): the window keeps the
    writing box in place around it."""

    def __init__(self, parent: QWidget | None = None,
                 around_change: Callable[[Callable[[], None]], None] = lambda change: change()):
        super().__init__(parent)
        self._around_change = around_change
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

        def change() -> None:
            self.text.setText("\n".join(self.messages))
            self.show()
        self._around_change(change)

    def dismiss(self) -> None:
        self.messages = []

        def change() -> None:
            self.text.setText("")
            self.hide()
        self._around_change(change)


class PadWindow(QWidget):
    """The pad's window: the writing session's view (hwime.session.SessionView) and its front end."""

    delivered = Signal(object)  # Delivery
    closed = Signal()  # the app quits on it: a type-mode tool window does not count as a last window

    def __init__(self, settings: Settings, settings_path: Path | None = None, worker: RecognitionWorker | None = None,
                 deliverer: Deliverer | None = None, warnings: list[str] = (), profile_dir: Path | None = None):
        """``profile_dir``: where what the pad learns from its writer is kept (None: in memory, for this run only)."""
        super().__init__()
        # each character learned from the writer and its samples kept (the Recent row, built below, shows it)
        self.learned_chars: dict[str, int] = {}
        self.settings = settings
        self.settings_path = settings_path
        self.setWindowTitle(self.tr("hwime — handwriting"))
        self.canvas = WritingCanvas(settings.pen_width)
        self.bar = CandidateBar(settings.candidate_count, reading=self._reading if settings.show_pinyin else None)
        self.bar.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.warnings = WarningBar(around_change=self._keeping_the_box)
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
        # Line and Overlap are one choice of three with Character (neither checked): checking one unchecks the other.
        # Named 叠写 in every language (the technique's own name; 疊寫 in traditional Chinese), short, and kept out of
        # the button row, which is as wide as the window's least width already
        self.overlap_button = _tool_button(self.tr("叠写"), self.tr(
            "Overlap: write characters one over another in the square box, read as a string (on), or one character "
            "(off)"))
        self.overlap_button.setCheckable(True)
        self.cells = LineCells()
        self.keys = TypingKeys()  # type mode's Backspace, Space, Enter and punctuation
        self.keys.keyPressed.connect(self._press_key)
        self.keys.textTyped.connect(self._type_apart)
        self._taken_back: TakeBack | None = None  # how Undo's taking back the last pick went (told with DRAWING_BACK)
        self.settings_button = _tool_button(self.tr("Settings…"), self.tr("Output, candidates, pen, model"))
        self.undo_button.clicked.connect(self.undo)
        self.clear_button.clicked.connect(self.clear)
        self.best_button.clicked.connect(self.send_best)
        self.mode_button.clicked.connect(self.toggle_mode)
        self.settings_button.clicked.connect(self.open_settings)

        buttons = QHBoxLayout()
        self.line_button.toggled.connect(self.set_line_mode)
        self.overlap_button.toggled.connect(self.set_overlap_mode)
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
        self.overlap_button.setFixedHeight(30)
        recent_row.addWidget(self.overlap_button)
        layout = QVBoxLayout(self)
        # the buttons and the Recent row above the box: a new shape (Line, 叠写) makes the window lower or taller
        # below them, so a second click lands where the first did (a double-click on Line typed the Recent
        # character that had come under the pointer)
        layout.addLayout(buttons)
        layout.addLayout(recent_row)
        self.canvas_box = AspectBox(self.canvas)
        layout.addWidget(self.canvas_box, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cells)
        layout.addWidget(self.keys)
        layout.addWidget(self.status)
        # warnings come and go at the bottom, the window growing and shrinking by them (_keeping_the_box)
        layout.addWidget(self.warnings)

        self.deliverer = deliverer or Deliverer(QGuiApplication.clipboard().setText, settings.output_mode)
        if worker is None:
            from ..personal import Profile

            worker = RecognitionWorker(settings.candidate_count, profile_factory=lambda: Profile(profile_dir))
        self.worker = worker
        self.worker.top = settings.candidate_count
        self.session = WritingSession(self, self.worker, recent=list(settings.recent),
                                      mode=WritingMode.LINE if settings.line_mode else
                                      WritingMode.OVERLAPPED if settings.overlap_mode else WritingMode.CHARACTER)
        self._glyph_family: str | None = None  # the face the window's Chinese text is in (_apply_options)
        self._apply_options()
        self._thread = WorkerThread(self.worker)
        self._copied = ""  # the last character this pad put on the clipboard
        self.learned_count = 0
        self.worker.candidatesReady.connect(self._on_candidates)
        self.worker.suggestionsReady.connect(self._on_suggestions)
        self.worker.learned.connect(self._on_learned)
        self.worker.learnedChars.connect(self._on_learned_chars)
        self.worker.notice.connect(self.warnings.add)
        self.worker.recognitionFailed.connect(self._on_failed)
        self.worker.jobFailed.connect(self._on_job_failed)
        self.worker.modelLoaded.connect(self._on_model_loaded)
        self.worker.modelFailed.connect(self._on_model_failed)
        # Send after a pause: the clock runs from a pen-up whose candidates are on the bar until it sends them; any
        # other act of the writer's (a stroke, Undo, Clear, a pick, a cell, a mode, the settings) stops it
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.timeout.connect(self._on_pause)
        self._pause_armed = False  # a stroke ended and its candidates are still awaited: they start the clock
        self.canvas.penDown.connect(self._on_pen_down)
        self.canvas.inkChanged.connect(self._on_ink)
        self.canvas.undoRequested.connect(self.undo)
        self.canvas.inkGrowing.connect(self._on_ink)
        self.bar.picked.connect(self._on_pick)
        self.cells.cellClicked.connect(self._on_cell)

        self._left_at: dict[bool, tuple[int, int]] = {}  # per shape (wide or not): the window's size when it was left
        # the size and place are saved as they change (a logout ends the pad with no close event), once the
        # writer has stopped dragging
        self._geometry_saver = QTimer(self)
        self._geometry_saver.setSingleShot(True)
        self._geometry_saver.setInterval(500)
        self._geometry_saver.timeout.connect(self._save_geometry)
        self._mode_applied: str | None = None
        self._apply_mode()
        # the saved place and size first, and the Line button set without its signal: set_line_mode saves the
        # settings, which at this point would overwrite the saved geometry with the unplaced window's
        if settings.geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.geometry.encode()))
        with QSignalBlocker(self.line_button), QSignalBlocker(self.overlap_button):
            self.line_button.setChecked(self.session.mode is WritingMode.LINE)
            self.overlap_button.setChecked(self.session.mode is WritingMode.OVERLAPPED)
        self.session.follow_mode()
        self._refresh_recent()
        for w in warnings:
            self.warnings.add(w)
        self.show_status(self.tr("Loading the model…"))
        self.worker.load_model(settings.model_path, settings.device)

    # --- forwarded to the session ------------------------------------------------------------------------------
    @property
    def model_ready(self) -> bool:
        return self.session.model_ready

    def set_line_mode(self, on: bool) -> None:
        """The Line button (see WritingSession.choose_mode): saved with the window's size as the new shape made it."""
        self._set_string_mode(WritingMode.LINE, on)

    def set_overlap_mode(self, on: bool) -> None:
        """The Overlap button (叠写): characters one over another in the square box; Line goes off with it."""
        self._set_string_mode(WritingMode.OVERLAPPED, on)

    def _set_string_mode(self, mode: WritingMode, on: bool) -> None:
        """Line and Overlap are one choice of three with Character: turning one on turns the other's button off."""
        self._cancel_pause()
        line = mode is WritingMode.LINE
        if on:  # the other goes off, its button too (without its own toggle running)
            self.settings.line_mode, self.settings.overlap_mode = line, not line
            other = self.overlap_button if line else self.line_button
            with QSignalBlocker(other):
                other.setChecked(False)
        elif line:
            self.settings.line_mode = False
        else:
            self.settings.overlap_mode = False
        if self.session.choose_mode(mode if on else WritingMode.CHARACTER):
            self.save()

    def send_best(self) -> None:
        """Space and *Send 1st*: send what the bar shows as the default (its highlighted first cell), or say why
        nothing goes out."""
        self._cancel_pause()
        self.session.send_best()

    def deliver(self, text: str, clear: bool = True) -> None:
        """Send ``text`` (a character, or a word from the continuations); ``clear=False`` (a Recent re-send)
        keeps the ink being written."""
        self._cancel_pause()
        self.session.send(text, clear)

    def clear(self) -> None:
        self._cancel_pause()
        self.session.clear()

    def undo(self) -> None:
        # the writer is correcting: no pause sends what is left (nor the drawing an Undo after a send brings back)
        self._cancel_pause()
        self.session.undo()

    def _press_key(self, key: str) -> None:
        """Type mode's ⌫ and ↵: pressed where typing goes."""
        self._cancel_pause()
        name = self.tr("Backspace") if key == "BackSpace" else self.tr("Enter")
        result = self.deliverer.press(key)
        if result.note:
            self.show_status(self.tr("{0} not pressed: {1}").format(name, result.note), warn=True)
            return
        self.session.typed_apart("\n" if key == "Return" else "", erased=1 if key == "BackSpace" else 0)
        self.show_status(self.tr("{0} pressed").format(name))

    def _type_apart(self, text: str) -> None:
        """The space and punctuation keys: typed (or copied, and said why) beside the picks; copied in copy mode."""
        self._cancel_pause()
        self.put_out(text)
        self.session.typed_apart(text)

    def _on_pick(self, index: int) -> None:
        self._cancel_pause()
        self.session.pick(index)

    def _on_cell(self, position: int) -> None:
        self._cancel_pause()  # the writer is fixing a character: the string waits for their pick
        self.session.show_alternatives(position)

    def _on_ink(self, ink: Ink) -> None:
        self.session.ink_changed(ink)

    def _on_candidates(self, request_id: int, candidates: list) -> None:
        self.session.candidates_ready(request_id, candidates)
        self._start_pause()

    # --- send after a pause -------------------------------------------------------------------------------------
    def _on_pen_down(self) -> None:
        """A stroke begins: the pen is not resting; this stroke's pen-up may start the clock again."""
        self._pause.stop()
        self._pause_armed = True

    def _cancel_pause(self) -> None:
        self._pause.stop()
        self._pause_armed = False

    def _start_pause(self) -> None:
        """The candidates for the ink just finished are on the bar: the pen's rest is timed from now (candidates for
        a stroke still being drawn, or an answer to older ink, start nothing)."""
        seconds = self.settings.send_after_pause
        if seconds and self._pause_armed and not self.canvas.drawing and self.session.can_send_on_pause():
            self._pause_armed = False
            self._pause.start(round(seconds * 1000))

    def _on_pause(self) -> None:
        """The pen rested long enough: send the best as a pick would (Undo right after takes it back)."""
        if not self.canvas.drawing:
            self.session.send_on_pause()

    def _on_suggestions(self, request_id: int, suggestions: list) -> None:
        self.session.suggestions_ready(request_id, suggestions)

    def _on_learned(self, count: int) -> None:
        self.learned_count = count

    def _on_learned_chars(self, chars: dict) -> None:
        self.learned_chars = dict(chars)
        self._refresh_recent()  # a Recent character offers to forget what was learned of it only while there is some

    def forget_learned(self, char: str) -> None:
        """Forget what the pad learned of ``char`` alone (a Recent character's menu)."""
        self._cancel_pause()
        self.session.forget_learned([char])

    def _on_failed(self, request_id: int, message: str) -> None:
        if self.session.is_current(request_id):
            self.show_status(self.tr("Recognition failed: {0}. Keep writing or clear to try again.").format(message),
                             warn=True, lasting=True)

    def _on_job_failed(self, failure: JobFailure) -> None:
        self.show_status(self.tr("Not done: {0}").format(failure.message), warn=True, lasting=True)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.session.model_ready = True
        where = {"cpu": self.tr("the CPU"), "cuda": self.tr("the GPU (CUDA)")}.get(info.device, info.device)
        description = self.tr("{0} characters on {1}").format(info.classes, where)
        if info.file:
            description += f" ({info.file})"
        notes = [self._note(n) for n in info.notes]
        self.show_status(self.tr("Ready — {0}.").format(" — ".join([description] + notes)) + " " + self.ready_text())
        if not self.canvas.ink.is_empty:
            self.session.ink_changed(self.canvas.ink)

    def _note(self, note: ModelNote) -> str:
        """A note on the model in the pad's language."""
        if note.kind is NoteKind.NO_CUDA:
            return self.tr("CUDA is not available here; running on the CPU")
        if note.kind is NoteKind.SAMPLES_UNKNOWN:
            return self.tr("{0} learned samples are of characters this model lacks").format(note.count)
        return note.text

    def _on_model_failed(self, message: str) -> None:
        self.session.model_ready = False
        self.show_status(self.tr("No recognizer: {0}").format(message), warn=True)

    # --- the session's view (hwime.session.SessionView) ------------------------------------------------------------
    @property
    def ink(self) -> Ink:
        return self.canvas.ink

    def shown(self) -> list:
        return self.bar.candidates

    def show_choices(self, choices: Sequence[Choice]) -> None:
        self.bar.set_candidates(choices)

    def show_strings(self, strings: Sequence[LineString], fixed: frozenset[int]) -> None:
        self._size_bar()
        self.bar.set_candidates(strings)
        self.cells.show_text(strings[0].text if strings else "", fixed)
        # overlapped: the strokes before the character being written (the best string's last span) fade
        overlapped = self.session.shape is WritingMode.OVERLAPPED and strings and strings[0].spans
        self.canvas.set_faded(strings[0].spans[-1][0] if overlapped else 0)

    def show_alternatives(self, position: int, best: LineString, fixed: frozenset[int]) -> None:
        # a character's alternatives, as many as the box offers, in as many rows as the strings had: the line box
        # stays where the writer was looking
        count = self.settings.candidate_count
        rows = self.bar.rows
        self.bar.set_count(count, per_row=max(1, -(-count // rows)))
        self.bar.set_candidates(list(best.chars[position]))
        self.cells.show_text(best.text, fixed, selected=position)

    def clear_line(self) -> None:
        self.cells.show_text("")
        self.canvas.set_faded(0)

    def reshape(self, previous: WritingMode, mode: WritingMode, carry_ink: bool) -> None:
        """The canvas in the mode's shape (a wide line, or the square box), the bar and the cells with it; a carried
        character is scaled into the line's first cell."""
        side, ink = self.canvas.height(), self.canvas.ink
        wide = self._wide(mode)
        if wide != self._wide(previous):
            self._left_at[self._wide(previous)] = (self.width(), self.height())
        self.canvas.set_line_mode(wide)
        self.canvas_box.setMinimumSize(self.canvas.minimumSize())  # a line may be lower than the square's least
        self.canvas_box.relayout()
        self._size_bar()
        self.cells.show_text("")
        self.canvas.set_faded(0)
        self.cells.setVisible(mode.reads_strings)
        self._fit_height()
        if carry_ink:
            self.canvas.set_ink(ink.scaled(self.canvas.height() / max(1, side)))

    def show_ink(self, ink: Ink) -> None:
        self.canvas.set_ink(ink)

    def clear_ink(self) -> None:
        self.canvas.clear()

    def undo_stroke(self) -> None:
        self.canvas.undo()

    def put_out(self, text: str) -> None:
        result = self.deliverer.deliver(text)
        if result.method == "clipboard":
            self._copied = text
        done = self.tr("{0} typed") if result.method != "clipboard" else self.tr("{0} copied to the clipboard")
        self.show_status(done.format(text) + (f" — {result.note}" if result.note else ""), warn=bool(result.note))
        self.delivered.emit(result)

    def take_back(self, text: str) -> None:
        self._taken_back = self.deliverer.take_back(text)

    def show_recent(self, recent: Sequence[str]) -> None:
        self.settings.recent = list(recent)
        self._refresh_recent()
        self.save()  # on every change: a logout (SIGTERM) must not lose it

    def tell(self, notice: Notice, *args: object) -> None:
        match notice:
            case Notice.NEW_DRAWING:
                if not self._status_lasting:  # a failure stays until the writer clears
                    self.show_status(self.ready_text())
            case Notice.READY:
                self.show_status(self.ready_text())
            case Notice.NOTHING_TO_SEND:
                self.show_status(self.tr("Nothing to send yet: write a character first."))
            case Notice.MODE_CHOSEN:
                self.show_status(self.tr("Line: write a phrase, then pick the whole string; click a character below to "
                                         "fix it.") if args[0] is WritingMode.LINE else
                                 self.tr("Overlap: write each character over the last, then pick the whole string; "
                                         "click a character below to fix it.") if args[0] is WritingMode.OVERLAPPED else
                                 self.tr("Write one character in the box."))
            case Notice.CHARACTER_CARRIED:
                self.show_status(self.tr("Overlap: the character is the string's first; write the next over it.")
                                 if args[0] is WritingMode.OVERLAPPED else
                                 self.tr("Line: the character is the line's first; write the rest after it."))
            case Notice.STRING_KEPT:
                self.show_status(self.tr("The characters stay written over each other: pick their string or Clear; "
                                         "then the new mode comes.") if args[0] is WritingMode.OVERLAPPED else
                                 self.tr("The phrase stays a line: pick its string or Clear; then the box comes."))
            case Notice.DRAWING_BACK:
                taken, self._taken_back = self._taken_back, None
                if taken is not None and taken.erased:
                    self.show_status(self.tr("The last drawing is back and {0} was erased where it was typed: pick "
                                             "the right candidate.").format(taken.text))
                elif taken is not None and taken.why:
                    self.show_status(self.tr("The last drawing is back, but {0} stays where it was typed ({1}); ⌫ "
                                             "erases it.").format(taken.text, taken.why))
                else:
                    self.show_status(self.tr("The last drawing is back: pick the right candidate (the wrong one was "
                                             "already sent)."))
            case Notice.PICK_FOR_POSITION:
                self.show_status(self.tr("Pick what character {0} should be.").format(args[0] + 1))
            case Notice.LEARNED_FORGOTTEN:
                self.show_status(self.tr("Forgot what was learned of {0}; everything else learned stays.").format(
                    args[0]))
            case Notice.POSITION_FIXED:
                self.show_status(self.tr("Character {0} is now {1}; pick the string to send it.").format(args[0] + 1,
                                                                                                        args[1]))

    # --- the writing box's shape -------------------------------------------------------------------------------
    @staticmethod
    def _wide(mode: WritingMode) -> bool:
        """Whether the mode writes along the wide line (else in the square box)."""
        return mode is WritingMode.LINE

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
        wide = self._wide(self.session.shape)
        before = self._left_at.get(wide)
        if not wide and before and before[0] == self.width():
            wanted = before[1]  # back to the square at the width it was left at: as tall as it was then
        self.resize(self.width(), max(self.minimumSizeHint().height(), min(wanted, room)))

    def _keeping_the_box(self, change: Callable[[], None]) -> None:
        """Run ``change`` (a row below the box appears, grows or goes) with the window growing or shrinking by the
        height it takes, so the writing box keeps its size and place under the pen; only past the screen's bottom
        does the box give up height. A maximized or hidden window is left as it is."""
        if not self.isVisible() or self.windowState() & (Qt.WindowState.WindowMaximized |
                                                         Qt.WindowState.WindowFullScreen):
            change()
            return
        before = self.canvas_box.height()
        change()
        frame = self.frameGeometry()
        room = self.screen().availableGeometry().bottom() + 1 - frame.top() - (frame.height() - self.height())
        for _ in range(3):  # a box at its least height gives up less than the row takes: measured again
            self.layout().activate()
            height = min(self.height() + before - self.canvas_box.height(), max(room, self.height()))
            if height == self.height():
                break
            self.resize(self.width(), height)

    def _size_bar(self) -> None:
        """The candidate bar for the mode: whole strings in a few wide cells, or the characters the settings ask."""
        if self.session.shape.reads_strings:
            self.bar.set_count(LINE_CANDIDATES, per_row=2)
        else:
            self.bar.set_count(self.settings.candidate_count)

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
        if family != self._glyph_family:
            self._glyph_family = family
            # the window's own text (status, notices, buttons) keeps the system's face for Latin and takes the
            # candidates' for Chinese, instead of whatever face fontconfig falls back to (a brush face, once installed)
            font = QFont(QGuiApplication.font())
            if family:
                font.setFamilies([QGuiApplication.font().family(), family])
            self.setFont(font)
            for label in self.findChildren(QLabel):  # a style sheet (the status's colour) stops the propagation
                label.setFont(font)
            self._refresh_recent()
        self.worker.use_prior = self.settings.use_prior
        self.worker.learn_enabled = self.settings.learn
        self.session.options = SessionOptions(use_context=self.settings.use_context, suggest=self.settings.suggest,
                                              learn=self.settings.learn, suggestions=self.settings.candidate_count)

    def ready_text(self) -> str:
        copy = self.settings.output_mode == "copy"  # a no-focus pad (type mode) gets no keys
        if self.session.shape is WritingMode.LINE:
            return self.tr("Write a phrase in the line; click a string or press 1–{0}, Space.").format(LINE_CANDIDATES) \
                if copy else \
                self.tr("Write a phrase in the line; click a string.")
        if self.session.shape is WritingMode.OVERLAPPED:
            return self.tr("Write characters one over another; click a string or press 1–{0}, Space.").format(
                LINE_CANDIDATES) if copy else self.tr("Write characters one over another; click a string.")
        return self.tr("Write a character; click a candidate or press 1–9, 0, Space.") if copy else \
            self.tr("Write a character; click a candidate.")

    def _refresh_recent(self) -> None:
        for b in self._recent_buttons:
            # out of the row now, not at the next turn of the event loop: until then the row would hold the old
            # buttons and the new ones, and a window placed meanwhile (at start) is made that much wider
            self.recent.removeWidget(b)
            b.hide()
            b.deleteLater()
        self._recent_buttons = []
        for ch in self.session.recent[:RECENT_SHOWN]:
            b = _tool_button(ch, self.tr("{0} again").format(ch))
            b.setFlat(True)
            b.setFont(QFont(self._glyph_family or b.font().family(), 13))
            b.setFixedSize(30, 30)
            b.clicked.connect(lambda _=False, ch=ch: self.deliver(ch, clear=False))
            # a right click (a long press) offers to forget what was learned of it: one mistaken pick is undone
            # without wiping everything else the writer taught
            b.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            again = QAction(self.tr("Send {0} again").format(ch), b)
            again.triggered.connect(lambda _=False, ch=ch: self.deliver(ch, clear=False))
            forget = QAction(self.tr("Forget what was learned of {0} (samples kept: {1})").format(
                ch, self.learned_chars.get(ch, 0)), b)
            forget.setObjectName("forget")
            forget.setEnabled(self.learned_chars.get(ch, 0) > 0)
            forget.triggered.connect(lambda _=False, ch=ch: self.forget_learned(ch))
            b.addActions([again, forget])
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
        self.keys.set_typing(mode == "type")
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
        # (the client area's own rectangle: restoreGeometry places the frame and moved the window by the frame's
        # margins at each switch, under the pointer that had clicked the Mode button)
        geometry = self.geometry() if visible else None
        self.setWindowFlags(flags)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, mode == "type")
        if geometry is not None:
            self.setGeometry(geometry)
        if visible:
            self.show()
            if mode == "copy":  # back to a window that takes keys: take them now, not at the next click
                self.activateWindow()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._geometry_changed()

    def moveEvent(self, event) -> None:
        super().moveEvent(event)
        self._geometry_changed()

    def _geometry_changed(self) -> None:
        # a hidden window (the saved geometry not yet restored, or an IBus pad put away) has nothing to keep
        if self.isVisible():
            self._geometry_saver.start()

    def _save_geometry(self) -> None:
        if self.isVisible() and not self._unsaved:  # a failed save already said so; a setting's change tries again
            self.save()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # the typer refuses to type while the pad itself has the focus (the keys would be lost); the native window
        # is new after every mode change, so it is told again each time the pad is shown
        if QGuiApplication.platformName() == "xcb":
            self.deliverer.set_own_windows({int(self.winId())})

    # --- keys, status, settings, closing ----------------------------------------------------------------
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
    _unsaved: str | None = None  # why the settings could not be saved, said beside every status until a save works

    def show_status(self, text: str, warn: bool = False, lasting: bool = False) -> None:
        """The status line shows the latest event; a warning also stays in the warning bar until dismissed;
        ``lasting``: a failure that stays on the status line when the writer starts a new drawing. While the
        settings cannot be saved, the status says so beside whatever else it says (a pick's "copied" comes right
        after the save that failed)."""
        self._status_lasting = lasting
        shown = f"{text} — {self._unsaved}" if self._unsaved and not warn else text
        self.status.setText(shown)
        dark = is_dark(self.palette())
        self.status.setStyleSheet(("color: #ff8a80" if dark else "color: #a33") if warn or self._unsaved else
                                  f"color: {self.palette().color(QPalette.ColorRole.WindowText).name()}")
        if warn:
            self.warnings.add(text)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self, learned=self.learned_count, learned_chars=self.learned_chars)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog)

    def apply_settings(self, dialog: "SettingsDialog") -> None:
        """Take the dialog's values; the window keeps its size and place, the model reloads only when it changed."""
        old_model = (self.settings.model_path, self.settings.device)
        self._cancel_pause()
        dialog.apply(self.settings)
        self.canvas.set_pen_width(self.settings.pen_width)
        self._size_bar()
        self.bar.set_reading(self._reading if self.settings.show_pinyin else None)
        self.worker.top = self.settings.candidate_count
        self._apply_options()
        if dialog.forget_requested:
            self.worker.forget()
            self.learned_count = 0
        elif dialog.forget_chars:
            self.session.forget_learned(dialog.forget_chars, read_again=False)  # read again below, once
        self._apply_mode()
        if (self.settings.model_path, self.settings.device) != old_model:
            self.session.model_ready = False
            self.show_status(self.tr("Loading the model…"))
            self.worker.load_model(self.settings.model_path, self.settings.device)
        else:  # the settings take effect at once: what is written is read again
            self.session.read_again()
        self.save()

    def save(self) -> None:
        self.settings.geometry = bytes(self.saveGeometry().toBase64()).decode()
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as exc:
            self._unsaved = self.tr("Could not save settings ({0}); they apply until the pad closes.").format(exc)
            self.show_status(self._unsaved, warn=True, lasting=True)
        else:
            self._unsaved = None

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
    def __init__(self, settings: Settings, parent: QWidget | None = None, learned: int = 0,
                 learned_chars: dict[str, int] | None = None):
        """``learned``: samples learned in all; ``learned_chars``: each character learned and its samples, which
        can be forgotten one character at a time."""
        super().__init__(parent)
        self.forget_requested = False
        self.forget_chars: list[str] = []  # characters whose samples go when OK is pressed
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
        self.pause = QComboBox()  # the words shown are translated, the seconds stored are the settings'
        for seconds in PAUSE_CHOICES:
            self.pause.addItem(self.tr("{0} s").format(f"{seconds:g}") if seconds else self.tr("off"), float(seconds))
        self.pause.setCurrentIndex(max(0, self.pause.findData(float(settings.send_after_pause))))
        self.pause.setToolTip(self.tr("Send the best candidate (or string) when the pen has rested this long, as a "
                                      "pick would; Undo right after takes it back"))
        form.addRow(self.tr("Send after a pause"), self.pause)
        form.addRow(self.tr("Script I write"), self.script)
        form.addRow(self.tr("Candidates' font"), self.face)
        form.addRow(self.tr("Language of the pad (from its next start)"), self.language)
        self.forget = QPushButton(self.tr("Forget what was learned (samples kept: {0})").format(learned))
        self.forget.setEnabled(learned > 0)
        self.forget.clicked.connect(self._forget)
        form.addRow(self.forget)
        # one character's samples (a mistaken pick, a wrong correction) forgotten without the rest
        self.learned_char = QComboBox()
        for ch, n in (learned_chars or {}).items():
            self.learned_char.addItem(self.tr("{0} (samples kept: {1})").format(ch, n), ch)
        self.forget_char = QPushButton(self.tr("Forget this character"))
        self.forget_char.setEnabled(self.learned_char.count() > 0)
        self.forget_char.clicked.connect(self._forget_char)
        self.learned_char.setEnabled(self.learned_char.count() > 0)
        char_row = QHBoxLayout()
        char_row.addWidget(self.learned_char, 1)
        char_row.addWidget(self.forget_char)
        form.addRow(self.tr("Learned characters"), char_row)
        # what will be forgotten, on a line of its own that is there from the start and wraps: the button keeps its
        # words and the dialog its size, so OK stays under the pointer
        self.forgotten_chars = QLabel("")
        self.forgotten_chars.setWordWrap(True)
        self.forgotten_chars.setMinimumHeight(self.forgotten_chars.fontMetrics().height())
        form.addRow("", self.forgotten_chars)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        form.addRow(box)

    def _forget(self) -> None:
        self.forget_requested = True
        self.forget.setText(self.tr("Forgotten when you press OK"))
        self.forget.setEnabled(False)

    def _forget_char(self) -> None:
        index = self.learned_char.currentIndex()
        if index < 0:
            return
        self.forget_chars.append(self.learned_char.itemData(index))
        self.learned_char.removeItem(index)
        self.forgotten_chars.setText(self.tr("Forgotten when you press OK: {0}").format("".join(self.forget_chars)))
        if self.learned_char.count() == 0:
            self.forget_char.setEnabled(False)
            self.learned_char.setEnabled(False)

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
        settings.send_after_pause = self.pause.currentData()
