"""Type mode's keys: Backspace, Space, Enter and Chinese punctuation as buttons. A type-mode pad never takes the
keyboard focus (its keys would not reach the application), so a writer with no keyboard at hand needs them here.
They are there in copy mode too, where a mark is copied as a candidate is and the keyboard's own keys stand for
⌫ ␣ ↵: a row that came and went with the mode would move the box under the pen."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QWidget

# full-width marks, as a Chinese keyboard layout types them: 省略号 and 破折号 are two characters long
PUNCTUATION = ("，", "。", "、", "；", "：", "？", "！", "「", "」", "『", "』", "（", "）", "《", "》", "……", "——", "·")
ROW = 11  # buttons a row: two rows fit the window's least width


class TypingKeys(QWidget):
    """⌫ ␣ ↵ and the punctuation marks; ``keyPressed(name)`` for a key (hwime.output.KEYS), ``textTyped(text)``
    for a space or a mark."""

    keyPressed = Signal(str)
    textTyped = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        self.buttons: list[QPushButton] = []
        keys = [("⌫", self.tr("Backspace: erase the character before the cursor"), lambda: self.keyPressed.emit("BackSpace")),
                ("␣", self.tr("Space"), lambda: self.textTyped.emit(" ")),
                ("↵", self.tr("Enter"), lambda: self.keyPressed.emit("Return"))]
        self.typing_only: list[QPushButton] = []  # ⌫ ␣ ↵: in copy mode the keyboard's keys are the pad's
        keys += [(mark, mark, lambda _=False, mark=mark: self.textTyped.emit(mark)) for mark in PUNCTUATION]
        for i, (label, tip, act) in enumerate(keys):
            b = QPushButton(label)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setToolTip(tip)
            b.setFixedHeight(30)
            b.setMinimumWidth(0)
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # the row asks for no width
            b.clicked.connect(act)
            grid.addWidget(b, i // ROW, i % ROW)
            self.buttons.append(b)
            if i < 3:
                self.typing_only.append(b)

    def set_typing(self, typing: bool) -> None:
        """Type mode (every key works) or copy mode (the marks are copied; ⌫ ␣ ↵ are the keyboard's)."""
        for b in self.typing_only:
            b.setEnabled(typing)

    def button(self, label: str) -> QPushButton:
        return next(b for b in self.buttons if b.text() == label)
