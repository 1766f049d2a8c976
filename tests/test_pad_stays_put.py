"""Nothing a person clicks moves under their pointer between two clicks (issue 38 item 1): a double-click on Line
toggles Line twice and does nothing else (it typed the Recent character that came under the pointer, or left a dot
in the box), and a warning that comes up (type mode could not type) neither pushes the writing box down nor shrinks
it. Real widgets offscreen: two clicks at one spot of the window, the second on whatever is there by then."""

import pytest
from PySide6.QtCore import QPoint, Qt

from conftest import ink_shi, shown_pad
from hwime.output import Deliverer, TypingError
from hwime.settings import Settings
from hwime.ui.window import PadWindow
from test_pad import write_and_wait
from test_window_layout import DEFAULT_SIZE

RECENT = list("个中国人我们是的了在有和")


def typing_pad(qtbot, tiny_bundle, settings_path, send) -> tuple[PadWindow, list]:
    """A type-mode pad with a full Recent row; ``out`` records what it typed or copied."""
    out: list = []
    deliverer = Deliverer(lambda text: out.append(("copied", text)), "type", backends=[("fake", send(out))])
    settings = Settings(model_path=str(tiny_bundle), device="cpu", output_mode="type", recent=list(RECENT),
                        suggest=False)
    window = shown_pad(qtbot, PadWindow(settings, settings_path, deliverer=deliverer), DEFAULT_SIZE, timeout=15000)
    return window, out


def typer(out: list):
    return lambda text: out.append(("typed", text))


def click_twice_at(qtbot, window, widget) -> object:
    """Two clicks at the spot of ``widget``'s centre, as a double-click makes them: the second goes to whatever is
    at that spot once the first has been handled. Returns what the second click hit."""
    spot = widget.mapTo(window, widget.rect().center())
    top_left = window.mapToGlobal(QPoint(0, 0))
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    qtbot.wait(100)  # the window takes the new shape
    assert window.mapToGlobal(QPoint(0, 0)) == top_left  # (the window itself did not move)
    second = window.childAt(spot) or window  # (none: a gap between the rows)
    qtbot.mouseClick(second, Qt.MouseButton.LeftButton, pos=second.mapFrom(window, spot))
    qtbot.wait(100)
    return second


@pytest.mark.parametrize("size", ["least", "default"])
def test_a_double_click_on_line_toggles_line_twice_and_does_nothing_else(qtbot, tiny_bundle, settings_path, size):
    pad, out = typing_pad(qtbot, tiny_bundle, settings_path, typer)
    try:
        if size == "least":
            pad.resize(pad.minimumSizeHint())
            qtbot.waitUntil(lambda: pad.size() == pad.minimumSizeHint(), timeout=2000)
        second = click_twice_at(qtbot, pad, pad.line_button)
        assert second is pad.line_button  # not the Recent row's 个, not the writing box
        assert out == [] and pad.canvas.ink.is_empty
        assert not pad.line_button.isChecked() and not pad.settings.line_mode
        for button in (pad.overlap_button, pad.mode_button):  # the other buttons that change the window
            assert click_twice_at(qtbot, pad, button) is button
        assert out == [] and pad.canvas.ink.is_empty
    finally:
        pad.shutdown()


def test_the_could_not_type_warning_leaves_the_box_where_it_is(qtbot, tiny_bundle, settings_path):
    def fails(out: list):
        def send(text: str) -> None:
            raise TypingError("no window has the keyboard focus to type into")
        return send

    pad, out = typing_pad(qtbot, tiny_bundle, settings_path, fails)
    try:
        pad.resize(pad.width(), 470)  # room below on the (800×600) offscreen screen for the window to grow
        qtbot.waitUntil(lambda: pad.height() == 470, timeout=2000)
        write_and_wait(qtbot, pad, ink_shi())

        def box():
            return pad.canvas.mapToGlobal(QPoint(0, 0)), pad.canvas.size()

        before = box()
        qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
        assert out and out[0][0] == "copied" and "could not type" in pad.status.text()
        qtbot.waitUntil(lambda: pad.warnings.isVisible(), timeout=2000)
        qtbot.wait(100)
        assert box() == before  # the box was pushed down and made smaller by the warning's height
        assert pad.warnings.mapTo(pad, QPoint(0, 0)).y() > pad.status.mapTo(pad, QPoint(0, 0)).y()
        qtbot.mouseClick(pad.warnings.dismiss_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not pad.warnings.isVisible(), timeout=2000)
        qtbot.wait(100)
        assert box() == before and pad.height() == 470
    finally:
        pad.shutdown()
