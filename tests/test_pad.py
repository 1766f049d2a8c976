"""The pad driven through real widgets offscreen: mouse strokes, the candidates signal, clicks, the clipboard."""

import json
import threading

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from conftest import ink_kou, ink_shi, shown_pad
from fakes import BrokenRecognizer, SlowRecognizer
from hwime.ink import Ink
from hwime.output import Deliverer, TypingError
from hwime.recognizer import Recognizer
from hwime.session import Job, JobFailure
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
    window = shown_pad(qtbot, PadWindow(settings, settings_path), (360, 520), timeout=15000)
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


def test_space_with_nothing_written_says_so_and_sends_nothing(qtbot, pad):
    QGuiApplication.clipboard().setText("before")
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(pad, Qt.Key.Key_Space)
    assert "Nothing to send yet" in pad.status.text() and QGuiApplication.clipboard().text() == "before"
    qtbot.mouseClick(pad.best_button, Qt.MouseButton.LeftButton)
    assert "Nothing to send yet" in pad.status.text() and QGuiApplication.clipboard().text() == "before"


def test_undo_and_clear(qtbot, pad):
    draw(qtbot, pad.canvas, ink_kou())
    assert len(pad.canvas.ink) == 3
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert len(pad.canvas.ink) == 2
    qtbot.mouseClick(pad.canvas, Qt.MouseButton.RightButton, pos=QPoint(50, 50))  # a right click undoes too
    assert len(pad.canvas.ink) == 1
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    assert pad.canvas.ink.is_empty
    qtbot.waitUntil(lambda: not pad.bar.candidates, timeout=5000)
    write_and_wait(qtbot, pad, ink_shi())
    pad.bar.pick(0)  # a pick, then Clear: Undo must not bring that drawing back
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert pad.canvas.ink.is_empty and not pad.bar.candidates


def test_a_single_dot_is_not_an_error(qtbot, pad):
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000) as got:
        qtbot.mouseClick(pad.canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert len(pad.canvas.ink) == 1
    assert isinstance(got.args[1], list)
    assert "failed" not in pad.status.text()


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
        qtbot.waitUntil(worker.is_idle, timeout=5000)  # the worker holds request 1
        for rid in range(2, 21):
            worker.request(rid, ink_kou() if rid % 2 else ink_shi())
        slow.gate.set()
        qtbot.waitUntil(lambda: bool(results) and results[-1] == 20, timeout=10000)
        qtbot.wait(100)
        assert results == [1, 20]  # 2..19 were superseded before the model got to them
    finally:
        thread.stop()


def test_stopping_waits_for_a_slow_model_load(qtbot, tiny_bundle):
    """Closing the pad while the model still loads (torch's first import on a busy machine took over 5 s) must
    let the load finish: a QThread destroyed while running aborts the process."""
    import time

    from hwime.ui.worker import WorkerThread

    finished = threading.Event()

    def slow_factory(path, device):
        time.sleep(5.5)  # longer than the wait that used to be the limit
        finished.set()
        return Recognizer.load(tiny_bundle, "cpu")

    worker = RecognitionWorker(10, recognizer_factory=slow_factory)
    thread = WorkerThread(worker)
    worker.load_model("", "cpu")
    qtbot.wait(100)  # the load is under way
    thread.stop()
    assert finished.is_set() and not thread.thread.isRunning()


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


def test_a_failure_with_no_request_is_shown_and_stays_when_the_writer_goes_on(qtbot, pad):
    pad.worker.jobFailed.emit(JobFailure(Job.LEARN, "could not learn this pick (RuntimeError: disk full)"))
    qtbot.waitUntil(lambda: "disk full" in pad.status.text(), timeout=2000)
    assert any("disk full" in w for w in pad.warnings.messages)  # and in the warning bar until dismissed
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000):
        draw(qtbot, pad.canvas, ink_shi())  # a new drawing: the failure is kept (its state, not its words)
    assert "disk full" in pad.status.text()


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
        raise TypingError("XTEST typing failed: the X server went away")

    pad.deliverer.backends = [("XTEST", fail)]
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    assert pad.settings.output_mode == "type"
    assert pad.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert pad.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert all(b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in pad.bar.buttons)
    char = write_and_wait(qtbot, pad, ink_shi())[0].char
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == char
    assert "could not type" in pad.status.text() and "the X server went away" in pad.status.text()


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


