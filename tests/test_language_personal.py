"""Usage prior, context, continuations and pinyin (hwime.language); learning the writer (hwime.personal)."""

import gzip
import math
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox

from conftest import make_checkpoint, ink_kou, ink_shi, shown_pad
from hwime.ink import Ink
from hwime.language import Language, LanguageError, build_table, load_language, reading
from hwime.personal import PROFILE_FORMAT, Profile, ProfileError
from hwime.recognizer import Recognizer
from hwime.session import BarState

ROOT = Path(__file__).resolve().parents[1]
DICT = ["中国 500 ns", "中心 100 n", "中国人 50 n", "国家 300 n", "人 900 n", "中 200 f", "心 10 n", "abc 5 eng",
        "国人 3 nr", "国家人 2 nr", "心人 9 nr", "人人心人 1 nr"]


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Language:
    path = tmp_path_factory.mktemp("lang") / "t.tsv.gz"
    stats = build_table(DICT, path, alphabet=set("中国心人家"))
    assert stats["words"] == 8  # abc is outside the alphabet
    return Language.read(path)


def test_table_counts_characters_by_usage_and_offers_continuations(table):
    assert table.char_counts["中"] == 500 + 100 + 50 + 200
    assert table.probability("人") > table.probability("心") > table.probability("龘") > 0  # a floor, not zero
    after = table.continuations("中", 5)
    assert [s.text for s in after][:2] == ["国", "心"] and after[0].word == "中国"
    assert 0 < sum(s.score for s in after) <= 1 + 1e-9  # shares of what follows 中, disjoint
    assert table.continuations("中国", 3)[0].text in ("人", "家")  # two characters of context count
    assert table.continuations("", 3) == []
    assert table.continuations("龘", 1)[0].text == "人"  # nothing starts with 龘: the commonest unit comes next


def test_surnames_come_from_the_names_of_the_word_list_and_rank_a_lines_start(table):
    assert table.surnames == {"国": 2, "心": 1}  # two- and three-character names, counted per name
    assert table.name_start_log_ratio("国", 0.5) > table.name_start_log_ratio("人", 0.5)  # 人 is commoner, starts no name
    assert table.probability("人") > table.probability("国")
    # what starts no name loses the same, log(1 - share), however rare it is: a line that is no name keeps its order
    assert table.name_start_log_ratio("人", 0.3) == pytest.approx(math.log(0.7))
    assert table.name_start_log_ratio("龘", 0.3) == pytest.approx(math.log(0.7))
    assert table.name_start_log_ratio("国", 0.0) == 0.0
    with pytest.raises(ValueError):
        table.name_start_log_ratio("国", 1.0)
    traditional = table.converted(lambda text: text.replace("国", "國"))
    assert traditional.surnames == {"國": 2, "心": 1}


def test_context_moves_probability_to_what_follows(table):
    labels = list("国心人家")
    plain = table.log_prior(labels)
    after = table.log_context(labels, "中", mix=0.5)
    assert after[labels.index("国")] - plain[labels.index("国")] > after[labels.index("人")] - plain[labels.index("人")]
    assert np.array_equal(table.log_context(labels, "", 0.5), plain)


def test_a_damaged_table_names_the_file(tmp_path):
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(LanguageError, match="bad.tsv.gz"):
        Language.read(bad)
    empty = tmp_path / "empty.tsv.gz"
    with gzip.open(empty, "wt") as fh:
        fh.write("#words\n中国\t5\n")
    with pytest.raises(LanguageError, match="no #chars"):
        Language.read(empty)


def test_bundled_table_and_pinyin():
    lang = load_language()
    assert "国" in [s.text for s in lang.continuations("中", 5)]
    assert lang.probability("的") > lang.probability("鬯")
    assert reading("中") == "zhōng/zhòng" and reading("己") and reading("a") == ""


