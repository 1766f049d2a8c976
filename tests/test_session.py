"""The writing session driven without Qt (hwime.session): what is asked of recognition, what the bar offers and in
which state, picks and undo, a line's fixes, continuations, the writing mode."""

import dataclasses
import subprocess
import sys

from fakes import Cand, RecordingRecognition, RecordingView, Regrouping, line_reading, overlapped_reading
from hwime.session import CONTEXT_KEPT, BarState, Notice, SessionOptions, WritingMode, WritingSession


def make(mode: WritingMode = WritingMode.CHARACTER, **options) -> tuple[WritingSession, RecordingView,
                                                                        RecordingRecognition]:
    view, recognition = RecordingView(), RecordingRecognition()
    session = WritingSession(view, recognition, mode=mode, options=SessionOptions(**options), model_ready=True)
    view.session = session
    session.follow_mode()
    return session, view, recognition


def answer(session: WritingSession, recognition: RecordingRecognition, choices: list) -> None:
    """Recognition answers the newest request."""
    session.candidates_ready(recognition.last("request")[1], choices)


def test_each_stroke_asks_for_a_reading_and_only_the_newest_answer_shows():
    session, view, recognition = make()
    view.write()
    first = recognition.last("request")
    view.write()
    second = recognition.last("request")
    assert second[1] > first[1] and second[2] == 2 and second[4] is WritingMode.CHARACTER
    session.candidates_ready(first[1], [Cand("人")])  # stale: the ink changed since
    assert view.choices == []
    session.candidates_ready(second[1], [Cand("十"), Cand("干")])
    assert [c.char for c in view.choices] == ["十", "干"] and session.bar is BarState.CANDIDATES


def test_nothing_is_asked_before_the_model_is_ready():
    session, view, recognition = make()
    session.model_ready = False
    view.write()
    assert recognition.calls == [] and Notice.NEW_DRAWING not in view.notices()
    session.model_ready = True
    session.read_again()
    assert recognition.last("request")[2] == 1


def test_a_pick_sends_teaches_and_offers_continuations_after_what_was_sent():
    session, view, recognition = make()
    view.write(2)
    answer(session, recognition, [Cand("十"), Cand("干")])
    session.pick(1)
    assert view.delivered == ["干"] and view.recent == ["干"] and session.sent == "干"
    assert recognition.last("learn") == ("learn", 2, "干")
    assert view.ink.is_empty and session.bar is BarState.SUGGESTIONS
    suggest = recognition.last("suggest")
    assert suggest[2:] == ("干", 10)
    session.suggestions_ready(suggest[1], [Cand("部"), Cand("净")])
    assert [c.char for c in view.choices] == ["部", "净"]
    session.pick(0)  # a continuation: sent whole, nothing learned, nothing for Undo to bring back
    assert view.delivered == ["干", "部"] and session.sent == "干部" and session.last_pick is None
    assert [c for c in recognition.calls if c[0] == "learn"] == [("learn", 2, "干")]


def test_the_context_is_what_was_sent_lately_unless_the_writer_turned_it_off():
    session, view, recognition = make()
    session.send("中华人民共和国万岁")
    view.write()
    assert recognition.last("request")[3] == "中华人民共和国万岁"[-CONTEXT_KEPT:]
    quiet, quiet_view, quiet_recognition = make(use_context=False, suggest=False, learn=False)
    quiet.send("中")
    assert quiet.bar is BarState.CANDIDATES and not any(c[0] == "suggest" for c in quiet_recognition.calls)
    quiet_view.write()
    answer(quiet, quiet_recognition, [Cand("国")])
    quiet.pick(0)
    assert quiet_recognition.last("request")[3] == "" and not any(c[0] == "learn" for c in quiet_recognition.calls)


def test_a_new_stroke_returns_from_continuations_to_reading():
    session, view, recognition = make()
    session.send("中")
    assert session.bar is BarState.SUGGESTIONS
    view.write()
    assert session.bar is BarState.CANDIDATES and view.notices()[-1] is Notice.NEW_DRAWING
    session.suggestions_ready(session.request_id, [Cand("国")])  # a late continuation is not shown over the ink
    assert view.choices == []