# --- living with the pad: hundreds of characters, the window, the platform ----------------------------------------

def test_the_pad_survives_300_characters_and_none_keeps_its_references(tiny_bundle):
    import subprocess
    import sys
    from pathlib import Path

    driver = Path(__file__).with_name("soak_driver.py")
    r = subprocess.run([sys.executable, str(driver), str(tiny_bundle), "300"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]  # PySide6 6.12 on Python 3.11 aborts here with none_dealloc
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["written"] == 300 and result["recent"] > 0
    assert result["none_refs_after"] >= result["none_refs_before"] - 100


def test_pyside6_releases_that_free_none_are_excluded():
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    deps = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
    qt = [Requirement(d) for d in deps if d.startswith("PySide6")]

    def allowed(version, python):
        env = {"python_version": python}
        return any(r.marker.evaluate(env) and r.specifier.contains(version) for r in qt)

    assert not allowed("6.12.0", "3.11") and not allowed("6.12.1", "3.10")
    assert allowed("6.11.3", "3.11") and allowed("6.12.0", "3.12")


class PaintSpy:
    def __init__(self, widget):
        from PySide6.QtCore import QObject

        class Filter(QObject):
            def eventFilter(inner, obj, event):
                from PySide6.QtCore import QEvent

                if event.type() == QEvent.Type.Paint:
                    self.rects.append(event.rect())
                return False

        self.rects = []
        self.filter = Filter()
        widget.installEventFilter(self.filter)


def test_a_pen_move_repaints_only_its_neighbourhood_and_matches_a_full_redraw(qtbot, pad):
    canvas = pad.canvas
    draw(qtbot, canvas, ink_kou())
    canvas.repaint()
    spy = PaintSpy(canvas)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    for i in range(1, 60):
        qtbot.mouseMove(canvas, QPoint(40 + i * 4, 40 + (i % 7) * 3))
        qtbot.wait(1)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(276, 58))
    qtbot.waitUntil(lambda: bool(spy.rects), timeout=2000)
    whole = canvas.width() * canvas.height()
    during = [r.width() * r.height() for r in spy.rects]
    assert max(during) < whole * 0.5 and sum(during) / len(during) < whole * 0.1
    incremental = canvas.grab().toImage()
    canvas._invalidate()  # rebuild every stroke from the ink
    full = canvas.grab().toImage()
    import numpy as np

    def pixels(img):
        img = img.convertToFormat(img.Format.Format_Grayscale8)
        return np.array([[img.pixelColor(x, y).value() for x in range(0, img.width(), 2)] for y in range(0, img.height(), 2)])

    a, b = pixels(incremental).astype(int), pixels(full).astype(int)
    assert (a < 128).sum() > 200  # ink is on the canvas
    assert np.abs(a - b).mean() < 2.0 and ((a < 128) != (b < 128)).mean() < 0.01


def test_the_writing_box_stays_square(qtbot, pad):
    for w, h in ((700, 520), (380, 900), (520, 520)):
        pad.resize(w, h)
        qtbot.wait(20)
        assert pad.canvas.width() == pad.canvas.height() >= 200


def test_what_is_written_keeps_its_place_in_the_box_when_the_window_is_resized(qtbot, pad):
    import numpy as np

    offered = [c.char for c in write_and_wait(qtbot, pad, ink_shi())]
    side, before = pad.canvas.width(), pad.canvas.ink
    for grow in (200, -120):
        pad.resize(pad.width() + grow, pad.height() + grow)
        qtbot.wait(20)
        factor = pad.canvas.width() / side
        after = pad.canvas.ink
        # the same strokes at the box's new size: where they are in the box does not change
        assert len(after) == len(before) and abs(factor - 1) > 0.1
        assert np.allclose(after.bbox(), np.array(before.bbox()) * factor, rtol=1e-5)
        for a, b in zip(after.strokes, before.strokes):
            assert np.array_equal(a[:, 2:], b[:, 2:], equal_nan=True)  # the times and pressures stay
        assert [c.char for c in pad.bar.candidates] == offered  # nothing to read again: the shape is the same
    write_and_wait(qtbot, pad, Ink.from_strokes([[[60, 240], [240, 240]]]))  # the next stroke reads with the rest
    assert len(pad.canvas.ink) == len(before) + 1
    # ink set from elsewhere (a pick brought back, a mode's carried character) is placed for the size the window is
    # going to, which the box may reach only later: it is not scaled again on the way
    shown = Ink.from_strokes([[[20, 20], [120, 140]]])
    pad.canvas.set_ink(shown)
    pad.resize(pad.width() + 150, pad.height() + 150)
    qtbot.wait(20)
    assert np.allclose(pad.canvas.ink.bbox(), shown.bbox())