def test_usage_prior_and_context_reorder_a_tie():
    rec = Recognizer.load(None, "cpu", script="simplified")
    for script, after_zhong in (("simplified", "国"), ("traditional", "國")):
        # a tie among the characters that are their own form in the script (the rest at 0: nothing moves)
        own = torch.from_numpy((rec.folding(script).keep == 1).astype("float32"))[None]
        uniform = own / own.sum()
        assert rec.prior_weight > 0
        top = rec.rank(uniform, 3, script=script)[0]
        answered = [c for c, k in zip(rec.labels, own[0].tolist()) if k]
        assert top[0].char == max(answered, key=rec.language(script).probability)
        assert rec.rank(uniform, 1, context="中", script=script)[0][0].char == after_zhong
        shape_only = rec.rank(uniform, 3, prior=False, script=script)[0]
        assert all(abs(c.score - 1 / len(answered)) < 1e-6 for c in shape_only)


def test_cli_suggest_contract():
    r = subprocess.run([sys.executable, "-m", "hwime", "suggest", "--json", "--top", "4", "中"], capture_output=True,
                       text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["context"] == "中" and len(out["suggestions"]) == 4
    assert set(out["suggestions"][0]) == {"text", "score"} and out["suggestions"][0]["text"] == "国"


# --- the writer's profile --------------------------------------------------------------------------------------

def test_profile_caps_versioned_format_and_forget(tmp_path):
    p = Profile(tmp_path / "prof", per_class=2, total=5)
    for i in range(3):
        p.add("中", ink=ink_shi())
    _, dropped = p.add("国", ink=ink_kou())
    assert [s.char for s in p.samples].count("中") == 2 and not dropped
    for ch in "人大小日":
        p.add(ch, ink=ink_kou())
    assert len(p) == 5 and p.samples[-1].char == "日"
    data = json.loads((tmp_path / "prof" / "profile.json").read_text(encoding="utf-8"))
    assert data["format"] == PROFILE_FORMAT and len(data["samples"]) == 5 and "strokes" in data["samples"][0]["ink"]
    again = Profile(tmp_path / "prof")
    assert [s.char for s in again.samples] == [s.char for s in p.samples]
    # no temporary files left; the lock that lets the pad and the CLI share the store stays
    assert sorted(f.name for f in (tmp_path / "prof").iterdir()) == ["profile.json", "profile.json.lock"]
    again.forget()
    assert not (tmp_path / "prof" / "profile.json").exists() and len(again) == 0
    with pytest.raises(ProfileError):
        again.add("中", ink=ink_shi().without_last_stroke().without_last_stroke())


def test_a_corrupt_profile_is_kept_aside_and_a_later_one_never_replaces_the_backup(tmp_path):
    d = tmp_path / "prof"
    d.mkdir()
    (d / "profile.json").write_text('{"format": "hwime-profile/1", "samples": [{"id": 1, "char": "中"', encoding="utf-8")
    p = Profile(d)
    assert len(p) == 0 and "could not be read" in p.warnings[0] and (d / "profile.json.bak").exists()
    p.add("中", ink=ink_shi())
    assert len(Profile(d)) == 1
    first = (d / "profile.json.bak").read_bytes()
    (d / "profile.json").write_text("not json either", encoding="utf-8")
    assert "profile.json.bak.1" in Profile(d).warnings[0]
    assert (d / "profile.json.bak").read_bytes() == first  # the first damaged store is still there
    assert (d / "profile.json.bak.1").read_text(encoding="utf-8") == "not json either"


def test_one_bad_sample_is_left_out_and_the_rest_stay_active(tmp_path):
    d = tmp_path / "prof"
    d.mkdir()
    good = Profile(d)
    for ch in "中国人":
        good.add(ch, ink=ink_shi())
    data = json.loads((d / "profile.json").read_text(encoding="utf-8"))
    data["samples"].insert(1, {"id": 99, "char": "中国", "time": 1.0, "ink": {"strokes": []}})
    (d / "profile.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    p = Profile(d)
    assert [s.char for s in p.samples] == list("中国人")
    assert len(p.warnings) == 1 and "sample 2" in p.warnings[0] and "bad character" in p.warnings[0]
    assert not (d / "profile.json.bak").exists()
    p.add("大", ink=ink_kou())  # a save writes the unreadable entry back untouched: nothing is lost
    saved = json.loads((d / "profile.json").read_text(encoding="utf-8"))["samples"]
    assert {"id": 99, "char": "中国", "time": 1.0, "ink": {"strokes": []}} in saved and len(saved) == 5


def test_numbers_json_admits_but_no_sample_has_are_left_out_and_the_rest_load(tmp_path, tiny_bundle):
    from hwime.recognizer import Recognizer

    d = tmp_path / "prof"
    d.mkdir()
    Profile(d).add("十", ink=ink_shi())
    text = (d / "profile.json").read_text(encoding="utf-8")
    data = json.loads(text)
    entry = data["samples"][0]
    odd = [dict(entry, id=float("inf")), dict(entry, id=float("nan")), dict(entry, time=0), dict(entry, id=True)]
    data["samples"] += odd
    raw = json.dumps(data, ensure_ascii=False).replace('"time": 0', '"time": 1' + "0" * 400)  # a 401-digit time
    (d / "profile.json").write_text(raw, encoding="utf-8")
    p = Profile(d)
    assert [s.char for s in p.samples] == ["十"]
    assert [w.split(" in ")[0] for w in p.warnings] == [f"Learned sample {n}" for n in (2, 3, 4, 5)]
    assert "bad id inf" in p.warnings[0] and "bad time 1000" in p.warnings[2]
    rec = Recognizer.load(tiny_bundle, "cpu", profile=p)  # the pad's recognizer loads; no OverflowError
    assert rec.recognize_ink(ink_shi(), 3)


def test_learning_acts_from_the_first_sample_and_leaves_other_characters_alone():
    rec = Recognizer.load(None, "cpu")
    before_kou = rec.recognize_ink(ink_kou(), 10)
    before_shi = rec.recognize_ink(ink_shi(), 10)
    meant = before_kou[1].char  # this writer's drawing means the model's second guess (囗 for a 口-like square)
    rec.learn(ink_kou(), meant)
    assert rec.recognize_ink(ink_kou(), 3)[0].char == meant
    assert [c.char for c in rec.recognize_ink(ink_shi(), 10)][:3] == [c.char for c in before_shi][:3]
    with pytest.raises(ProfileError, match="not among"):
        rec.learn(ink_kou(), "\ue000")  # a private-use character: no model answers it


def test_a_learned_character_enters_no_list_the_network_did_not_offer_it_in():
    # a newcomer picked 人 twice; 人 then stood at #5-#10 under 王 三 二 一 上 日 …
    from hwime.training.strokedata import StrokeTable

    table = StrokeTable()
    ink = lambda ch: Ink.from_strokes([m.tolist() for m in table.medians(ch)])  # noqa: E731
    rec = Recognizer.load(None, "cpu", script="simplified")
    others = "王三二一上日下小土工天目"
    before = {ch: [c.char for c in rec.recognize_ink(ink(ch), 10)] for ch in others}
    for _ in range(2):
        rec.learn(ink("人"), "人")
    for ch in others:
        after = [c.char for c in rec.recognize_ink(ink(ch), 10)]
        assert "人" not in after or "人" in before[ch], (ch, before[ch], after)
        assert after[0] == before[ch][0]
    assert rec.recognize_ink(ink("人"), 1)[0].char == "人"


def test_nothing_learned_gives_exactly_todays_ranking(tmp_path):
    plain = Recognizer.load(None, "cpu")
    with_empty = Recognizer.load(None, "cpu", profile=Profile(tmp_path / "empty"))
    for ink in (ink_shi(), ink_kou()):
        assert plain.recognize_ink(ink, 10) == with_empty.recognize_ink(ink, 10)


def test_forget_sample_undoes_a_label(tmp_path):
    rec = Recognizer.load(None, "cpu", profile=Profile(tmp_path / "p"))
    second = rec.recognize_ink(ink_kou(), 2)[1].char
    first = rec.learn(ink_kou(), second)
    rec.forget_sample(first)
    rec.learn(ink_kou(), "口")
    assert [s.char for s in Profile(tmp_path / "p").samples] == ["口"]
    assert rec.recognize_ink(ink_kou(), 1)[0].char == "口"


def test_a_new_model_bundle_re_embeds_the_stored_ink(tmp_path):
    from hwime.training.export import export_bundle

    a = export_bundle(make_checkpoint(tmp_path / "a.pt", seed=0), tmp_path / "A.pt")
    b = export_bundle(make_checkpoint(tmp_path / "b.pt", seed=1), tmp_path / "B.pt")
    rec_a = Recognizer.load(a, "cpu", profile=Profile(tmp_path / "prof"))
    target = next(c for c in "日月大小" if c != rec_a.recognize_ink(ink_kou(), 1)[0].char)
    rec_a.learn(ink_kou(), target)
    rec_b = Recognizer.load(b, "cpu", profile=Profile(tmp_path / "prof"))  # the upgrade: same profile folder
    assert rec_b.prototypes is not None and len(rec_b.prototypes) == 1
    assert rec_b.recognize_ink(ink_kou(), 1)[0].char == target


def test_cli_learn_uses_a_throwaway_profile_and_profile_dir_is_updated(tiny_bundle, tmp_path):
    learn = tmp_path / "learn.jsonl"
    learn.write_text(json.dumps({"char": "日", **ink_kou().to_json()}) + "\n" + json.dumps(ink_shi().to_json()) + "\n",
                     encoding="utf-8")
    ink_kou().save(tmp_path / "kou.json")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path / "home")}

    def run(*extra):
        r = subprocess.run([sys.executable, "-m", "hwime", "recognize", "--model", str(tiny_bundle), "--json", "--top", "1",
                            *extra, str(tmp_path / "kou.json")], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
        return r, json.loads(r.stdout.splitlines()[-1])["candidates"][0]["char"]

    r, plain = run()
    r, learned = run("--learn", str(learn))
    assert learned == "日" and r.returncode == 1 and "learn.jsonl:2" in r.stderr  # the unlabelled line is reported
    assert not (tmp_path / "data").exists() and not (tmp_path / "home").exists()  # the user's profile is untouched
    r, _ = run("--learn", str(learn), "--profile", str(tmp_path / "prof"))
    stored = json.loads((tmp_path / "prof" / "profile.json").read_text(encoding="utf-8"))
    assert [s["char"] for s in stored["samples"]] == ["日"]
    r, again = run("--profile", str(tmp_path / "prof"))  # the profile alone now reads the writer
    assert again == "日" and r.returncode == 0


def test_cli_context_changes_the_ranking(tiny_bundle, tmp_path):
    from hwime.cli import main as cli_main
    from hwime.training.export import set_bundle_values

    bundle = tmp_path / "prior.pt"
    bundle.write_bytes(tiny_bundle.read_bytes())
    set_bundle_values(bundle, prior_weight=2.0)
    ink_shi().save(tmp_path / "s.json")
    rec = Recognizer.load(bundle, "cpu")
    plain = rec.recognize_ink(ink_shi(), 11)
    after = rec.recognize_ink(ink_shi(), 11, context="中")
    assert [c.score for c in plain] != [c.score for c in after]
    assert cli_main(["recognize", "--model", str(bundle), "--context", "中", "--top", "3", str(tmp_path / "s.json")]) == 0


# --- the pad: learning from picks, re-pick, continuations, pinyin ---------------------------------------------------

@pytest.fixture
def learning_pad(qtbot, settings_path, tmp_path):
    from hwime.settings import Settings
    from hwime.ui.window import PadWindow

    window = shown_pad(qtbot, PadWindow(Settings(device="cpu"), settings_path, profile_dir=tmp_path / "profile"),
                       (420, 640), timeout=20000)
    yield window
    window.shutdown()


def _write(qtbot, pad, ink):
    from test_pad import draw

    with qtbot.waitSignal(pad.worker.candidatesReady, timeout=10000):
        draw(qtbot, pad.canvas, ink)
    # the answer to the whole drawing, not to its first strokes (a click meanwhile hits what the bar showed before)
    qtbot.waitUntil(lambda: bool(pad.bar.candidates) and pad.session.bar is BarState.CANDIDATES
                    and pad.session.answered == pad.session.request_id, timeout=5000)


def test_a_pick_teaches_the_pad_and_a_re_pick_replaces_the_label(qtbot, learning_pad, tmp_path):
    pad = learning_pad
    _write(qtbot, pad, ink_shi())  # read as 十 by the bundled model, whose readings the bar shows
    assert pad.bar.buttons[0].reading  # pinyin under the character
    wrong, right = pad.bar.candidates[0].char, pad.bar.candidates[1].char
    with qtbot.waitSignal(pad.worker.learned, timeout=5000):
        qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert pad.canvas.ink.is_empty
    with qtbot.waitSignal(pad.worker.learned, timeout=5000) as undone:  # oops: bring the drawing back
        qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert undone.args[0] == 0  # the wrong pick is unlearned at once
    assert len(pad.canvas.ink) == 2 and pad.bar.candidates[1].char == right
    with qtbot.waitSignal(pad.worker.learned, timeout=5000) as got:
        qtbot.mouseClick(pad.bar.buttons[1], Qt.MouseButton.LeftButton)
    assert got.args[0] == 1 and QGuiApplication.clipboard().text() == right
    stored = json.loads((tmp_path / "profile" / "profile.json").read_text(encoding="utf-8"))
    assert [s["char"] for s in stored["samples"]] == [right] and wrong != right
    assert pad.session.sent == right


def test_an_undone_pick_is_unlearned_and_leaves_recent_whatever_follows(qtbot, learning_pad, tmp_path):
    pad = learning_pad
    _write(qtbot, pad, ink_kou())
    wrong = pad.bar.candidates[0].char
    with qtbot.waitSignal(pad.worker.learned, timeout=5000):
        qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert pad.settings.recent[0] == wrong
    with qtbot.waitSignal(pad.worker.learned, timeout=5000) as got:  # Undo takes the pick back at once
        qtbot.mouseClick(pad.undo_button, Qt.MouseButton.LeftButton)
    assert got.args[0] == 0
    qtbot.mouseClick(pad.clear_button, Qt.MouseButton.LeftButton)  # and nothing else is picked
    stored = json.loads((tmp_path / "profile" / "profile.json").read_text(encoding="utf-8"))
    assert stored["samples"] == [] and wrong not in pad.settings.recent and not pad.session.sent
    saved = json.loads(pad.settings_path.read_text(encoding="utf-8"))
    assert wrong not in saved["recent"]


def test_mode_and_recent_are_saved_when_they_change(qtbot, learning_pad):
    pad = learning_pad
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    assert json.loads(pad.settings_path.read_text(encoding="utf-8"))["output_mode"] == "type"
    assert "Mode: type" in pad.status.text() and "1–9" not in pad.status.text()
    qtbot.mouseClick(pad.mode_button, Qt.MouseButton.LeftButton)
    _write(qtbot, pad, ink_shi())
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    saved = json.loads(pad.settings_path.read_text(encoding="utf-8"))  # no close needed: a logout loses nothing
    assert saved["recent"][0] == pad.settings.recent[0] and saved["output_mode"] == "copy"


def test_after_a_pick_continuations_are_offered_and_a_word_goes_out_whole(qtbot, learning_pad):
    pad = learning_pad
    pad.settings.learn = False
    pad._apply_options()
    with qtbot.waitSignal(pad.worker.suggestionsReady, timeout=5000):
        pad.deliver("中")
    qtbot.waitUntil(lambda: bool(pad.bar.candidates), timeout=5000)
    assert pad.session.bar is BarState.SUGGESTIONS and pad.bar.candidates[0].char == "国"
    word = next(i for i, s in enumerate(pad.bar.candidates) if len(s.text) > 1)
    with qtbot.waitSignal(pad.delivered, timeout=2000) as sent:
        pad.bar.pick(word)
    assert len(sent.args[0].text) > 1 and QGuiApplication.clipboard().text() == sent.args[0].text
    _write(qtbot, pad, ink_shi())  # writing returns to recognition
    assert pad.session.bar is BarState.CANDIDATES and pad.bar.candidates[0].score > 0


def test_forget_in_the_settings_dialog_empties_the_profile_and_a_continuation_pick_teaches_nothing(qtbot, learning_pad, tmp_path):
    from hwime.ui.window import SettingsDialog

    pad = learning_pad
    _write(qtbot, pad, ink_shi())
    with qtbot.waitSignal(pad.worker.learned, timeout=5000):
        qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)
    assert pad.learned_count == 1
    qtbot.waitUntil(lambda: pad.session.bar is BarState.SUGGESTIONS and bool(pad.bar.candidates), timeout=5000)
    qtbot.mouseClick(pad.bar.buttons[0], Qt.MouseButton.LeftButton)  # a continuation: no drawing, nothing learned
    qtbot.wait(200)
    assert len(Profile(tmp_path / "profile")) == 1
    dialog = SettingsDialog(pad.settings, pad, learned=pad.learned_count)
    assert dialog.forget.text().endswith("(samples kept: 1)") and dialog.forget.isEnabled()
    qtbot.mouseClick(dialog.forget, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(pad.worker.learned, timeout=5000) as got:
        pad.apply_settings(dialog)
    assert got.args[0] == 0 and not (tmp_path / "profile" / "profile.json").exists()


def test_a_damaged_profile_is_reported_in_the_pad_until_dismissed(qtbot, settings_path, tmp_path):
    from hwime.settings import Settings
    from hwime.ui.window import PadWindow

    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "profile.json").write_text("{ not json")
    window = PadWindow(Settings(device="cpu"), settings_path, profile_dir=tmp_path / "profile")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=20000)
    qtbot.waitUntil(lambda: "could not be read" in window.warnings.text.text(), timeout=5000)
    assert (tmp_path / "profile" / "profile.json.bak").exists()
    window.shutdown()


