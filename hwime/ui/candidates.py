"""CandidateBar: the ranked candidates as no-focus buttons, best first and highlighted, score on hover."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QWidget

KEY_LABELS = "1234567890"


class CandidateBar(QWidget):
    picked = Signal(str)
    shown = Signal()  # emitted after candidates are put on screen

    def __init__(self, count: int = 10, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(3)
        self.buttons: list[QPushButton] = []
        self.candidates: list = []
        self.set_count(count)

    def set_count(self, count: int) -> None:
        for b in self.buttons:
            b.deleteLater()
        self.buttons = []
        font = QFont()
        font.setPointSize(18)
        for i in range(count):
            b = QPushButton("")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicking must not take focus from the target app
            b.setFont(font)
            b.setMinimumSize(40, 46)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setFlat(True)
            b.clicked.connect(lambda _=False, i=i: self.pick(i))
            self._layout.addWidget(b)
            self.buttons.append(b)
        self.set_candidates(self.candidates[:count])

    def set_candidates(self, candidates: list) -> None:
        self.candidates = list(candidates[: len(self.buttons)])
        for i, b in enumerate(self.buttons):
            if i < len(self.candidates):
                c = self.candidates[i]
                b.setText(c.char)
                b.setToolTip(f"{KEY_LABELS[i] if i < 10 else ''}  {c.char}  U+{ord(c.char):04X}  score {c.score:.1%}")
                b.setEnabled(True)
                b.setStyleSheet("QPushButton { background: #cfe3ff; border-radius: 5px; font-weight: bold; }" if i == 0
                                else "QPushButton { border-radius: 5px; } QPushButton:hover { background: #eef3fa; }")
            else:
                b.setText("")
                b.setToolTip("")
                b.setEnabled(False)
                b.setStyleSheet("")
        self.shown.emit()

    def pick(self, index: int) -> bool:
        if 0 <= index < len(self.candidates):
            self.picked.emit(self.candidates[index].char)
            return True
        return False