def test_switching_mode_and_applying_settings_keep_the_window_size(qtbot, pad):
    from hwime.ui.window import SettingsDialog

    pad.resize(480, 760)
    qtbot.wait(20)
    size = pad.size()
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    qtbot.wait(20)
    assert pad.size() == size
    dialog = SettingsDialog(pad.settings, pad)
    dialog.count.setValue(5)
    dialog.pen.setValue(9)
    dialog.mode.setCurrentIndex(dialog.mode.findData("copy"))
    pad.apply_settings(dialog)
    qtbot.wait(20)
    assert pad.size() == size
    assert len(pad.bar.buttons) == 5 and pad.canvas.pen_width == 9 and pad.settings.output_mode == "copy"


def test_twenty_candidates_wrap_instead_of_widening_the_window(qtbot, pad):
    pad.bar.set_count(20)
    qtbot.wait(20)
    screen = pad.screen().availableGeometry().width()
    assert pad.minimumSizeHint().width() <= min(screen, 640)
    assert pad.bar.buttons[10].y() > pad.bar.buttons[0].y()  # a second row
    assert [b.key for b in pad.bar.buttons[:10]] == list("1234567890")


def test_every_candidate_shows_its_key_and_best_is_a_button(qtbot, pad):
    cands = write_and_wait(qtbot, pad, ink_shi())
    assert [b.key for b in pad.bar.buttons[:3]] == ["1", "2", "3"]
    with qtbot.waitSignal(pad.delivered, timeout=2000) as sent:
        qtbot.mouseClick(pad.best_button, Qt.MouseButton.LeftButton)
    assert sent.args[0].text == cands[0].char


def test_a_recent_click_keeps_the_ink_being_written(qtbot, pad):
    pad.deliver("好")
    draw(qtbot, pad.canvas, ink_shi())
    assert len(pad.canvas.ink) == 2
    qtbot.mouseClick(pad._recent_buttons[0], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "好"
    assert len(pad.canvas.ink) == 2


def test_a_warning_stays_until_dismissed(qtbot, tiny_bundle, settings_path):
    window = PadWindow(Settings(model_path=str(tiny_bundle), device="cpu"), settings_path,
                       warnings=["Settings file x was not valid JSON; kept it as settings.json.bak"])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=15000)
    assert "Ready" in window.status.text()  # the status line moved on …
    assert window.warnings.isVisible() and "not valid JSON" in window.warnings.text.text()  # … the warning did not
    write_and_wait(qtbot, window, ink_shi())
    assert window.warnings.isVisible()
    qtbot.mouseClick(window.warnings.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.warnings.isVisible()
    window.shutdown()


class ForeignObject:
    """Something a model bundle never holds: loading it with weights_only fails, torch's message advises otherwise."""


def test_a_corrupt_model_is_one_clear_line(qtbot, tmp_path, settings_path):
    import torch

    torch.save({"format": "hwime-bundle/1", "x": ForeignObject()}, tmp_path / "foreign.pt")
    window = PadWindow(Settings(model_path=str(tmp_path / "foreign.pt")), settings_path)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "foreign.pt" in window.status.text(), timeout=10000)
    assert "weights_only" not in window.status.text() and "\n" not in window.status.text()
    window.shutdown()