def test_a_traditional_writer_gets_traditional_candidates_readings_and_continuations(qtbot, settings_path, tmp_path):
    from hwime.settings import Settings
    from hwime.ui.window import PadWindow, SettingsDialog

    pad = shown_pad(qtbot, PadWindow(Settings(device="cpu", script="traditional", learn=False), settings_path,
                                     profile_dir=tmp_path / "profile"), (420, 640), timeout=20000)
    try:
        assert pad.worker.script == "traditional"
        _write(qtbot, pad, ink_shi())
        chars = [c.char for c in pad.bar.candidates]
        assert chars[0] == "十" and "+" not in chars  # a symbol is not a character's rival in a Chinese script
        assert pad.bar.buttons[0].reading == "ㄕˊ"  # zhuyin under the glyph
        assert pad._reading("這") == "ㄓㄜˋ/zhè/yàn"  # zhuyin first, pinyin too
        with qtbot.waitSignal(pad.worker.suggestionsReady, timeout=5000):
            pad.deliver("中")
        qtbot.waitUntil(lambda: bool(pad.bar.candidates), timeout=5000)
        assert pad.bar.candidates[0].char == "國" and "国" not in [s.text for s in pad.bar.candidates]
        # the script changed in the settings takes effect at once: the continuations are offered again
        dialog = SettingsDialog(pad.settings, pad)
        dialog.script.setCurrentIndex(dialog.script.findData("simplified"))
        with qtbot.waitSignal(pad.worker.suggestionsReady, timeout=5000):
            pad.apply_settings(dialog)
        qtbot.waitUntil(lambda: bool(pad.bar.candidates) and pad.bar.candidates[0].char == "国", timeout=5000)
        assert pad.worker.script == "simplified"
        assert json.loads(settings_path.read_text(encoding="utf-8"))["script"] == "simplified"
    finally:
        pad.shutdown()


