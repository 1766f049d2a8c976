"""Writes N characters through the real pad (mouse events, repaints, candidates, picks) in this process and
prints one JSON line: how many were written and sys.getrefcount(None) before and after.

Run as a subprocess by test_pad.py, so that an abort (PySide6 6.12 on Python 3.11 frees None) fails the test
instead of killing pytest: `python tests/soak_driver.py BUNDLE N`.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from hwime.settings import Settings  # noqa: E402
from hwime.ui.window import PadWindow  # noqa: E402


def wait_for(signal, ms: int = 10000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def write_one(window: PadWindow, k: int) -> None:
    canvas = window.canvas
    side = canvas.width()
    strokes = [[(0.2, 0.5), (0.8, 0.5)], [(0.5, 0.15), (0.5, 0.85)], [(0.25, 0.2 + 0.05 * (k % 5)), (0.75, 0.8)]]
    for n, stroke in enumerate(strokes[: 2 + k % 2]):
        (x0, y0), (x1, y1) = stroke
        points = [QPoint(int((x0 + (x1 - x0) * i / 30) * side), int((y0 + (y1 - y0) * i / 30) * side)) for i in range(31)]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
        for p in points[1:]:
            QTest.mouseMove(canvas, p)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])
        if n == 0 and k % 7 == 0:
            canvas.undo()  # undo repaints everything from the ink
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])
    wait_for(window.bar.shown)
    canvas.repaint()
    QTest.mouseClick(window.bar.buttons[k % 3], Qt.MouseButton.LeftButton)  # the pick sends and clears


def main() -> int:
    bundle, count = sys.argv[1], int(sys.argv[2])
    app = QApplication.instance() or QApplication([])
    settings_path = Path(tempfile.mkdtemp()) / "settings.json"
    window = PadWindow(Settings(model_path=bundle, device="cpu"), settings_path)
    window.resize(420, 640)
    window.show()
    while not window.model_ready:
        wait_for(window.worker.modelLoaded, 200)
    for k in range(5):  # warm up: caches, fonts, first paints
        write_one(window, k)
    before = sys.getrefcount(None)
    written = 0
    for k in range(count):
        write_one(window, k)
        written += 1
    after = sys.getrefcount(None)
    sent = len(window.settings.recent)
    window.close()
    app.processEvents()
    print(json.dumps({"written": written, "none_refs_before": before, "none_refs_after": after, "recent": sent}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
