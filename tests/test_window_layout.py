"""The window as a person sees it (issue 26 items 6 and 8), through real widgets offscreen: a phrase written in the
line stays a phrase when Line is switched off (never a clipped picture read as one character), a character written
in the square moves into the line's first cell, the line box uses the window's width with no empty bands, the status
line is readable and never makes the window wider, continuations are never wrapped or cut."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from conftest import ink_shi, line_ink, shown_pad
from hwime.session import BarState, WritingMode
from hwime.settings import Settings
from hwime.ui.window import PadWindow
from test_line_pad import draw_scaled

DEFAULT_SIZE = (536, 544)  # what the pad opens at with no saved geometry (measured under Xvfb)


@pytest.fixture
def line_pad(qtbot, tiny_v3, settings_path, tmp_path):
    window = shown_pad(qtbot, PadWindow(Settings(model_path=str(tiny_v3), device="cpu", suggest=False), settings_path,
                                        profile_dir=tmp_path / "profile"), DEFAULT_SIZE, timeout=30000)
    yield window
    window.shutdown()


def ink_inside(pad) -> bool:
    x0, y0, x1, y1 = pad.canvas.ink.bbox()
    return x0 >= 0 and y0 >= 0 and x1 <= pad.canvas.width() and y1 <= pad.canvas.height()


def test_a_phrase_stays_a_phrase_when_line_is_switched_off(qtbot, line_pad):
    pad = line_pad
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw_scaled(qtbot, pad.canvas, line_ink("中国人"))
    qtbot.waitUntil(lambda: bool(pad.bar.candidates) and pad.bar.candidates[0].text == "中国人", timeout=10000)
    strings = [c.text for c in pad.bar.candidates]
    QGuiApplication.clipboard().setText("before")
    requests = []
    pad.worker.candidatesReady.connect(lambda rid, c: requests.append(c))

    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)  # Line off with the phrase written
    assert not pad.settings.line_mode and not pad.line_button.isChecked()
    # nothing sent, nothing read again as one character, nothing clipped: the line and its strings stay
    assert QGuiApplication.clipboard().text() == "before"
    assert pad.session.shape is WritingMode.LINE and pad.canvas.width() >= 3.5 * pad.canvas.height() and ink_inside(pad)
    assert [c.text for c in pad.bar.candidates] == strings and [b.text() for b in pad.cells.buttons] == list("中国人")
    assert "phrase" in pad.status.text()
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)  # on again, and off: still the same phrase
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)
    assert [c.text for c in pad.bar.candidates] == strings and requests == []

    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)  # sent whole; then the square comes
    assert QGuiApplication.clipboard().text() == "中国人"
    assert pad.session.shape is WritingMode.CHARACTER and pad.canvas.width() == pad.canvas.height() and not pad.cells.isVisible()

    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)  # the phrase comes back as the line it was
    assert pad.session.shape is WritingMode.LINE and ink_inside(pad) and [c.text for c in pad.bar.candidates] == strings
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    assert pad.session.shape is WritingMode.CHARACTER and pad.canvas.width() == pad.canvas.height()


def test_a_character_in_the_square_becomes_the_lines_first(qtbot, line_pad):
    pad = line_pad
    from test_pad import draw

    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw(qtbot, pad.canvas, ink_shi())
    strokes = len(pad.canvas.ink)
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)
    assert pad.session.shape is WritingMode.LINE and len(pad.canvas.ink) == strokes and ink_inside(pad)
    x0, _, x1, _ = pad.canvas.ink.bbox()
    assert x1 <= pad.canvas.height() + 1  # in the first cell (one height wide): the phrase goes on after it
    qtbot.waitUntil(lambda: bool(pad.session.lines), timeout=20000)  # read again as a line: its strings, its cells
    assert pad.bar.candidates[0].text == pad.session.lines[0].text and pad.cells.isVisible()


def test_the_line_uses_the_windows_width_with_no_empty_bands(qtbot, line_pad):
    pad = line_pad
    square = pad.size()
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pad.canvas.width() >= pad.width() - 30, timeout=2000)
    assert pad.canvas_box.height() - pad.canvas.height() <= 2  # the box is the line: nothing above or below it
    assert pad.canvas.width() >= 3.9 * pad.canvas.height() and pad.width() == square.width()
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)  # and back: the square at the size it had
    qtbot.waitUntil(lambda: pad.size() == square, timeout=2000)
    assert pad.canvas.width() == pad.canvas.height()


def test_the_status_is_readable_and_never_widens_the_window(qtbot, line_pad):
    pad = line_pad
    shown = " ".join(pad.status.shown_lines())
    assert "…" not in shown and shown.split() == pad.status.text().split()  # the Ready line in full, wrapped
    least = pad.minimumSizeHint().width()
    pad.show_status("Ready — 18768 characters on the GPU (CUDA) (a-model-with-a-rather-long-file-name.pt) — "
                    "CUDA is not available here; running on the CPU. Write a character; click a candidate or press "
                    "1–9, 0, Space.")
    assert pad.minimumSizeHint().width() == least <= DEFAULT_SIZE[0]
    narrow = pad.minimumSizeHint().width()  # as narrow as the window goes (its buttons' row)
    pad.resize(narrow, pad.height())
    qtbot.waitUntil(lambda: pad.width() == narrow, timeout=2000)
    lines = pad.status.shown_lines()
    assert len(lines) == 2 and lines[1].endswith("…")
    assert all(pad.status.fontMetrics().horizontalAdvance(ln) <= pad.status.width() for ln in lines)
    pad.show_status("就绪 — 可识别 18768 个字，在 CPU 上运行（hwime-all.pt）。写一个字，然后点候选字或按 1–9、0、空格。")
    assert pad.minimumSizeHint().width() == least and len(pad.status.shown_lines()) == 2


def test_continuations_are_never_wrapped_or_cut(qtbot, line_pad):
    from collections import namedtuple

    Choice = namedtuple("Choice", "char score")  # what the bar shows: anything with char and score
    pad = line_pad
    words = ["国共产党", "华人民共和国", "代表大会常务委员会", "党", "国家", "人民", "共和国", "主义", "中央", "会议"]
    pad.bar.set_candidates([Choice(w, 0.1) for w in words])
    qtbot.wait(10)
    shown = [b for b in pad.bar.buttons if b.isVisible() and b.text()]
    assert [b.text() for b in shown] == [c.char for c in pad.bar.candidates] == words[: len(shown)]
    assert len(shown) >= 4  # the words that fit, whole; the rest wait for a wider window
    for b in shown:
        size, lines = b.text_layout()
        assert lines == [b.text()] and size >= 12, (b.text(), size, lines)
    assert [b.key for b in shown] == list("1234567890")[: len(shown)]
    assert pad.minimumSizeHint().width() <= DEFAULT_SIZE[0]


def test_the_writing_box_keeps_its_place_while_a_character_is_written_after_the_count_changes(qtbot, line_pad):
    from hwime.ui.window import SettingsDialog

    pad = line_pad
    dialog = SettingsDialog(pad.settings, pad)
    dialog.count.setValue(20)
    pad.apply_settings(dialog)
    qtbot.wait(50)
    before = pad.canvas.geometry()
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw_scaled(qtbot, pad.canvas, ink_shi())
    qtbot.waitUntil(lambda: bool(pad.bar.candidates), timeout=10000)
    qtbot.wait(50)
    assert len(pad.bar.buttons) == 20 and pad.canvas.geometry() == before


def test_the_line_box_does_not_move_when_a_cell_shows_its_alternatives(qtbot, line_pad):
    pad = line_pad
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw_scaled(qtbot, pad.canvas, line_ink("中国人"))
    qtbot.waitUntil(lambda: bool(pad.cells.buttons), timeout=10000)
    qtbot.wait(50)
    before = pad.canvas.geometry()
    qtbot.mouseClick(pad.cells.buttons[1], Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    assert pad.session.bar is BarState.ALTERNATIVES and pad.canvas.geometry() == before
    qtbot.mouseClick(pad.bar.buttons[1], Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    assert pad.canvas.geometry() == before
