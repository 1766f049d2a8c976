"""The pad driven through real widgets offscreen: mouse strokes, the candidates signal, clicks, the clipboard."""

import json
import threading

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from conftest import ink_kou, ink_shi
from hwime.ink import Ink
from hwime.output import Deliverer, TypingError
from hwime.recognizer import Recognizer
from hwime.settings import Settings, load_settings
from hwime.ui.window import PadWindow
from hwime.ui.worker import RecognitionWorker


def draw(qtbot, canvas, ink: Ink) -> None:
    """Each stroke as press, moves, release on the canvas (ink coordinates scaled to the widget)."""
    scale = canvas.width() / 300
    for stroke in ink.strokes:
        pts = [QPoint(int(x * scale), int(y * scale)) for x, y in stroke[:, :2]]
        dense = [pts[0]]
        for a, b in zip(pts, pts[1:]):  # the pointer passes through the pixels between samples
            dense += [QPoint(a.x() + (b.x() - a.x()) * k // 8, a.y() + (b.y() - a.y()) * k // 8) for k in range(1, 9)]
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=dense[0])
        for p in dense[1:]:
            qtbot.mouseMove(canvas, p)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=dense[-1])


@pytest.fixture
def pad(qtbot, tiny_bundle, settings_path):
    settings = Settings(model_path=str(tiny_bundle), device="cpu")
    window = PadWindow(settings, settings_path)
    qtbot.addWidget(window)
    window.resize(360, 520)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=15000)
    yield window
    window.shutdown()


def test_drawing_shi_and_kou_gives_candidates_and_a_click_copies(qtbot, pad):
    for ink in (ink_shi(), ink_kou()):
        pad.canvas.clear()
        with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000):
            draw(qtbot, pad.canvas, ink)
        qtbot.waitUntil(lambda: bool(pad.bar.candidates), timeout=5000)
        assert len(pad.canvas.ink) == len(ink)
        assert len(pad.bar.candidates) == 10
        scores = [c.score for c in pad.bar.candidates]
        assert scores == sorted(scores, reverse=True)
        assert pad.bar.buttons[0].text() == pad.bar.candidates[0].char
    third = pad.bar.candidates[2].char
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(pad.delivered, timeout=2000) as delivered:
        qtbot.mouseClick(pad.bar.buttons[2], Qt.MouseButton.LeftButton)
    assert delivered.args[0].text == third
    assert QGuiApplication.clipboard().text() == third
    assert pad.canvas.ink.is_empty  # the drawing clears itself after a pick
    assert pad.settings.recent[0] == third
    assert third in pad.status.text()


def write_and_wait(qtbot, pad, ink: Ink) -> list:
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000):
        draw(qtbot, pad.canvas, ink)
    qtbot.waitUntil(lambda: bool(pad.bar.candidates), timeout=5000)
    return pad.bar.candidates


def test_digit_and_space_keys_pick(qtbot, pad):
    second = write_and_wait(qtbot, pad, ink_shi())[1].char
    qtbot.keyClick(pad, Qt.Key.Key_2)
    assert QGuiApplication.clipboard().text() == second
    first = write_and_wait(qtbot, pad, ink_kou())[0].char
    qtbot.keyClick(pad, Qt.Key.Key_Space)
    assert QGuiApplication.clipboard().text() == first


def test_undo_and_clear(qtbot, pad):
    draw(qtbot, pad.canvas, ink_kou())
    assert len(pad.canvas.ink) == 3
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert len(pad.canvas.ink) == 2
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    assert pad.canvas.ink.is_empty
    qtbot.waitUntil(lambda: not pad.bar.candidates, timeout=5000)
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)  # nothing to undo is fine
    assert pad.canvas.ink.is_empty


