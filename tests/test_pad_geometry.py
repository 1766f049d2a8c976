"""The window's size and place are the writer's (issue 38 item 6): kept as they change, not only on close, and a
restart opens the window as it was left, in the box's shape and in the line's, whatever the Recent row holds."""

import pytest
from PySide6.QtCore import QByteArray, Qt

from PySide6.QtWidgets import QWidget

from conftest import shown_pad
from hwime.settings import Settings, load_settings
from hwime.ui.window import PadWindow

RECENT = list("个中国人我们是的了在有和")  # a full Recent row: RECENT_SHOWN characters


def restarted(qtbot, settings_path) -> PadWindow:
    """A new pad from what the last one saved, shown as the app shows it (no resize of its own)."""
    settings, warnings = load_settings(settings_path)
    assert warnings == []
    window = PadWindow(settings, settings_path)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=15000)
    return window


@pytest.mark.parametrize("line_mode", [False, True], ids=["box", "line"])
def test_a_narrow_window_opens_as_narrow_as_it_was_closed(qtbot, tiny_bundle, settings_path, line_mode):
    settings = Settings(model_path=str(tiny_bundle), device="cpu", recent=list(RECENT))
    first = shown_pad(qtbot, PadWindow(settings, settings_path), (540, 560), timeout=15000)
    first.resize(540, 560)  # (the writer narrows the window once it is up)
    qtbot.waitUntil(lambda: first.width() == 540, timeout=2000)
    if line_mode:  # the window takes the line's height
        qtbot.mouseClick(first.line_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: first.canvas_box.height() - first.canvas.height() <= 2, timeout=2000)
    left = first.size()
    first.close()

    second = restarted(qtbot, settings_path)
    try:
        qtbot.wait(50)
        assert second.size() == left  # was 922 px wide: the Recent row counted twice while the window was placed
        if line_mode:  # the line box spans the window, with no empty bands beside it
            assert second.canvas.width() >= second.width() - 30
            assert second.canvas_box.height() - second.canvas.height() <= 2
    finally:
        second.shutdown()


def test_the_geometry_is_saved_as_it_changes_not_only_on_close(qtbot, tiny_bundle, settings_path):
    pad = shown_pad(qtbot, PadWindow(Settings(model_path=str(tiny_bundle), device="cpu"), settings_path),
                    (540, 560), timeout=15000)
    try:
        pad.resize(600, 620)
        pad.move(40, 30)

        def saved() -> str | None:
            return load_settings(settings_path)[0].geometry if settings_path.exists() else None

        # a logout (SIGTERM) ends the pad with no close event: what is on disk is what the next start gets
        qtbot.waitUntil(lambda: saved() == bytes(pad.saveGeometry().toBase64()).decode(), timeout=5000)
        restored = QWidget()
        restored.restoreGeometry(QByteArray.fromBase64(saved().encode()))
        assert restored.size().toTuple() == (600, 620)
    finally:
        pad.shutdown()
