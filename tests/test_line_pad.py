"""The pad's line mode through real widgets offscreen: a phrase written with mouse strokes comes back as the first
string, a character fixed through its cell, the whole string sent, the correction learned."""

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from conftest import line_ink, shown_pad
from hwime.ink import Ink
from hwime.session import BarState, Notice, Regroup, WritingMode
from hwime.settings import Settings
from hwime.ui.window import PadWindow


def draw_scaled(qtbot, canvas, ink: Ink, pauses: list[int] | None = None) -> None:
    """Each stroke as press, moves, release, the ink fitted into the canvas with a margin; ``pauses``: the ms the pen
    rests before each stroke (the pad records when each point came, and the segmenter reads the pauses)."""
    x0, y0, x1, y1 = ink.bbox()
    scale = min((canvas.width() - 30) / (x1 - x0), (canvas.height() - 30) / (y1 - y0))
    for i, stroke in enumerate(ink.strokes):
        if pauses:
            qtbot.wait(pauses[i])
        pts = [QPoint(int((x - x0) * scale) + 15, int((y - y0) * scale) + 15) for x, y in stroke[:, :2]]
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=pts[0])
        for a, b in zip(pts, pts[1:]):
            for k in range(1, 5):
                qtbot.mouseMove(canvas, QPoint(a.x() + (b.x() - a.x()) * k // 4, a.y() + (b.y() - a.y()) * k // 4))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=pts[-1])


@pytest.fixture
def line_pad(qtbot, tiny_v3, settings_path, tmp_path):
    settings = Settings(model_path=str(tiny_v3), device="cpu", line_mode=True, suggest=False)
    window = shown_pad(qtbot, PadWindow(settings, settings_path, profile_dir=tmp_path / "profile"), (760, 560),
                       timeout=30000)
    yield window
    window.shutdown()


def test_a_phrase_comes_back_whole_a_cell_fixes_a_character_and_the_string_is_sent(qtbot, line_pad, tmp_path):
    pad = line_pad
    assert pad.canvas.width() >= 3.5 * pad.canvas.height()  # a wide line, not the square box
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw_scaled(qtbot, pad.canvas, line_ink("中国人"))
    qtbot.waitUntil(lambda: bool(pad.bar.candidates) and pad.bar.candidates[0].text == "中国人", timeout=10000)
    assert [b.text() for b in pad.cells.buttons] == list("中国人")
    assert pad.bar.buttons[0].text() == "中国人"
    # the writer meant another second character: its cell shows the alternatives, a pick there fixes it
    qtbot.mouseClick(pad.cells.buttons[1], Qt.MouseButton.LeftButton)
    assert pad.session.bar is BarState.ALTERNATIVES and pad.bar.candidates[0].char == "国"
    assert len(pad.bar.buttons) == pad.settings.candidate_count  # a character's alternatives as the box offers them
    assert len(pad.bar.candidates) > 4
    other = pad.bar.candidates[1].char
    qtbot.mouseClick(pad.bar.buttons[1], Qt.MouseButton.LeftButton)
    assert pad.bar.candidates[0].text == f"中{other}人" and [b.text() for b in pad.cells.buttons] == list(f"中{other}人")
    assert len(pad.bar.buttons) == 4  # whole strings again
    offered = [c.text for c in pad.bar.candidates]
    # every string offered carries the fix; one of another length (中国, 国人) could not, so it went
    assert all(len(t) == 3 and t[1] == other for t in offered) and len(set(offered)) == len(offered)
    assert "1–4" in pad.ready_text()
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(pad.worker.learned, timeout=10000) as got:
        qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == f"中{other}人" and pad.session.sent.endswith(f"中{other}人")
    assert got.args[0] == 1 and pad.canvas.ink.is_empty
    assert pad.cells.buttons == [] and pad.session.lines == []  # the cells go with the line that was sent
    stored = json.loads((tmp_path / "profile" / "profile.json").read_text(encoding="utf-8"))["samples"]
    assert [s["char"] for s in stored] == [other]
    assert len(stored[0]["ink"]["strokes"]) == 8  # 国's eight strokes, cut from the line by their frames
    with qtbot.waitSignal(pad.worker.learned, timeout=5000) as undone:  # Undo takes the line back, unlearned
        qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert undone.args[0] == 0
    assert [b.text() for b in pad.cells.buttons] == list(f"中{other}人") and pad.bar.candidates[0].text == f"中{other}人"


def test_switching_modes_keeps_the_ink_and_is_remembered(qtbot, line_pad):
    """(What happens to a phrase written before the switch: tests/test_window_layout.py.)"""
    pad = line_pad
    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=20000):
        draw_scaled(qtbot, pad.canvas, line_ink("人"))
    strokes = len(pad.canvas.ink)
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)  # off: the line's ink stays a line until sent
    assert not pad.settings.line_mode and len(pad.canvas.ink) == strokes and pad.session.shape is WritingMode.LINE
    saved = json.loads(pad.settings_path.read_text(encoding="utf-8"))
    assert saved["line_mode"] is False
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    assert not pad.cells.isVisible() and abs(pad.canvas.width() - pad.canvas.height()) <= 1
    # the status says how to write in the box that came, not in the line that went
    assert pad.status.text() == pad.ready_text() and pad.ready_text().startswith("Write a character")


