"""CandidateBar: ranked choices as no-focus buttons, ten to a row, each showing its key number.

A choice is anything with ``char`` and ``score`` (a recognized Candidate, or a continuation: a word after a pick);
``reading`` (pinyin), when the pad passes a function for it, is shown under the character.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QSizePolicy, QWidget

from ..session import Regroup
from .i18n import is_dark

KEY_LABELS = "1234567890"
SIZES = (18, 16, 14, 12, 11, 10)  # the candidates' point sizes, largest first
WORD_PT = 12  # a word (a continuation, a line's string) gets cells enough to read at this size on one line
ROW_HEIGHT = 54
PER_ROW = 10  # 20 candidates make two rows, never a window wider than the screen
BEST_STYLE = "QPushButton { background: #cfe3ff; border-radius: 5px; font-weight: bold; }"
OTHER_STYLE = "QPushButton { border-radius: 5px; } QPushButton:hover { background: #eef3fa; }"
DARK_BEST_STYLE = "QPushButton { background: #2f4f75; border-radius: 5px; font-weight: bold; }"
DARK_OTHER_STYLE = "QPushButton { border-radius: 5px; } QPushButton:hover { background: #3a3f46; }"


def styles(widget: QWidget) -> tuple[str, str]:
    """(best, other) candidate styles for the palette the system gives (light or dark)."""
    return (DARK_BEST_STYLE, DARK_OTHER_STYLE) if is_dark(widget.palette()) else (BEST_STYLE, OTHER_STYLE)


# clear Hei (sans) faces first, then Song/Ming, each in the forms of the script being written: a candidate must look
# like the character the writer means, not like whichever CJK font the system happens to list first (after the
# training fonts are installed that was AR PL UKai, a brush face)
FACES = {
    "simplified": ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Micro Hei",
                   "WenQuanYi Zen Hei", "Noto Serif CJK SC", "Source Han Serif SC", "SimSun"],
    "traditional": ["Noto Sans CJK TC", "Source Han Sans TC", "Microsoft JhengHei", "PingFang TC", "Noto Sans CJK HK",
                    "Noto Serif CJK TC", "Source Han Serif TC", "PMingLiU", "MingLiU"],
}


def candidate_font_family(script: str, families: list[str], chosen: str = "") -> str:
    """The face the candidates are drawn in: the setting's when the system has it, else the first clear face of
    the script (of the other script after that), else "" (Qt's own default)."""
    if chosen and chosen in families:
        return chosen
    order = FACES["traditional"] + FACES["simplified"] if script == "traditional" else \
        FACES["simplified"] + FACES["traditional"]
    return next((f for f in order if f in families), "")


class CandidateButton(QPushButton):
    """A flat button that paints its key number in a corner, the character large and its reading small beneath
    (one widget drawing three texts: the bar repaints ten of these at every pen-up)."""

    def __init__(self, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicking must not take focus from the target app
        self.setMinimumSize(40, ROW_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFlat(True)
        self.key = KEY_LABELS[index] if index < len(KEY_LABELS) else ""
        self.reading = ""
        self._text = ""
        self._style = None
        self._glyph_font = QFont()
        self._small_font = QFont()
        self._small_font.setPixelSize(9)

    def set_family(self, family: str) -> None:
        self._glyph_font = QFont(family) if family else QFont()
        self.update()

    def text(self) -> str:  # what the button offers, for code and tests that read it like a plain button
        return self._text

    def show_choice(self, text: str, reading: str) -> None:
        self._text = text
        self.reading = reading.split("/")[0]  # the first reading fits under the glyph; the tooltip has them all
        self.update()

    def set_style(self, style: str) -> None:
        if style != self._style:  # a style sheet change re-polishes the widget: only on change
            self._style = style
            self.setStyleSheet(style)

    def _glyph_box(self):
        return self.rect().adjusted(2, 2, -2, -12 if self.reading else 0)

    def text_layout(self) -> tuple[int, list[str]]:
        """The point size and the lines the text is drawn in: the largest face that fits the cell (a word in a
        narrow cell, a line in a wide one). The bar gives a word cells enough for one line at WORD_PT or more;
        only a text wider than the whole bar at 10 pt takes two lines, and only then is it elided."""
        width = self._glyph_box().width()
        for size in SIZES:
            self._glyph_font.setPointSize(size)
            if QFontMetrics(self._glyph_font).horizontalAdvance(self._text) <= width:
                return size, [self._text]
        fm = QFontMetrics(self._glyph_font)
        per_line = max(1, int(width // max(1, fm.horizontalAdvance(self._text[:1]))))
        first, rest = self._text[:per_line], self._text[per_line:]
        return SIZES[-1], [first, fm.elidedText(rest, Qt.TextElideMode.ElideRight, width)]

    def needed_width(self, text: str) -> int:
        """How wide a cell must be for ``text`` on one line at WORD_PT."""
        font = QFont(self._glyph_font)
        font.setPointSize(WORD_PT)
        return QFontMetrics(font).horizontalAdvance(text) + 6

    def paintEvent(self, event) -> None:
        super().paintEvent(event)  # background, hover and the best candidate's highlight
        if not self._text:
            return
        p = QPainter(self)
        r = self.rect()
        p.setFont(self._small_font)
        p.setPen(QColor(138, 138, 138))
        p.drawText(r.adjusted(3, 1, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.key)
        glyph_box = self._glyph_box()
        size, lines = self.text_layout()
        self._glyph_font.setPointSize(size)
        p.setFont(self._glyph_font)
        p.setPen(self.palette().buttonText().color())
        p.drawText(glyph_box, Qt.AlignmentFlag.AlignCenter, "\n".join(lines))
        if self.reading:
            p.setFont(self._small_font)
            p.setPen(QColor(102, 102, 102))
            p.drawText(r.adjusted(1, 0, -1, -2), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, self.reading)
        p.end()


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
        self.family = ""  # the candidates' face (candidate_font_family); "" is Qt's default
        self._all: list = []  # what was offered; ``candidates`` is what of it is shown (whole words that fit)
        self._spans: list[int] | None = None
        self.set_count(count)

    def set_family(self, family: str) -> None:
        self.family = family
        for b in self.buttons:
            b.set_family(family)

    def set_count(self, count: int, per_row: int = PER_ROW) -> None:
        """``count`` buttons, ``per_row`` to a row (line mode: a few wide cells for whole strings)."""
        self.per_row = per_row
        for b in self.buttons:
            self._layout.removeWidget(b)
            b.deleteLater()
        self.buttons = []
        for i in range(count):
            b = CandidateButton(i)
            b.set_family(self.family)
            b.clicked.connect(lambda _=False, i=i: self.pick(i))
            self.buttons.append(b)
        self.rows = max(1, -(-count // per_row))
        for c in range(self._layout.columnCount()):
            self._layout.setColumnStretch(c, 0)
        for c in range(per_row):
            self._layout.setColumnStretch(c, 1)  # equal cells, whatever the texts
        # as tall with words in wide cells as with characters (the window does not move)
        self.setFixedHeight(self.rows * ROW_HEIGHT + (self.rows - 1) * self._layout.verticalSpacing())
        self._spans: list[int] | None = None
        self.set_candidates(self._all)

    def set_reading(self, reading: Callable[[str], str] | None) -> None:
        self.reading = reading
        self.set_candidates(self._all)

    def _cell_width(self) -> float:
        width = self.width() if self.testAttribute(Qt.WidgetAttribute.WA_Resized) or self.isVisible() else 516
        return (width - (self.per_row - 1) * self._layout.horizontalSpacing()) / self.per_row

    def _spans_for(self, texts: list[str]) -> list[int]:
        """Cells per text, in order, as many texts as fit the bar's rows whole: one cell for a character, as many
        as a word needs to be read on one line (a full row at most); the rest are left out, never cut."""
        if not self.buttons:
            return []
        cell, gap = self._cell_width(), self._layout.horizontalSpacing()
        spans, row, col = [], 0, 0
        for text in texts[: len(self.buttons)]:
            need = self.buttons[0].needed_width(text) if len(text) > 1 else 0
            span = next((k for k in range(1, self.per_row + 1) if k * cell + (k - 1) * gap - 4 >= need), self.per_row)
            if col + span > self.per_row:
                row, col = row + 1, 0
            if row >= self.rows:
                break
            spans.append(span)
            col += span
        return spans

    def _place(self, spans: list[int]) -> None:
        if spans == self._spans:
            return
        self._spans = spans
        for b in self.buttons:
            self._layout.removeWidget(b)
        row = col = 0
        for i, b in enumerate(self.buttons):
            span = spans[i] if i < len(spans) else 1
            if col + span > self.per_row:
                row, col = row + 1, 0
            if i < len(spans) or not any(k > 1 for k in spans):
                self._layout.addWidget(b, row, col, 1, span)
                b.show()  # now, not when the layout's queued show comes: the window fits itself to the rows at once
                col += span
            else:
                b.hide()  # words took its place

    def set_candidates(self, candidates: list) -> None:
        self._all = list(candidates)
        spans = self._spans_for([c.char for c in self._all])
        self.candidates = list(self._all[: len(spans)])
        self._place(spans)
        for i, b in enumerate(self.buttons):
            if i < len(self.candidates):
                c = self.candidates[i]
                single = len(c.char) == 1
                if isinstance(c, Regroup):  # a cut mended: said under it, or a merge looks like any other character
                    reading = self.tr("merged") if len(c.spans) < len(c.replaces) else self.tr("split")
                else:
                    reading = self.reading(c.char) if self.reading and single else ""
                b.show_choice(c.char, reading)
                likely = self.tr("key {0}, {1:.0%} likely").format(KEY_LABELS[i], c.score) if i < len(KEY_LABELS) \
                    else self.tr("{0:.0%} likely").format(c.score)
                b.setToolTip(f"{c.char}{'  ' + reading if reading else ''}  ({likely})")
                b.setEnabled(True)
                best, other = styles(self)
                b.set_style(best if i == 0 else other)
            else:
                b.show_choice("", "")
                b.setToolTip("")
                b.setEnabled(False)
                b.set_style("")
        self.shown.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._all and self._spans_for([c.char for c in self._all]) != self._spans:
            self.set_candidates(self._all)  # a wider bar has room for more words, a narrower one for fewer

    def pick(self, index: int) -> bool:
        if 0 <= index < len(self.candidates):
            self.picked.emit(index)
            return True
        return False


FIXED_STYLE = "QPushButton { background: #dff3df; border-radius: 4px; }"
DARK_FIXED_STYLE = "QPushButton { background: #2e4a33; border-radius: 4px; }"


class LineCells(QWidget):
    """Line mode: the best string, one small button per character; a click on one asks for what else that position
    could be (``cellClicked(position)``). Positions the writer fixed are tinted."""

    cellClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(2)
        self.buttons: list[QPushButton] = []
        self.text = ""
        self.family = ""  # the candidates' face, so a line's characters look as the single box's do
        self.setFixedHeight(34)  # present or empty, the row keeps its height: the window does not jump

    def show_text(self, text: str, fixed: frozenset = frozenset(), selected: int | None = None) -> None:
        self.text = text
        while self._row.count():  # the cells and the stretch after them: a stretch left behind pushes cells right
            item = self._row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = []
        best, other = styles(self)
        fixed_style = DARK_FIXED_STYLE if is_dark(self.palette()) else FIXED_STYLE
        for i, ch in enumerate(text):
            b = QPushButton(ch)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setFixedSize(32, 32)
            font = QFont(self.family) if self.family else b.font()
            font.setPixelSize(20)
            b.setFont(font)
            b.setToolTip(self.tr("{0}: click to see what else this character could be").format(ch))
            b.setStyleSheet(best if i == selected else fixed_style if i in fixed else other)
            b.clicked.connect(lambda _=False, i=i: self.cellClicked.emit(i))
            self._row.addWidget(b)
            b.show()
            self.buttons.append(b)
        self._row.addStretch(1)