def test_closing_a_type_mode_pad_ends_the_process(tiny_bundle, tmp_path):
    import subprocess
    import sys

    config = tmp_path / "config"
    (config / "hwime").mkdir(parents=True)
    (config / "hwime" / "settings.json").write_text(json.dumps({"output_mode": "type"}))
    script = ("import sys; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication; "
              "from hwime.ui.app import run_pad; app = QApplication([]); "
              "QTimer.singleShot(1500, lambda: [w.close() for w in app.topLevelWidgets() if w.isVisible()]); "
              f"sys.exit(run_pad(model={str(tiny_bundle)!r}, device='cpu'))")
    env = {**__import__("os").environ, "XDG_CONFIG_HOME": str(config), "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((config / "hwime" / "settings.json").read_text())["output_mode"] == "type"


def test_missing_qt_libraries_are_named_in_one_line():
    from hwime.ui.app import missing_qt_packages

    present = {"libxcb-cursor.so.0", "libxkbcommon.so.0", "libglib-2.0.so.0", "libgthread-2.0.so.0"}
    missing = missing_qt_packages({"DISPLAY": ":0"}, "linux", lambda so: so in present)
    assert "libxcb-icccm4" in missing and "libxcb-keysyms1" in missing and "libxcb-cursor0" not in missing
    assert "libglib2.0-0" not in missing
    # Qt itself needs GLib whatever the platform (a bare Debian lacks it); the X11 libraries only for xcb
    assert missing_qt_packages({"QT_QPA_PLATFORM": "offscreen"}, "linux", lambda so: False) == ["libglib2.0-0"]
    assert missing_qt_packages({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda so: False) == ["libglib2.0-0"]
    assert missing_qt_packages({"DISPLAY": ":0"}, "win32", lambda so: False) == []


def test_the_readme_installs_every_system_library_the_pad_checks_for():
    from conftest import readme_setup_commands
    from hwime.ui.app import QT_LIBRARIES, XCB_LIBRARIES

    pad, tests = readme_setup_commands()
    assert set(QT_LIBRARIES.values()) | set(XCB_LIBRARIES.values()) <= set(pad.split())
    assert set(QT_LIBRARIES.values()) <= set(tests.split())  # offscreen Qt needs GLib too


def test_the_clipboard_is_handed_to_xclip_at_exit(tmp_path, monkeypatch):
    import os

    from hwime.output import keep_clipboard_after_exit

    got = tmp_path / "got.txt"
    fake = tmp_path / "xclip"
    fake.write_text(f"#!/bin/sh\ncat > {got}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    note = keep_clipboard_after_exit("中", env={"DISPLAY": ":0"})
    assert "xclip" in note and got.read_text(encoding="utf-8") == "中"
    none = keep_clipboard_after_exit("中", env={"DISPLAY": ":0"}, which=lambda name: None)
    assert "clipboard manager" in none
    assert keep_clipboard_after_exit("中", env={}) == ""


def test_a_long_stroke_asks_for_candidates_while_it_is_written(qtbot, pad):
    from hwime.ui.canvas import LIVE_INTERVAL_MS

    grown = []
    pad.canvas.inkGrowing.connect(lambda ink: grown.append(len(ink.strokes[-1])))
    qtbot.mousePress(pad.canvas, Qt.MouseButton.LeftButton, pos=QPoint(40, 60))
    for i in range(1, 13):
        qtbot.mouseMove(pad.canvas, QPoint(40 + 15 * i, 60 + 5 * i))
        if i in (6, 10):
            qtbot.wait(LIVE_INTERVAL_MS + 30)  # the pen lingers: the throttle lets a mid-stroke request through
    assert len(grown) >= 1 and grown == sorted(grown)  # the ink so far, growing
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000):
        qtbot.mouseRelease(pad.canvas, Qt.MouseButton.LeftButton, pos=QPoint(220, 120))
    assert len(pad.canvas.ink) == 1 and len(pad.canvas.ink.strokes[0]) == 13


def test_the_layout_never_jumps_and_the_status_follows_the_state(qtbot, pad):
    def geometry():
        return (pad.canvas.mapTo(pad, QPoint(0, 0)), pad.canvas.size(), pad.settings_button.mapTo(pad, QPoint(0, 0)),
                pad.bar.mapTo(pad, QPoint(0, 0)))

    start = geometry()
    pad.show_status("a very long message " * 20)  # would wrap onto three lines
    qtbot.wait(50)
    assert geometry() == start and pad.status.text().startswith("a very long")
    write_and_wait(qtbot, pad, ink_shi())
    pad.bar.pick(0)  # Recent gets its first entry, continuations or not
    qtbot.wait(50)
    assert geometry() == start
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert "last drawing is back" in pad.status.text()
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    assert "last drawing" not in pad.status.text() and pad.status.text().startswith("Write a character")
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)  # type mode: no keys reach a pad without focus
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    assert "1–9" not in pad.status.text()
    qtbot.wait(50)
    assert geometry()[1:3] == start[1:3]


def test_candidate_tooltips_are_words_and_long_words_are_not_cut_alike(qtbot, pad, tmp_path):
    from PySide6.QtGui import QFont, QFontDatabase
    from PySide6.QtWidgets import QApplication

    from conftest import build_segment_font
    from hwime.language import Suggestion

    pad.bar.set_candidates([Suggestion("民代表", 0.08, "人民代表"), Suggestion("民代表大会", 0.05, "人民代表大会")])
    tip = pad.bar.buttons[0].toolTip()
    assert "民代表" in tip and "U+" not in tip and "8% likely" in tip and "key 1" in tip
    # a font that draws each of these characters differently: without one (no CJK font installed) every
    # character is the same empty box and no two phrases could be told apart on screen
    font_id = QFontDatabase.addApplicationFont(str(build_segment_font(tmp_path / "cjk.ttf", "人民代表大会团体")))
    family = QFontDatabase.applicationFontFamilies(font_id)[0]
    app, before = QApplication.instance(), QApplication.font()
    app.setFont(QFont(family))
    try:
        pad.bar.set_count(len(pad.bar.buttons))  # buttons made anew take the application's font
        images = []
        for word in ("民代表大会", "民代表团体"):  # the same first three characters, in the same cell
            pad.bar.set_candidates([Suggestion(word, 0.05, "人" + word)])
            images.append(pad.bar.buttons[0].grab().toImage())
        assert images[0] != images[1]  # two different phrases never draw the same
    finally:
        app.setFont(before)
        QFontDatabase.removeApplicationFont(font_id)


def test_chinese_words_on_a_chinese_system_and_the_choice_in_settings(qtbot, tiny_bundle, settings_path):
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from hwime.ui.i18n import install_translation, remove_translation, translation_for, wants_chinese
    from hwime.ui.window import SettingsDialog

    assert wants_chinese("auto", "zh_CN") and wants_chinese("zh", "en_US") and not wants_chinese("auto", "en_GB")
    assert [translation_for("auto", loc) for loc in ("zh_CN", "zh_SG", "zh_TW", "zh_HK", "zh_MO")] == \
        ["zh_CN", "zh_CN", "zh_TW", "zh_TW", "zh_TW"]
    assert translation_for("zh_TW", "en_US") == "zh_TW" and translation_for("en", "zh_TW") is None
    assert install_translation(QApplication.instance(), "en", "zh_CN") is None
    for locale, undo, clear, ready, cancel, chars, copy in (("zh_CN", "撤销", "清除", "就绪", "取消", "个字", "复制到剪贴板"),
                                                           ("zh_TW", "撤銷", "清除", "就緒", "取消", "個字", "複製到剪貼簿")):
        translators = install_translation(QApplication.instance(), "auto", locale)
        assert translators is not None
        try:
            window = shown_pad(qtbot, PadWindow(Settings(model_path=str(tiny_bundle), device="cpu"), settings_path),
                               (360, 520), timeout=15000)
            assert window.undo_button.text() == undo and window.clear_button.text() == clear
            assert window.status.text().startswith(ready) and chars in window.status.text()
            assert "characters on" not in window.status.text()  # the model's description is translated too
            dialog = SettingsDialog(window.settings, window)
            assert dialog.mode.currentText() == copy and dialog.mode.currentData() == "copy"
            box = dialog.findChild(QDialogButtonBox)
            # Qt's own buttons speak the same language (Qt's qtbase translations)
            assert box.button(QDialogButtonBox.StandardButton.Cancel).text().replace("&", "").startswith(cancel)
            window.shutdown()
        finally:
            remove_translation(QApplication.instance(), translators)


def test_a_dark_system_palette_gives_a_dark_pad(qtbot, tiny_bundle, settings_path):
    from PySide6.QtGui import QColor, QPalette

    from hwime.ui.i18n import is_dark

    window = PadWindow(Settings(model_path=str(tiny_bundle), device="cpu"), settings_path)
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(30, 30, 30))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(230, 230, 230))
    window.setPalette(palette)
    shown_pad(qtbot, window, (360, 520), timeout=15000)
    assert is_dark(window.canvas.palette())
    corner = window.canvas.grab().toImage().pixelColor(20, 40)
    assert corner.lightness() < 80  # dark paper, not the light one
    write_and_wait(qtbot, window, ink_shi())
    assert "#2f4f75" in window.bar.buttons[0].styleSheet()
    window.shutdown()