def test_the_cells_stay_at_the_left_however_often_they_are_shown(qtbot):
    from hwime.ui.candidates import LineCells

    cells = LineCells()
    qtbot.addWidget(cells)
    cells.resize(600, 40)
    cells.show()
    cells.show_text("中国人")
    qtbot.wait(20)
    first = cells.buttons[0].geometry().x()
    for text in ["中国", "中国人民", "中", "中国人"] * 5:  # a line rewritten stroke by stroke, many times
        cells.show_text(text)
    qtbot.wait(20)
    assert cells.buttons[0].geometry().x() == first <= 4  # nothing piles up before the first cell
    assert cells._row.count() == len("中国人") + 1  # the three cells and one stretch after them


def test_a_pad_restarted_in_line_mode_comes_back_where_and_as_large_as_it_was(qtbot, tiny_v3, settings_path, tmp_path):
    from hwime.settings import load_settings

    first = shown_pad(qtbot, PadWindow(Settings(model_path=str(tiny_v3), device="cpu", line_mode=True, suggest=False),
                                       settings_path, profile_dir=tmp_path / "profile"), (700, 420), timeout=30000)
    first.move(60, 90)
    qtbot.waitUntil(lambda: first.pos().x() == 60, timeout=2000)
    place = (first.pos(), first.size())
    first.close()
    first.shutdown()
    saved, _ = load_settings(settings_path)
    assert saved.line_mode and saved.geometry

    again = PadWindow(saved, settings_path, profile_dir=tmp_path / "profile")
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.model_ready, timeout=30000)
    assert (again.pos(), again.size()) == place
    assert load_settings(settings_path)[0].geometry == saved.geometry  # starting did not overwrite the saved place
    again.close()
    again.shutdown()


@pytest.fixture
def overlap_pad(qtbot, settings_path, tmp_path):
    """The bundled model (test_overlap reads with it) and the shipped segmenter, in overlapped mode."""
    settings = Settings(device="cpu", overlap_mode=True, suggest=False, script="simplified")
    window = shown_pad(qtbot, PadWindow(settings, settings_path, profile_dir=tmp_path / "profile"), (420, 600),
                       timeout=60000)
    yield window
    window.shutdown()


def zhongguo_as_written() -> tuple[Ink, list[int]]:
    """中国 over each other, with a hand's pauses: longer before 国 (to look at 中) than between strokes (the medians
    the segmenter is trained with: 380 and 160 ms; a drawing with no pause at all reads as one character)."""
    from test_overlap import overlapped

    return overlapped("中国"), [0] + [160] * 3 + [400] + [160] * 7


def test_two_characters_written_over_each_other_in_the_box_come_back_as_one_string(qtbot, overlap_pad):
    """(Issue 35 item 1.) 中 then 国 written on top of it, no pick between: the string 中国, 中 faded under 国."""

    pad = overlap_pad
    assert pad.overlap_button.isChecked() and not pad.line_button.isChecked()
    assert pad.session.shape is WritingMode.OVERLAPPED and abs(pad.canvas.width() - pad.canvas.height()) <= 1
    assert "over another" in pad.ready_text()
    draw_scaled(qtbot, pad.canvas, *zhongguo_as_written())
    session = pad.session
    qtbot.waitUntil(lambda: session.answered == session.request_id and bool(pad.bar.candidates), timeout=30000)
    assert pad.bar.candidates[0].text == "中国" and [b.text() for b in pad.cells.buttons] == list("中国")
    assert pad.canvas.faded == 4  # 中's four strokes, under the character being written now
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "中国" and session.sent.endswith("中国")
    assert pad.canvas.ink.is_empty and pad.canvas.faded == 0 and pad.cells.buttons == []
    # Line, Overlap and neither (one character) are one choice: either button on turns the other off, and it is saved
    qtbot.mouseClick(pad.line_button, Qt.MouseButton.LeftButton)
    assert session.mode is WritingMode.LINE and not pad.overlap_button.isChecked()
    assert pad.settings.line_mode and not pad.settings.overlap_mode
    qtbot.mouseClick(pad.overlap_button, Qt.MouseButton.LeftButton)
    assert session.shape is WritingMode.OVERLAPPED and not pad.line_button.isChecked()
    saved = json.loads(pad.settings_path.read_text(encoding="utf-8"))
    assert saved["overlap_mode"] is True and saved["line_mode"] is False
    qtbot.mouseClick(pad.overlap_button, Qt.MouseButton.LeftButton)
    assert session.shape is WritingMode.CHARACTER and not pad.settings.overlap_mode
    pad.tell(Notice.STRING_KEPT, WritingMode.OVERLAPPED)  # another mode chosen while overlapped ink is written
    assert "over each other" in pad.status.text()


