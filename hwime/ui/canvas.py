"""WritingCanvas: a square pad with light guide lines that collects mouse and tablet strokes as Ink; in line mode a
wide pad (LINE_ASPECT : 1) with a baseline and faint character cells, for a phrase written in one go."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap, QTabletEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..ink import Ink
from .i18n import is_dark

INK_COLOUR = QColor(20, 20, 30)
GUIDE_COLOUR = QColor(215, 200, 190)
PAPER_COLOUR = QColor(253, 252, 248)
# the same pad on a dark desktop: dark paper, light ink
DARK_INK, DARK_GUIDE, DARK_PAPER = QColor(235, 235, 240), QColor(95, 88, 82), QColor(36, 36, 40)
LIVE_INTERVAL_MS = 180  # during a long stroke, ask for candidates at most this often
FADED_OPACITY = 0.22  # the earlier characters' strokes in overlapped writing: there, but not in the way
LINE_ASPECT = 4.0  # the line pad's width : height (four cells at a time; writing runs on, the line is any length)


class WritingCanvas(QWidget):
    """Emits ``inkChanged(Ink)`` at every pen-up, undo and clear, ``inkGrowing(Ink)`` (throttled) mid-stroke,
    ``penDown`` as a stroke begins and ``undoRequested`` on a right click."""

    inkChanged = Signal(object)
    inkGrowing = Signal(object)
    penDown = Signal()  # a stroke begins: the pen is no longer resting (it stops a pause's send)
    undoRequested = Signal()  # a right click

    def __init__(self, pen_width: float = 6.0, parent: QWidget | None = None):
        super().__init__(parent)
        self.pen_width = pen_width
        self._ink = Ink()
        self._current: list[tuple[float, float, float, float]] = []
        self._clock = QElapsedTimer()
        self._clock.start()
        self._live = QElapsedTimer()
        self._tablet_down = False
        self._cache: QPixmap | None = None
        # the box's size the ink was written at (None: ink set from elsewhere, placed for a size the canvas may not
        # have reached yet); only ink written at the size the box leaves is scaled with it
        self._written_at: QSize | None = None
        self.aspect = 1.0  # width : height; LINE_ASPECT in line mode
        self.faded = 0  # the strokes before this one are drawn faint (overlapped writing: earlier characters)
        self._ink_colour, self._guide_colour = INK_COLOUR, GUIDE_COLOUR  # or the dark ones (set with the pixmap)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumSize(200, 200)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setCursor(Qt.CursorShape.CrossCursor)

    # --- the ink -------------------------------------------------------------------------------------------
    @property
    def ink(self) -> Ink:
        return self._ink

    @property
    def drawing(self) -> bool:
        """Whether a stroke is being drawn (the pen is down)."""
        return bool(self._current)

    def undo(self) -> None:
        if self._ink.strokes:
            self._ink = self._ink.without_last_stroke()
            self._invalidate()
            self.inkChanged.emit(self._ink)

    def set_ink(self, ink: Ink) -> None:
        """Show ``ink`` (e.g. the drawing of the last pick, brought back); emits no signal: the caller knows."""
        self._ink, self._current, self._written_at = ink, [], None
        self._invalidate()

    def clear(self) -> None:
        had = not self._ink.is_empty or self._current
        self._ink, self._current, self._written_at = Ink(), [], None
        self._invalidate()
        if had:
            self.inkChanged.emit(self._ink)

    def _begin(self, pos: QPointF, pressure: float) -> None:
        self._written_at = self.size()  # the writer sees the box at this size: what is written fits it
        self._current = [(pos.x(), pos.y(), float(self._clock.elapsed()), pressure)]
        self._live.start()
        self._paint_tail()
        self.penDown.emit()

    def _extend(self, pos: QPointF, pressure: float) -> None:
        if not self._current:
            return
        x, y = pos.x(), pos.y()
        last = self._current[-1]
        if (x - last[0]) ** 2 + (y - last[1]) ** 2 < 1.0:
            return  # sub-pixel jitter adds points, not information
        self._current.append((x, y, float(self._clock.elapsed()), pressure))
        self._paint_tail()
        if self._live.elapsed() >= LIVE_INTERVAL_MS and len(self._current) > 4:
            self._live.start()
            self.inkGrowing.emit(self._ink.with_stroke(self._current))

    def _end(self) -> None:
        if not self._current:
            return
        self._finish_tail()
        self._ink = self._ink.with_stroke(self._current)
        self._current = []
        self.inkChanged.emit(self._ink)

    # --- input ---------------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self._tablet_down:
            self._begin(event.position(), float("nan"))
        elif event.button() == Qt.MouseButton.RightButton:
            self.undoRequested.emit()  # the window decides: the last stroke, or the last pick's drawing back

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and not self._tablet_down:
            self._extend(event.position(), float("nan"))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self._tablet_down:
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._tablet_down = True
            self._begin(event.position(), event.pressure())
        elif kind == QTabletEvent.Type.TabletMove and self._tablet_down:
            self._extend(event.position(), event.pressure())
        elif kind == QTabletEvent.Type.TabletRelease and self._tablet_down:
            self._tablet_down = False
            self._end()
        event.accept()  # no synthesized mouse events: the stroke is already recorded

    # --- painting ------------------------------------------------------------------------------------------
    # Paper, guides and finished strokes live in a pixmap; a pen move paints only its new segment into that
    # pixmap and repaints only the segment's rectangle, so a move costs the same at the 10th point as at the 3,000th.
    # Undo, clear, a resize or a new pen width rebuild the pixmap once from the ink.
    def sizeHint(self) -> QSize:
        return QSize(360, int(360 / self.aspect))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return int(width / self.aspect)

    def set_line_mode(self, on: bool) -> None:
        """A wide line pad or the square box; the ink written so far stays (switching never loses it)."""
        self.aspect = LINE_ASPECT if on else 1.0
        self.setMinimumSize(200, 200 if not on else 90)
        self.updateGeometry()
        self._invalidate()

    def set_faded(self, strokes: int) -> None:
        """Draw the first ``strokes`` strokes faint, so the character being written over them stands out."""
        if strokes != self.faded:
            self.faded = strokes
            self._invalidate()

    def set_pen_width(self, width: float) -> None:
        self.pen_width = width
        self._invalidate()

    def _invalidate(self) -> None:
        self._cache = None
        self.update()

    def resizeEvent(self, event) -> None:
        old, new = event.oldSize(), event.size()
        if self._written_at is not None and self._written_at == old and old != new and not old.isEmpty():
            # what is written keeps its place in the box, at the box's new size (the window resized mid-writing);
            # recognition reads shapes at any scale, so nothing is read again until the next stroke. Ink set from
            # elsewhere (a mode's carried character, a pick brought back) was placed for the size the window is
            # going to: the box reaches it later, on its own
            factor = min(new.width() / old.width(), new.height() / old.height())
            self._ink = self._ink.scaled(factor)
            self._current = [(x * factor, y * factor, t, p) for x, y, t, p in self._current]
            self._written_at = new
        self._cache = None
        super().resizeEvent(event)

    def _ensure_cache(self) -> QPixmap:
        if self._cache is None or self._cache.size() != self.size() * self.devicePixelRatioF():
            ratio = self.devicePixelRatioF()
            cache = QPixmap(self.size() * ratio)
            cache.setDevicePixelRatio(ratio)
            self._ink_colour, guide, paper = (DARK_INK, DARK_GUIDE, DARK_PAPER) if is_dark(self.palette()) \
                else (INK_COLOUR, GUIDE_COLOUR, PAPER_COLOUR)
            self._guide_colour = guide
            cache.fill(paper)
            p = QPainter(cache)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_guides(p)
            for k, stroke in enumerate(self._ink.strokes):
                p.setOpacity(FADED_OPACITY if k < self.faded else 1.0)
                self._paint_stroke(p, [tuple(row) for row in stroke.tolist()])
            p.setOpacity(1.0)
            if self._current:
                self._paint_stroke(p, self._current)
            p.end()
            self._cache = cache
        return self._cache

    def _paint_tail(self) -> None:
        """Paint the newest piece of the growing stroke into the pixmap and schedule just its rectangle."""
        if self._cache is None:
            self.update()
            return
        pts = self._current
        pressured = pts[0][3] == pts[0][3]
        p = QPainter(self._cache)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if len(pts) == 1:
            segment = [pts[0]]
            self._paint_stroke(p, segment)
        elif pressured:
            segment = pts[-2:]
            self._paint_stroke(p, segment)
        else:
            # the quadratic-through-midpoints curve of _paint_stroke, one piece at a time: from the previous
            # midpoint (or the first point) through the previous point to the new midpoint
            a = pts[-3] if len(pts) >= 3 else None
            b, c = pts[-2], pts[-1]
            start = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) if a else (b[0], b[1])
            end = ((b[0] + c[0]) / 2, (b[1] + c[1]) / 2)
            p.setPen(self._mouse_pen())
            path = QPainterPath(QPointF(*start))
            path.quadTo(QPointF(b[0], b[1]), QPointF(*end))
            p.drawPath(path)
            segment = [(*start, 0, 0), b, (*end, 0, 0)]
        p.end()
        xs = [q[0] for q in segment]
        ys = [q[1] for q in segment]
        pad = self.pen_width * 2 + 2
        self.update(QRectF(min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad,
                           max(ys) - min(ys) + 2 * pad).toAlignedRect())

    def _finish_tail(self) -> None:
        """At pen-up, join the last midpoint to the last point, as _paint_stroke ends a curve."""
        pts = self._current
        if self._cache is None or len(pts) < 2 or pts[0][3] == pts[0][3]:
            return
        b, c = pts[-2], pts[-1]
        p = QPainter(self._cache)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(self._mouse_pen())
        p.drawLine(QPointF((b[0] + c[0]) / 2, (b[1] + c[1]) / 2), QPointF(c[0], c[1]))
        p.end()
        self.update()

    def paintEvent(self, event) -> None:
        cache = self._ensure_cache()
        p = QPainter(self)
        rect = event.rect()
        ratio = cache.devicePixelRatio()
        source = QRectF(rect.x() * ratio, rect.y() * ratio, rect.width() * ratio, rect.height() * ratio)
        p.drawPixmap(QRectF(rect), cache, source)
        p.end()

    def _mouse_pen(self) -> QPen:
        return QPen(self._ink_colour, self.pen_width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)

    def _paint_guides(self, p: QPainter) -> None:
        r = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        p.setPen(QPen(self._guide_colour, 1.5))
        p.drawRect(r)
        if self.aspect != 1.0:  # line: a baseline and faint cells one height wide
            p.setPen(QPen(self._guide_colour, 1, Qt.PenStyle.DashLine))
            base = r.top() + r.height() * 0.86
            p.drawLine(QPointF(r.left(), base), QPointF(r.right(), base))
            p.setPen(QPen(self._guide_colour.lighter(112), 1, Qt.PenStyle.DotLine))
            x = r.left() + r.height()
            while x < r.right() - 2:
                p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
                x += r.height()
            return
        dashed = QPen(self._guide_colour, 1, Qt.PenStyle.DashLine)
        p.setPen(dashed)
        c = r.center()
        p.drawLine(QPointF(r.left(), c.y()), QPointF(r.right(), c.y()))
        p.drawLine(QPointF(c.x(), r.top()), QPointF(c.x(), r.bottom()))
        p.setPen(QPen(self._guide_colour.lighter(112), 1, Qt.PenStyle.DotLine))
        p.drawLine(r.topLeft(), r.bottomRight())
        p.drawLine(r.topRight(), r.bottomLeft())

    def _paint_stroke(self, p: QPainter, points: list[tuple[float, float, float, float]]) -> None:
        pressured = points[0][3] == points[0][3]  # NaN != NaN: mouse strokes carry no pressure
        if len(points) == 1 or not pressured:
            p.setPen(self._mouse_pen())
            if len(points) == 1:
                p.drawPoint(QPointF(points[0][0], points[0][1]))
                return
            path = QPainterPath(QPointF(points[0][0], points[0][1]))
            for i in range(1, len(points) - 1):  # quadratic through midpoints: smooth without overshoot
                mid = QPointF((points[i][0] + points[i + 1][0]) / 2, (points[i][1] + points[i + 1][1]) / 2)
                path.quadTo(QPointF(points[i][0], points[i][1]), mid)
            path.lineTo(QPointF(points[-1][0], points[-1][1]))
            p.drawPath(path)
            return
        for a, b in zip(points, points[1:]):
            width = max(1.0, self.pen_width * (0.4 + 1.2 * b[3]))  # pressure drives the width
            p.setPen(QPen(self._ink_colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(QPointF(a[0], a[1]), QPointF(b[0], b[1]))