def test_undo_right_after_a_pick_brings_it_back_and_takes_it_back():
    session, view, recognition = make()
    session.send("好")
    view.write(2)
    drawn = view.ink
    answer(session, recognition, [Cand("十"), Cand("干")])
    session.pick(0)
    assert view.recent == ["十", "好"] and session.sent == "好十"
    session.undo()
    assert view.ink is drawn and [c.char for c in view.choices] == ["十", "干"]
    assert recognition.last("unlearn") == ("unlearn", 2) and session.sent == "好" and view.recent == ["好"]
    assert session.bar is BarState.CANDIDATES and view.notices()[-1] is Notice.DRAWING_BACK
    session.pick(1)  # the right one this time
    assert view.delivered[-1] == "干" and session.sent == "好干" and recognition.last("learn")[2] == "干"
    session.undo()  # the drawing is back again; a second Undo takes its last stroke
    session.undo()
    assert len(view.ink) == 1


def test_forgetting_a_learned_character_tells_recognition_and_reads_the_ink_again():
    session, view, recognition = make()
    view.write(2)
    asked = recognition.last("request")[1]
    session.forget_learned(["一", "固", "一"])
    assert [c for c in recognition.calls if c[0] == "forget_char"] == [("forget_char", "一"), ("forget_char", "固")]
    assert (Notice.LEARNED_FORGOTTEN, "一固") in view.told
    assert recognition.last("request")[1] > asked  # what is written reads without what was forgotten
    session.forget_learned([])
    assert len([c for c in recognition.calls if c[0] == "forget_char"]) == 2


def test_clear_forgets_the_context_and_the_pick():
    session, view, recognition = make()
    view.write()
    answer(session, recognition, [Cand("一")])
    session.pick(0)
    session.clear()
    assert session.sent == "" and session.last_pick is None and session.bar is BarState.CANDIDATES
    assert view.choices == [] and view.notices()[-1] is Notice.READY
    session.undo()
    assert view.ink.is_empty and view.delivered == ["一"]


def test_send_best_with_nothing_offered_says_so():
    session, view, recognition = make()
    session.send_best()
    assert view.delivered == [] and view.notices() == [Notice.NOTHING_TO_SEND]
    view.write()
    answer(session, recognition, [Cand("一"), Cand("二")])
    session.send_best()
    assert view.delivered == ["一"]


def test_recent_keeps_each_character_once_newest_first_and_words_stay_out():
    session, view, _ = make(suggest=False)
    for text in "一二三二":
        session.send(text)
    session.send("中国")
    assert view.recent == ["二", "三", "一"] and session.sent == "一二三二中国"
    session.send("人", clear=False)  # a recent character again keeps what is being written
    assert view.recent[0] == "人"


# --- a line ------------------------------------------------------------------------------------------------------

def line_session():
    session, view, recognition = make(WritingMode.LINE)
    view.write(3)
    answer(session, recognition, [line_reading("中国人", 0.6, "囯口"), line_reading("中口人", 0.3, "国"),
                                  line_reading("中国", 0.1)])
    return session, view, recognition


def test_a_line_is_read_as_strings_and_a_cell_shows_what_one_character_could_be():
    session, view, recognition = line_session()
    assert recognition.last("request")[4] is WritingMode.LINE
    assert [c.text for c in view.choices] == ["中国人", "中口人", "中国"] and view.line_text == "中国人"
    session.show_alternatives(1)
    assert session.bar is BarState.ALTERNATIVES and view.selected == 1
    assert [c.char for c in view.choices] == ["国", "囯", "口"]
    assert view.told[-1] == (Notice.PICK_FOR_POSITION, 1)
    session.show_alternatives(7)  # past the string: nothing changes
    assert view.selected == 1


def test_a_fix_carries_into_every_string_of_the_same_length_and_is_learned_when_sent():
    session, view, recognition = line_session()
    session.show_alternatives(1)
    session.pick(2)  # 口
    assert session.bar is BarState.CANDIDATES and session.fixed == {1: "口"}
    # 中口人 carried the fix already: one string, not two alike; 中国 has no second position to carry it
    assert [c.text for c in view.choices] == ["中口人"] and view.line_text == "中口人" and view.fixed == {1}
    assert [a.char for a in session.lines[0].chars[1]][:2] == ["口", "国"]
    assert view.told[-1] == (Notice.POSITION_FIXED, 1, "口")
    session.pick(0)
    assert view.delivered == ["中口人"] and session.sent == "中口人" and view.recent == []
    assert recognition.last("learn_line")[:3] == ("learn_line", 3, {1: "口"})
    assert recognition.last("learn_line")[4] is WritingMode.LINE  # the spans are a line's frames
    assert session.lines == [] and view.line_text == ""