# --- forgetting one character (issue 38 item 3) --------------------------------------------------------------------

def test_forget_char_drops_that_characters_samples_alone_on_disk_and_in_ranking(tmp_path):
    rec = Recognizer.load(None, "cpu", profile=Profile(tmp_path / "p"))
    wrong = rec.recognize_ink(ink_kou(), 10)[9].char  # a key-0 pick: the tenth candidate for a drawing of 口
    rec.learn(ink_kou(), wrong)
    rec.learn(ink_shi(), "十")
    rec.learn(ink_shi(), "十")
    assert rec.profile.learned() == {"十": 2, wrong: 1}
    assert rec.forget_char(wrong) == 1 and rec.forget_char("国") == 0
    assert [s.char for s in Profile(tmp_path / "p").samples] == ["十", "十"]  # the rest stays, on disk too
    assert rec.prototypes.counts[rec.codec.index[wrong]] == 0 and len(rec.prototypes) == 1
    plain = Recognizer.load(None, "cpu")
    # 口 reads as if the slip had never been taught (十, still learned, moves no candidate)
    assert [c.char for c in rec.recognize_ink(ink_kou(), 10)] == [c.char for c in plain.recognize_ink(ink_kou(), 10)]


def _learn_by_picking(qtbot, pad, ink, index):
    _write(qtbot, pad, ink)
    learned = sum(pad.learned_chars.values())
    qtbot.mouseClick(pad.bar.buttons[index], Qt.MouseButton.LeftButton)
    # the window hears of it through a queued signal: wait for the window, not for the worker's emit
    qtbot.waitUntil(lambda: sum(pad.learned_chars.values()) == learned + 1, timeout=10000)
    return pad.settings.recent[0]