def test_a_wrong_cut_is_fixed_from_a_cell_by_picking_its_merge_and_the_merge_is_learned(qtbot, overlap_pad, tmp_path):
    """(Issue 35: a wrong split can be fixed.) 中国 written over each other: 中's cell offers its split, 国's its
    merge with 中 (all twelve strokes read as one character). A split picked and taken back, the merge picked: one
    cell, the one character sent with one click and learned from all twelve strokes."""

    pad, session = overlap_pad, overlap_pad.session
    draw_scaled(qtbot, pad.canvas, *zhongguo_as_written())
    qtbot.waitUntil(lambda: session.answered == session.request_id and bool(pad.bar.candidates), timeout=60000)
    assert [b.text() for b in pad.cells.buttons] == list("中国")

    def regroupings() -> list[tuple[int, object]]:
        return [(i, c) for i, c in enumerate(pad.bar.candidates) if isinstance(c, Regroup)]

    qtbot.mouseClick(pad.cells.buttons[0], Qt.MouseButton.LeftButton)
    assert session.bar is BarState.ALTERNATIVES and pad.bar.candidates[0].char == "中"
    split_at, split = next((i, c) for i, c in regroupings() if len(c.spans) == 2 and c.replaces == ((0, 3),))
    assert pad.bar.buttons[split_at].reading == "split"  # said under it, where a character's pinyin goes
    qtbot.mouseClick(pad.bar.buttons[split_at], Qt.MouseButton.LeftButton)
    assert [b.text() for b in pad.cells.buttons] == list(split.char + "国") and session.lines[0].spans[2] == (4, 11)
    qtbot.mouseClick(pad.cells.buttons[1], Qt.MouseButton.LeftButton)  # the second half offers 中 back
    back_at = next(i for i, c in regroupings() if c.spans == ((0, 3),))
    qtbot.mouseClick(pad.bar.buttons[back_at], Qt.MouseButton.LeftButton)
    assert [b.text() for b in pad.cells.buttons] == list("中国") and session.lines[0].spans == ((0, 3), (4, 11))

    qtbot.mouseClick(pad.cells.buttons[1], Qt.MouseButton.LeftButton)
    merge_at, merge = next((i, c) for i, c in regroupings() if c.spans == ((0, 11),))
    assert pad.bar.buttons[merge_at].reading == "merged" and "merged" in pad.bar.buttons[merge_at].toolTip()
    qtbot.mouseClick(pad.bar.buttons[merge_at], Qt.MouseButton.LeftButton)
    assert [b.text() for b in pad.cells.buttons] == [merge.char] and pad.bar.candidates[0].text == merge.char
    assert session.fixed == {0: merge.char} and pad.canvas.faded == 0  # one character: nothing before it fades
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(pad.worker.learned, timeout=20000) as got:
        qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == merge.char and got.args[0] == 1
    stored = json.loads((tmp_path / "profile" / "profile.json").read_text(encoding="utf-8"))["samples"]
    assert [s["char"] for s in stored] == [merge.char] and len(stored[0]["ink"]["strokes"]) == 12


def test_overlapped_mode_answers_nothing_one_stroke_and_a_thousand_strokes_clearly(qtbot, overlap_pad):
    """(Issue 35: bad input.) Nothing written: nothing to send, said. One stroke: a one-character string. A thousand
    strokes: said at once to be too many, every stroke kept (Undo takes one away), and the pad still reads."""
    import time

    from hwime.overlap import MAX_OVERLAP_STROKES

    pad, session = overlap_pad, overlap_pad.session
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(pad.best_button, Qt.MouseButton.LeftButton)
    assert "Nothing to send" in pad.status.text() and QGuiApplication.clipboard().text() == ""
    draw_scaled(qtbot, pad.canvas, Ink.from_strokes([[[10, 50], [90, 60]]]))
    qtbot.waitUntil(lambda: session.answered == session.request_id and bool(pad.bar.candidates), timeout=60000)
    assert len(pad.bar.candidates[0].text) == 1 and len(pad.cells.buttons) == 1
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)

    side = pad.canvas.width()
    for i in range(1000):
        x, y = 20 + (i * 7) % (side - 40), 20 + (i * 13) % (side - 40)
        qtbot.mousePress(pad.canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
        qtbot.mouseMove(pad.canvas, QPoint(x + 8, y + 3))
        qtbot.mouseRelease(pad.canvas, Qt.MouseButton.LeftButton, pos=QPoint(x + 8, y + 3))
    t0 = time.perf_counter()
    qtbot.waitUntil(lambda: str(MAX_OVERLAP_STROKES) in pad.status.text(), timeout=60000)
    assert "1000 strokes" in pad.status.text()
    assert len(pad.canvas.ink) == 1000 and not session.can_send_on_pause()  # nothing lost, nothing sent on a pause
    waited = time.perf_counter() - t0
    qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "999 strokes" in pad.status.text(), timeout=5000)  # refused at once: no reading again
    assert len(pad.canvas.ink) == 999 and waited < 60
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)
    draw_scaled(qtbot, pad.canvas, Ink.from_strokes([[[10, 50], [90, 60]]]))
    qtbot.waitUntil(lambda: session.answered == session.request_id and len(pad.bar.candidates[0].text) == 1,
                    timeout=60000)