def test_the_candidates_face_is_chosen_for_the_script_and_the_setting_changes_it(qtbot, pad, tmp_path):
    from PySide6.QtGui import QFontDatabase

    from conftest import build_segment_font
    from hwime.ui.candidates import candidate_font_family
    from hwime.ui.window import SettingsDialog

    system = ["AR PL UKai CN", "Noto Serif CJK SC", "Noto Sans CJK TC", "Noto Sans CJK SC", "DejaVu Sans"]
    assert candidate_font_family("simplified", system) == "Noto Sans CJK SC"  # a clear Hei face, not the brush one
    assert candidate_font_family("traditional", system) == "Noto Sans CJK TC"  # in the script's own forms
    assert candidate_font_family("traditional", ["Noto Serif CJK SC"]) == "Noto Serif CJK SC"
    assert candidate_font_family("simplified", system, chosen="AR PL UKai CN") == "AR PL UKai CN"
    assert candidate_font_family("simplified", ["DejaVu Sans"], chosen="Gone Font") == ""  # Qt's own default
    font_id = QFontDatabase.addApplicationFont(str(build_segment_font(tmp_path / "face.ttf", "十口")))
    family = QFontDatabase.applicationFontFamilies(font_id)[0]
    try:
        dialog = SettingsDialog(pad.settings, pad)
        dialog.face.setCurrentIndex(dialog.face.findData(family) if dialog.face.findData(family) >= 0 else 0)
        if dialog.face.currentData() != family:  # the dialog lists CJK faces; a segment font may not count as one
            dialog.face.addItem(family, family)
            dialog.face.setCurrentIndex(dialog.face.count() - 1)
        pad.apply_settings(dialog)
        assert pad.settings.candidate_font == family
        write_and_wait(qtbot, pad, ink_shi())
        assert pad.bar.family == family and pad.bar.buttons[0]._glyph_font.family() == family
        pad.bar.pick(0)  # the Recent row and a line's cells show characters in the same face (not the system's)
        qtbot.waitUntil(lambda: bool(pad._recent_buttons))
        assert all(b.font().family() == family for b in pad._recent_buttons)
        pad.cells.show_text("十口")
        assert [b.font().family() for b in pad.cells.buttons] == [family, family]
        assert family in pad.status.font().families()  # the window's own Chinese text too, after the system's face
    finally:
        QFontDatabase.removeApplicationFont(font_id)