def test_a_recent_characters_menu_forgets_what_was_learned_of_it_alone(qtbot, learning_pad, tmp_path):
    pad = learning_pad
    right = _learn_by_picking(qtbot, pad, ink_shi(), 0)
    wrong = _learn_by_picking(qtbot, pad, ink_kou(), 9)  # key 0 by accident: the tenth candidate for 口
    assert pad.learned_chars == {wrong: 1, right: 1} and pad.learned_count == 2
    button = next(b for b in pad._recent_buttons if b.text() == wrong)
    assert button.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu  # a right click shows them
    forget = next(a for a in button.actions() if a.objectName() == "forget")
    assert forget.isEnabled() and wrong in forget.text()
    with qtbot.waitSignal(pad.worker.learnedChars, timeout=5000) as got:
        forget.trigger()
    assert got.args[0] == {right: 1}
    qtbot.waitUntil(lambda: pad.learned_count == 1 and pad.learned_chars == {right: 1}, timeout=5000)
    stored = json.loads((tmp_path / "profile" / "profile.json").read_text(encoding="utf-8"))
    assert [s["char"] for s in stored["samples"]] == [right]
    assert wrong in pad.status.text()
    again = next(b for b in pad._recent_buttons if b.text() == wrong)  # still offered to send, nothing to forget
    assert not next(a for a in again.actions() if a.objectName() == "forget").isEnabled()


