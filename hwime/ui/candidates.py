"""CandidateBar: ranked choices as no-focus buttons, ten to a row, each showing its key number.

A choice is anything with ``char`` and ``score`` (a recognized Candidate, or a continuation: a word after a pick);
``reading`` (pinyin), when the pad passes a function for it, is shown under the character.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

KEY_LABELS = "1234567890"
PER_ROW = 10  # 20 candidates make two rows, never a window wider than the screen


class CandidateButton(QPushButton):
    """A flat button: the key number in a corner, the character large, its reading small beneath."""

    def __init__(self, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicking must not take focus from the target app
        self.setMinimumSize(40, 54)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFlat(True)
        self.key = QLabel(KEY_LABELS[index] if index < len(KEY_LABELS) else "", self)
        self.key.setStyleSheet("color: #8a8a8a; font-size: 9px; background: transparent;")
        self.key.move(3, 1)
        self.glyph = QLabel("")
        big = QFont()
        big.setPointSize(18)
        self.glyph.setFont(big)
        self.reading = QLabel("")
        self.reading.setStyleSheet("color: #666; font-size: 9px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 4, 2, 1)
        layout.setSpacing(0)
        for label in (self.glyph, self.reading):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(label)
        for label in (self.key, self.glyph, self.reading):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def text(self) -> str:  # what the button offers, for code and tests that read it like a plain button
        return self._text

    _text = ""

    def show_choice(self, text: str, reading: str) -> None:
        self._text = text
        # a word from the continuations gets a smaller face so it fits the button, and is elided past four characters
        font = self.glyph.font()
        font.setPointSize({0: 18, 1: 18, 2: 14, 3: 11}.get(len(text), 9))
        self.glyph.setFont(font)
        self.glyph.setText(text if len(text) <= 4 else text[:3] + "…")
        first = reading.split("/")[0]  # the first reading fits under the glyph; the tooltip has them all
        self.reading.setText(first)
        self.reading.setVisible(bool(first))


class CandidateBar(QWidget):
    picked = Signal(int)  # index of the chosen entry in ``candidates``
    shown = Signal()  # emitted after candidates are put on screen

    def __init__(self, count: int = 10, parent: QWidget | None = None,
                 reading: Callable[[str], str] | None = None):
        super().__init__(parent)
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(3)
        self.buttons: list[CandidateButton] = []
        self.candidates: list = []
        self.reading = reading
        self.set_count(count)

    def set_count(self, count: int) -> None:
        for b in self.buttons:
            self._layout.removeWidget(b)
            b.deleteLater()
        self.buttons = []
        for i in range(count):
            b = CandidateButton(i)
            b.clicked.connect(lambda _=False, i=i: self.pick(i))
            self._layout.addWidget(b, i // PER_ROW, i % PER_ROW)
            self.buttons.append(b)
        self.set_candidates(self.candidates[:count])

    def set_reading(self, reading: Callable[[str], str] | None) -> None:
        self.reading = reading
        self.set_candidates(self.candidates)

    def set_candidates(self, candidates: list) -> None:
        self.candidates = list(candidates[: len(self.buttons)])
        for i, b in enumerate(self.buttons):
            if i < len(self.candidates):
                c = self.candidates[i]
                single = len(c.char) == 1
                reading = self.reading(c.char) if self.reading and single else ""
                b.show_choice(c.char, reading)
                code = "  ".join(f"U+{ord(ch):04X}" for ch in c.char)
                b.setToolTip(f"{KEY_LABELS[i] if i < 10 else ''}  {c.char}  {reading}  {code}  score {c.score:.1%}")
                b.setEnabled(True)
                b.setStyleSheet("QPushButton { background: #cfe3ff; border-radius: 5px; font-weight: bold; }" if i == 0
                                else "QPushButton { border-radius: 5px; } QPushButton:hover { background: #eef3fa; }")
            else:
                b.show_choice("", "")
                b.setToolTip("")
                b.setEnabled(False)
                b.setStyleSheet("")
        self.shown.emit()

    def pick(self, index: int) -> bool:
        if 0 <= index < len(self.candidates):
            self.picked.emit(index)
            return True
        return False