@pytest.fixture
def pausing_pad(qtbot, tiny_bundle, settings_path):
    settings = Settings(model_path=str(tiny_bundle), device="cpu", send_after_pause=0.5)
    window = shown_pad(qtbot, PadWindow(settings, settings_path), (360, 520), timeout=15000)
    yield window
    window.shutdown()


def test_a_pause_sends_the_best_a_stroke_before_it_waits_and_undo_takes_it_back(qtbot, pausing_pad):
    """(Issue 35 item 2.) Send after a pause at 0.5 s: 十 written and left alone goes out with no click."""
    import time

    pad = pausing_pad
    sent: list[str] = []
    pad.delivered.connect(lambda delivery: sent.append(delivery.text))
    QGuiApplication.clipboard().clear()
    shi = ink_shi()
    write_and_wait(qtbot, pad, Ink.from_strokes([shi.strokes[0]]))
    # the pen goes down for the second stroke before the pause is over, and rests there: nothing goes out
    scale = pad.canvas.width() / 300
    points = [QPoint(int(x * scale), int(y * scale)) for x, y in shi.strokes[1][:, :2]]
    qtbot.mousePress(pad.canvas, Qt.MouseButton.LeftButton, pos=points[0])
    qtbot.wait(900)
    assert sent == [] and QGuiApplication.clipboard().text() == "" and len(pad.canvas.ink) == 1
    for p in points[1:]:
        qtbot.mouseMove(pad.canvas, p)
    qtbot.mouseRelease(pad.canvas, Qt.MouseButton.LeftButton, pos=points[-1])
    session = pad.session
    qtbot.waitUntil(lambda: bool(sent) or (session.answered == session.request_id and bool(pad.bar.candidates)),
                    timeout=10000)
    assert sent == [] and len(pad.canvas.ink) == 2  # 十's candidates are on the bar; the pause has just begun
    best, shown_at = pad.bar.candidates[0].char, time.monotonic()
    qtbot.waitUntil(lambda: bool(sent), timeout=5000)
    assert time.monotonic() - shown_at >= 0.4  # after the pause, not at once
    assert sent == [best] and QGuiApplication.clipboard().text() == best and pad.canvas.ink.is_empty
    assert session.sent.endswith(best) and pad.settings.recent[0] == best  # as a pick: it is context and Recent
    # Undo right after brings the drawing and its candidates back, as after a pick; resting then sends nothing again
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert len(pad.canvas.ink) == 2 and pad.bar.candidates[0].char == best and not session.sent.endswith(best)
    qtbot.wait(900)
    assert sent == [best] and len(pad.canvas.ink) == 2