def test_a_single_dot_is_not_an_error(qtbot, pad):
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000) as got:
        qtbot.mouseClick(pad.canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert len(pad.canvas.ink) == 1
    assert isinstance(got.args[1], list)
    assert "failed" not in pad.status.text()


class SlowRecognizer:
    """Wraps a real recognizer; the first call blocks until released so later requests pile up."""

    def __init__(self, rec):
        self.rec, self.gate, self.labels, self.device, self.path, self.notes = rec, threading.Event(), rec.labels, rec.device, None, []

    def recognize_ink(self, ink, top):
        self.gate.wait(10)
        return self.rec.recognize_ink(ink, top)


def test_requests_coalesce_and_the_newest_ink_wins(qtbot, tiny_bundle):
    slow = SlowRecognizer(Recognizer.load(tiny_bundle, "cpu"))
    from hwime.ui.worker import WorkerThread

    worker = RecognitionWorker(10, recognizer_factory=lambda path, device: slow)
    thread = WorkerThread(worker)
    try:
        with qtbot.waitSignal(worker.modelLoaded, timeout=5000):
            worker.load_model("", "cpu")
        results = []
        worker.candidatesReady.connect(lambda rid, c: results.append(rid))
        worker.request(1, ink_shi())
        qtbot.waitUntil(lambda: worker._pending is None, timeout=5000)  # the worker holds request 1
        for rid in range(2, 21):
            worker.request(rid, ink_kou() if rid % 2 else ink_shi())
        slow.gate.set()
        qtbot.waitUntil(lambda: bool(results) and results[-1] == 20, timeout=10000)
        qtbot.wait(100)
        assert results == [1, 20]  # 2..19 were superseded before the model got to them
    finally:
        thread.stop()


class BrokenRecognizer(SlowRecognizer):
    def recognize_ink(self, ink, top):
        raise RuntimeError("model exploded")


def test_a_worker_exception_is_shown_and_the_pad_keeps_working(qtbot, tiny_bundle, settings_path):
    real = Recognizer.load(tiny_bundle, "cpu")
    calls = {"n": 0}

    def factory(path, device):
        calls["n"] += 1
        return BrokenRecognizer(real) if calls["n"] == 1 else real

    window = PadWindow(Settings(device="cpu"), settings_path, worker=RecognitionWorker(10, factory))
    qtbot.addWidget(window)
    window.resize(360, 520)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=10000)
    draw(qtbot, window.canvas, ink_shi())
    # the answer to the pen-up request (not a stale mid-stroke one) reaches the status line
    qtbot.waitUntil(lambda: "model exploded" in window.status.text(), timeout=5000)
    window.worker.load_model("", "cpu")  # e.g. the user picks another model: the pad recovers
    qtbot.waitUntil(lambda: bool(window.bar.candidates), timeout=10000)
    window.shutdown()


def test_missing_model_opens_and_explains(qtbot, tmp_path, settings_path):
    window = PadWindow(Settings(model_path=str(tmp_path / "nope.pt")), settings_path)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "No recognizer" in window.status.text(), timeout=10000)
    assert "nope.pt" in window.status.text() and "python -m hwime.training" in window.status.text()
    draw(qtbot, window.canvas, ink_shi())  # writing still works
    assert len(window.canvas.ink) == 2
    window.shutdown()


def test_corrupt_model_names_the_file(qtbot, tmp_path, settings_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04 this is not a model")
    window = PadWindow(Settings(model_path=str(bad)), settings_path)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "broken.pt" in window.status.text(), timeout=10000)
    window.shutdown()


def test_type_mode_is_a_no_focus_tool_window_and_falls_back_to_the_clipboard(qtbot, pad):
    def fail(text):
        raise TypingError("xdotool failed: cannot open display")

    pad.deliverer.backends = [("xdotool", fail)]
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    assert pad.settings.output_mode == "type"
    assert pad.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert pad.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert all(b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in pad.bar.buttons)
    char = write_and_wait(qtbot, pad, ink_shi())[0].char
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == char
    assert "could not type" in pad.status.text() and "cannot open display" in pad.status.text()


def test_typing_backend_receives_the_character():
    typed = []
    d = Deliverer(lambda t: typed.append(("clip", t)), "type", backends=[("fake", lambda t: typed.append(("typed", t)))])
    assert d.deliver("中").method == "fake"
    assert typed == [("typed", "中")]
    d.mode = "copy"
    assert d.deliver("国").method == "clipboard" and typed[-1] == ("clip", "国")
    nothing = Deliverer(lambda t: typed.append(("clip", t)), "type", backends=[])
    result = nothing.deliver("人")
    assert result.method == "clipboard" and result.note and typed[-1] == ("clip", "人")


def test_settings_are_saved_on_close_and_read_back(qtbot, pad, settings_path):
    pad.deliver("好")
    pad.close()
    settings, warnings = load_settings(settings_path)
    assert warnings == []
    assert settings.recent[0] == "好" and settings.geometry
    data = json.loads(settings_path.read_text(encoding="utf-8"))
    assert data["model_path"] == pad.settings.model_path


def test_tablet_pressure_is_recorded_with_the_stroke(qtbot, pad):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    device = QPointingDevice.primaryPointingDevice()

    def tablet(kind, x, y, pressure):
        pos = QPointF(x, y)
        event = QTabletEvent(kind, device, pos, pad.canvas.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                             Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
        QApplication.sendEvent(pad.canvas, event)

    with qtbot.waitSignal(pad.canvas.inkChanged, timeout=2000):
        tablet(QTabletEvent.Type.TabletPress, 40, 100, 0.2)
        for i in range(1, 10):
            tablet(QTabletEvent.Type.TabletMove, 40 + 20 * i, 100, 0.2 + 0.08 * i)
        tablet(QTabletEvent.Type.TabletRelease, 220, 100, 0.0)
    stroke = pad.canvas.ink.strokes[0]
    assert len(pad.canvas.ink) == 1 and len(stroke) == 10
    assert abs(stroke[0, 3] - 0.2) < 1e-6 and abs(stroke[-1, 3] - 0.92) < 1e-3  # pressure kept per point
    pad.canvas.grab()  # the pressure-width painting path runs without error