def test_a_line_picked_then_undone_comes_back_in_its_mode():
    session, view, recognition = line_session()
    session.choose_mode(WritingMode.CHARACTER)  # Line off while the phrase is written: it stays a line
    assert session.shape is WritingMode.LINE and view.told[-1] == (Notice.STRING_KEPT, WritingMode.LINE)
    session.pick(0)
    assert view.delivered == ["中国人"] and session.shape is WritingMode.CHARACTER  # sent: then the box comes
    session.undo()
    assert session.shape is WritingMode.LINE and view.shape is WritingMode.LINE
    assert [c.text for c in view.choices] == ["中国人", "中口人", "中国"] and len(view.ink) == 3
    assert recognition.last("unlearn") == ("unlearn", 3)
    session.clear()
    assert session.shape is WritingMode.CHARACTER and view.shape is WritingMode.CHARACTER


def test_clearing_a_string_kept_in_its_mode_says_how_to_write_in_the_chosen_one():
    session, view, recognition = line_session()
    session.choose_mode(WritingMode.CHARACTER)  # Line off while the phrase is written: it stays a line
    told_in = []  # the notices with the box's shape when each was told (the window's ready text follows the shape)
    tell = view.tell
    view.tell = lambda notice, *args: (told_in.append((notice, session.shape)), tell(notice, *args))
    session.clear()
    assert session.shape is WritingMode.CHARACTER and view.shape is WritingMode.CHARACTER
    assert told_in[-1] == (Notice.READY, WritingMode.CHARACTER)  # not the line's "write a phrase" any more


# --- the writing mode -------------------------------------------------------------------------------------------

def test_choosing_a_mode_with_nothing_written_reshapes_at_once():
    session, view, recognition = make()
    assert session.choose_mode(WritingMode.LINE)
    assert session.shape is WritingMode.LINE and view.told[-2:] == [
        ("reshape", WritingMode.CHARACTER, WritingMode.LINE, False), (Notice.MODE_CHOSEN, WritingMode.LINE)]
    assert not session.choose_mode(WritingMode.LINE)  # chosen twice: nothing to do


def test_a_character_written_alone_becomes_the_lines_first_and_is_read_again():
    session, view, recognition = make()
    view.write(2)
    session.choose_mode(WritingMode.LINE)
    assert ("reshape", WritingMode.CHARACTER, WritingMode.LINE, True) in view.told
    assert view.told[-1] == (Notice.CHARACTER_CARRIED, WritingMode.LINE)
    assert recognition.last("request")[2:] == (2, "", WritingMode.LINE)


def test_a_string_mode_is_every_mode_but_the_single_character():
    assert [m.reads_strings for m in WritingMode] == [m is not WritingMode.CHARACTER for m in WritingMode]