def test_send_after_pause_is_off_by_default_and_set_in_the_dialog(qtbot, pad):
    from hwime.ui.window import SettingsDialog

    assert pad.settings.send_after_pause == 0
    sent: list[str] = []
    pad.delivered.connect(lambda delivery: sent.append(delivery.text))
    write_and_wait(qtbot, pad, ink_shi())
    qtbot.wait(700)
    assert sent == [] and len(pad.canvas.ink) == 2  # off: only a pick sends
    dialog = SettingsDialog(pad.settings, pad)
    assert dialog.pause.currentData() == 0 and [dialog.pause.itemData(k) for k in range(dialog.pause.count())] == \
        [0, 0.5, 1, 2]
    dialog.pause.setCurrentIndex(dialog.pause.findData(1.0))
    pad.apply_settings(dialog)
    assert pad.settings.send_after_pause == 1
    assert SettingsDialog(pad.settings, pad).pause.currentText() == "1 s"


def test_the_cycle_collector_runs_on_the_gui_thread_alone_while_the_worker_lives(qtbot, tiny_bundle, settings_path):
    """Garbage the worker's allocations would free can hold the GUI thread's widgets; deleting one off its thread
    crashed CI (a segfault "Garbage-collecting" inside torch.load on the worker). The worker here makes far more
    garbage than a generation holds, and every collection must still run on the GUI thread."""
    import gc

    def churning_load(path, device):
        cycles = []
        for i in range(20 * gc.get_threshold()[0]):
            node = [i]
            node.append(node)  # a reference cycle: only the collector frees it
            cycles.append(node)
            if len(cycles) > 50:
                cycles.clear()
        return Recognizer.load(tiny_bundle, "cpu")

    collections: list[int] = []

    def on_gc(phase, info):
        if phase == "start":
            collections.append(threading.get_ident())

    assert gc.isenabled()
    gc.callbacks.append(on_gc)
    try:
        window = shown_pad(qtbot, PadWindow(Settings(device="cpu"), settings_path,
                                            worker=RecognitionWorker(10, churning_load)), (360, 520), timeout=30000)
        assert not gc.isenabled()  # held off while the worker thread lives
        for i in range(5 * gc.get_threshold()[0]):  # the GUI thread's own garbage, collected by the timer
            node = [i]
            node.append(node)
        qtbot.wait(600)
        window.close()
    finally:
        gc.callbacks.remove(on_gc)
    assert collections, "the collector never ran: garbage would pile up"
    assert set(collections) == {threading.main_thread().ident}
    assert gc.isenabled()  # given back once the worker thread has stopped
