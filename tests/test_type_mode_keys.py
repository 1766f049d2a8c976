"""Undo takes back what type mode typed, and type mode's own keys (issue 38 item 2): right after a pick, Undo erases
the typed character with Backspaces through the backend that typed it — only while nothing else can have been
typed after it, and says so when it cannot; ⌫, Space, Enter and Chinese punctuation are buttons on the pad."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from conftest import ink_shi, shown_pad
from hwime.output import TAKE_BACK_WITHIN_S, Deliverer, FunctionTyper, TypingError
from hwime.settings import Settings
from hwime.ui.keys import PUNCTUATION
from hwime.ui.window import PadWindow
from test_pad import write_and_wait


class Application:
    """Where the pad types: the text it holds, as a text field would (a Backspace erases the last character)."""

    def __init__(self):
        self.text, self.focus, self.fail = "", "editor", ""

    def type_text(self, text: str) -> None:
        if self.fail:
            raise TypingError(self.fail)
        self.text += text

    def press(self, key: str, count: int) -> None:
        if self.fail:
            raise TypingError(self.fail)
        for _ in range(count):
            self.text = self.text[:-1] if key == "BackSpace" else self.text + "\n"

    def typer(self) -> FunctionTyper:
        return FunctionTyper(self.type_text, self.press, lambda: self.focus)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app_and_deliverer():
    app, clock, copied = Application(), Clock(), []
    deliverer = Deliverer(copied.append, "type", backends=[("XTEST", app.typer())], clock=clock)
    return app, deliverer, clock, copied


def test_take_back_erases_exactly_what_was_typed_last(app_and_deliverer):
    app, d, clock, _ = app_and_deliverer
    app.text = "我们"
    d.deliver("山")
    taken = d.take_back("山")
    assert taken.erased and taken.method == "XTEST" and app.text == "我们"
    assert not d.take_back("山").erased and app.text == "我们"  # never twice
    d.deliver("中国人")  # a line: three characters, three Backspaces
    assert d.take_back("中国人").erased and app.text == "我们"


@pytest.mark.parametrize("between, why", [
    (lambda app, d, clock: d.deliver("出"), "sent something else"),  # the pad typed something after it
    (lambda app, d, clock: d.press("BackSpace"), "sent something else"),  # … or pressed a key
    (lambda app, d, clock: setattr(app, "focus", "terminal"), "focus moved"),  # the writer went to another window
    (lambda app, d, clock: setattr(clock, "now", clock.now + TAKE_BACK_WITHIN_S + 1), "s passed"),
    (lambda app, d, clock: setattr(app, "fail", "the X server went away"), "went away"),
], ids=["typed since", "key since", "focus moved", "time passed", "backend fails"])
def test_take_back_erases_nothing_when_it_cannot_know_and_says_why(app_and_deliverer, between, why):
    app, d, clock, _ = app_and_deliverer
    d.deliver("山")
    between(app, d, clock)
    before = app.text
    taken = d.take_back("山")
    assert not taken.erased and why in taken.why and app.text == before


def test_copied_text_needs_no_taking_back_and_a_plain_backend_says_it_cannot(app_and_deliverer):
    app, d, _, copied = app_and_deliverer
    d.mode = "copy"
    d.deliver("山")
    taken = d.take_back("山")
    assert copied == ["山"] and not taken.erased and taken.why == ""
    plain = Deliverer(copied.append, "type", backends=[("wtype", lambda text: None)])  # types, presses no key
    plain.deliver("山")
    assert "cannot press Backspace" in plain.take_back("山").why


@pytest.fixture
def typing_pad(qtbot, tiny_bundle, settings_path):
    app = Application()
    deliverer = Deliverer(QGuiApplication.clipboard().setText, "type", backends=[("XTEST", app.typer())])
    settings = Settings(model_path=str(tiny_bundle), device="cpu", output_mode="type", suggest=False)
    window = shown_pad(qtbot, PadWindow(settings, settings_path, deliverer=deliverer), (540, 640), timeout=15000)
    yield window, app
    window.shutdown()


def test_undo_right_after_a_pick_erases_the_typed_character(qtbot, typing_pad):
    pad, app = typing_pad
    app.text = "山"
    first = write_and_wait(qtbot, pad, ink_shi())[0].char
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert app.text == "山" + first
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert app.text == "山"  # the wrong one is gone from the application (it stayed: 山出)
    assert not pad.canvas.ink.is_empty and f"{first} was erased" in pad.status.text()
    second = pad.bar.candidates[1].char
    qtbot.mouseClick(pad.bar.buttons[1], Qt.MouseButton.LeftButton)  # the right one
    assert app.text == "山" + second


def test_undo_says_when_it_cannot_erase_and_leaves_the_text(qtbot, typing_pad):
    pad, app = typing_pad
    first = write_and_wait(qtbot, pad, ink_shi())[0].char
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    app.focus = "another window"  # the writer clicked into another window since
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert app.text == first and not pad.canvas.ink.is_empty
    assert f"{first} stays where it was typed" in pad.status.text() and "focus moved" in pad.status.text()


def test_type_mode_has_backspace_space_enter_and_punctuation_buttons(qtbot, typing_pad):
    pad, app = typing_pad
    assert pad.keys.isVisible()
    assert all(b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in pad.keys.buttons)
    for mark in "，。、；：？！「」『』（）《》·":
        qtbot.mouseClick(pad.keys.button(mark), Qt.MouseButton.LeftButton)
    assert app.text == "，。、；：？！「」『』（）《》·"
    for label in ("……", "——", "␣", "↵"):
        qtbot.mouseClick(pad.keys.button(label), Qt.MouseButton.LeftButton)
    assert app.text.endswith("……—— \n") and set(PUNCTUATION) <= {b.text() for b in pad.keys.buttons}
    qtbot.mouseClick(pad.keys.button("⌫"), Qt.MouseButton.LeftButton)
    assert app.text.endswith("…—— ") and "Backspace pressed" in pad.status.text()
    assert pad.settings.recent == []  # marks and keys are no characters to offer again

    first = write_and_wait(qtbot, pad, ink_shi())[0].char  # a key after a pick: Undo no longer erases the pick
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.keys.button("。"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert app.text.endswith(first + "。") and pad.canvas.ink.is_empty

    app.fail = "no window has the keyboard focus to type into"  # a key that cannot be pressed says so
    qtbot.mouseClick(pad.keys.button("↵"), Qt.MouseButton.LeftButton)
    assert "Enter not pressed" in pad.status.text() and "keyboard focus" in pad.status.text()


def test_in_copy_mode_a_mark_is_copied_and_the_keyboard_has_the_keys(qtbot, typing_pad):
    pad, app = typing_pad
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    assert pad.settings.output_mode == "copy" and pad.keys.isVisible()  # the same rows: nothing moves
    qtbot.mouseClick(pad.keys.button("。"), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "。" and app.text == ""
    assert not any(pad.keys.button(label).isEnabled() for label in ("⌫", "␣", "↵"))
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    assert all(b.isEnabled() for b in pad.keys.buttons)