def test_the_session_needs_neither_qt_nor_torch():
    code = ("import sys, hwime.session; heavy = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch')]; "
            "print(heavy); sys.exit(bool(heavy))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_pause_sends_the_best_only_when_the_bar_reads_the_ink_as_it_is():
    """(Issue 35 item 2.) The front end's clock decides when; the session what: the first of candidates read from
    the ink as it is now, sent as a pick is (taught, and Undo right after takes it back)."""
    session, view, recognition = make()
    assert not session.can_send_on_pause() and not session.send_on_pause()  # nothing written
    view.write()
    assert not session.can_send_on_pause()  # the stroke's candidates are still to come
    answer(session, recognition, [Cand("一"), Cand("二")])
    view.write()  # a second stroke: the bar still shows the first one's reading
    assert not session.can_send_on_pause()
    answer(session, recognition, [Cand("十"), Cand("干")])
    assert session.can_send_on_pause()
    assert session.send_on_pause()
    assert view.delivered == ["十"] and recognition.last("learn") == ("learn", 2, "十") and view.ink.is_empty
    assert not session.can_send_on_pause()  # continuations are no candidates for ink: a pause sends none
    session.undo()  # as after a pick: the drawing and its choices are back, and the pause does not send it again
    assert len(view.ink) == 2 and [c.char for c in view.choices] == ["十", "干"] and session.sent == ""
    assert not session.can_send_on_pause()


def test_a_pause_sends_a_lines_best_string_but_not_while_a_cell_is_open():
    session, view, recognition = make(WritingMode.LINE)
    view.write(3)
    answer(session, recognition, [line_reading("中国", others="申"), line_reading("中图")])
    session.show_alternatives(0)
    assert not session.can_send_on_pause()  # the writer is choosing what one character should be
    session.pick(1)  # fixes it: the string waits for the writer's pick or the next pause
    assert session.send_on_pause()
    assert view.delivered == ["申国"] and session.last_pick is not None and session.last_pick.mode is WritingMode.LINE


def test_overlapped_writing_is_read_as_strings_and_its_fixes_are_learned_by_their_strokes():
    """(Issue 35.) 叠写 offers whole strings and cells as a line does; a character fixed in a cell teaches the profile
    as a line's does (when the fixed best string is sent), cut by its stroke range rather than a line's frames."""
    session, view, recognition = make(WritingMode.OVERLAPPED)
    assert view.shape is WritingMode.OVERLAPPED and WritingMode.OVERLAPPED.reads_strings
    view.write(3)
    assert recognition.last("request")[4] is WritingMode.OVERLAPPED
    answer(session, recognition, [overlapped_reading("中国", ((0, 0), (1, 2)), others="申"),
                                  overlapped_reading("中图", ((0, 0), (1, 2)))])
    assert view.line_text == "中国"
    session.show_alternatives(0)
    session.pick(1)
    session.pick(0)
    assert view.delivered == ["申国"]
    assert recognition.last("learn_line")[1:] == (3, {0: "申"}, ((0, 0), (1, 2)), WritingMode.OVERLAPPED)
    session.undo()
    assert recognition.last("unlearn") == ("unlearn", 3)
    assert view.shape is WritingMode.OVERLAPPED and view.line_text == "申国"


def test_nothing_fixed_nothing_learned_from_an_overlapped_string():
    session, view, recognition = make(WritingMode.OVERLAPPED)
    view.write(3)
    answer(session, recognition, [overlapped_reading("中国", ((0, 0), (1, 2)), others="申")])
    session.pick(0)
    assert view.delivered == ["中国"] and not any(c[0] == "learn_line" for c in recognition.calls)


def cut_wrongly() -> tuple[WritingSession, RecordingView, RecordingRecognition]:
    """们人 written over each other, read as three cells 亻门人 (strokes 0-1, 2-4, 5-6): the first two cells offer
    their merge, the last its split."""
    session, view, recognition = make(WritingMode.OVERLAPPED)
    view.write(7)
    spans = ((0, 1), (2, 4), (5, 6))
    merge = Regrouping("们", 0.6, spans[:2], ((0, 4),), ((Cand("们", 0.6), Cand("仍", 0.2)),))
    split = Regrouping("八丶", 0.1, spans[2:], ((5, 5), (6, 6)), ((Cand("八", 0.4),), (Cand("丶", 0.3),)))
    best = overlapped_reading("亻门人", spans, others="入")
    chars = (best.chars[0] + (merge,), best.chars[1] + (merge,), best.chars[2] + (split,))
    answer(session, recognition, [dataclasses.replace(best, chars=chars),
                                  overlapped_reading("亻门大", spans),
                                  overlapped_reading("们大", ((0, 4), (5, 6))),
                                  overlapped_reading("们", ((0, 6),))])
    return session, view, recognition


def test_a_cells_merge_reads_two_cells_as_one_and_the_string_is_cut_anew():
    """(Issue 35: a wrong split can be fixed.) Picking the merge among a cell's alternatives: one cell of the two
    cells' strokes, a fix elsewhere kept on its character, only strings cut the same way offered, the old cut one
    pick away, the merged character learned from both cells' strokes."""
    session, view, recognition = cut_wrongly()
    session.show_alternatives(2)
    session.pick(1)  # 入 for 人
    assert session.fixed == {2: "入"} and view.line_text == "亻门入"
    session.show_alternatives(1)
    merge = next(i for i, c in enumerate(view.choices) if c.char == "们" and hasattr(c, "replaces"))
    session.pick(merge)
    best = session.lines[0]
    assert view.line_text == best.text == "们入" and best.spans == ((0, 4), (5, 6))
    assert session.fixed == {0: "们", 1: "入"} and view.fixed == {0, 1}
    assert session.bar is BarState.CANDIDATES and view.told[-1] == (Notice.POSITION_FIXED, 0, "们")
    # only the string cut as 们|人 follows, carrying both fixes; 亻门大 and 们 are cut otherwise
    assert [c.text for c in view.choices] == ["们入"]
    assert [c.spans for c in session.lines] == [((0, 4), (5, 6))]
    # the merged cell reads as the merge read it, and offers the old cut back; the split of 人's cell stays offered
    assert [a.char for a in best.chars[0]][:2] == ["们", "仍"]
    back = best.chars[0][-1]
    assert back.char == "亻门" and back.spans == ((0, 1), (2, 4)) and back.replaces == ((0, 4),)
    assert any(getattr(a, "spans", None) == ((5, 5), (6, 6)) for a in best.chars[1])
    session.pick(0)
    assert view.delivered == ["们入"]
    assert recognition.last("learn_line")[1:] == (7, {0: "们", 1: "入"}, ((0, 4), (5, 6)), WritingMode.OVERLAPPED)


def test_a_cells_split_reads_it_as_two_and_the_old_cut_comes_back_with_a_pick():
    session, view, recognition = cut_wrongly()
    session.show_alternatives(2)
    split = next(i for i, c in enumerate(view.choices) if c.char == "八丶")
    session.pick(split)
    best = session.lines[0]
    assert best.text == "亻门八丶" and best.spans == ((0, 1), (2, 4), (5, 5), (6, 6))
    assert session.fixed == {2: "八", 3: "丶"}
    # the merge of the first two cells still names cells cut so: still offered; each half offers 人 back
    assert any(getattr(a, "spans", None) == ((0, 4),) for a in best.chars[1])
    assert [a.char for a in best.chars[2]] == ["八", "人"] and [a.char for a in best.chars[3]] == ["丶", "人"]
    session.show_alternatives(3)
    session.pick(len(view.choices) - 1)  # 人 again: the one cell of strokes 5-6
    best = session.lines[0]
    assert best.text == "亻门人" and best.spans == ((0, 1), (2, 4), (5, 6)) and session.fixed == {2: "人"}
    # the merge of cells 0-1 is still there, and the split is offered again from the restored cell
    assert any(getattr(a, "replaces", None) == ((0, 1), (2, 4)) for a in best.chars[0])
    assert any(getattr(a, "char", None) == "八丶" for a in best.chars[2])
    assert view.line_text == "亻门人" and [c.text for c in view.choices][0] == "亻门人"


def test_a_merge_removes_the_regroupings_that_named_the_cells_it_took():
    """A neighbour's merge with a cell that is merged already is offered no more."""
    session, view, recognition = make(WritingMode.OVERLAPPED)
    view.write(3)
    spans = ((0, 0), (1, 1), (2, 2))
    first = Regrouping("二", 0.5, spans[:2], ((0, 1),), ((Cand("二"),),))
    second = Regrouping("十", 0.5, spans[1:], ((1, 2),), ((Cand("十"),),))
    best = overlapped_reading("一一丨", spans)
    chars = (best.chars[0] + (first,), best.chars[1] + (first, second), best.chars[2] + (second,))
    answer(session, recognition, [dataclasses.replace(best, chars=chars)])
    session.show_alternatives(0)
    session.pick(len(view.choices) - 1)
    best = session.lines[0]
    assert best.text == "二丨" and best.spans == ((0, 1), (2, 2))
    session.show_alternatives(1)
    assert [c.char for c in view.choices] == ["丨"]  # 十 would take a stroke of 二's
    session.show_alternatives(0)
    assert [c.char for c in view.choices] == ["二", "一一"]  # the cut back
    session.pick(1)
    session.show_alternatives(2)  # cut as before again: the merge with the cell before is offered again
    assert [c.char for c in view.choices] == ["丨", "十"]


def test_continuations_leave_the_bar_with_the_first_stroke_and_a_pick_teaches_the_drawing_it_read():
    session, view, recognition = make()
    session.send("堰")
    session.suggestions_ready(recognition.last("suggest")[1], [Cand("市")])
    assert [c.char for c in view.choices] == ["市"]
    view.write()  # a new character begins: the continuation must not stay clickable over it
    assert view.choices == [] and session.bar is BarState.CANDIDATES
    answer(session, recognition, [Cand("一"), Cand("二")])
    view.write()  # a second stroke; its reading has not come back when the writer picks
    session.pick(1)
    assert recognition.last("learn") == ("learn", 1, "二")  # the one-stroke drawing the bar read
    assert view.delivered == ["堰", "二"]
    session.undo()
    assert recognition.last("unlearn") == ("unlearn", 1) and len(view.ink) == 1
    assert [c.char for c in view.choices] == ["一", "二"]
    session.pick(0)
    assert recognition.last("learn") == ("learn", 1, "一")