def test_the_settings_forget_one_learned_character_and_keep_the_others(qtbot, learning_pad, tmp_path):
    from hwime.ui.window import SettingsDialog

    pad = learning_pad
    right = _learn_by_picking(qtbot, pad, ink_shi(), 0)
    wrong = _learn_by_picking(qtbot, pad, ink_kou(), 9)
    dialog = SettingsDialog(pad.settings, pad, learned=pad.learned_count, learned_chars=pad.learned_chars)
    qtbot.addWidget(dialog)
    assert [dialog.learned_char.itemData(i) for i in range(dialog.learned_char.count())] == [wrong, right]
    dialog.learned_char.setCurrentIndex(0)
    dialog.show()
    qtbot.waitExposed(dialog)
    size, ok = dialog.size(), dialog.findChild(QDialogButtonBox).geometry()
    qtbot.mouseClick(dialog.forget_char, Qt.MouseButton.LeftButton)
    assert dialog.forget_chars == [wrong] and dialog.learned_char.count() == 1
    qtbot.wait(50)  # the layout settles
    assert dialog.size() == size and dialog.findChild(QDialogButtonBox).geometry() == ok  # OK did not move
    assert wrong in dialog.forgotten_chars.text()
    with qtbot.waitSignal(pad.worker.learnedChars, timeout=5000) as got:
        pad.apply_settings(dialog)
    assert got.args[0] == {right: 1}
    assert [s.char for s in Profile(tmp_path / "profile").samples] == [right]
