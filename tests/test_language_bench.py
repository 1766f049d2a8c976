"""The keystrokes-saved measure of continuations (issue 26 item 12): a writer who picks the longest offered
continuation that starts what comes next, on running text, and the .qm reader that gives it Qt's own translations."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hwime.language import Suggestion, load_language
from hwime.training.languagebench import keystrokes_saved, qm_translations, running_text_savings

ASSETS = Path(__file__).resolve().parents[1] / "assets"


class TableOf:
    """A language whose continuations are given: context -> texts (scores do not matter to the writer)."""

    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.asked: list[str] = []

    def continuations(self, context: str, top: int = 10) -> list[Suggestion]:
        self.asked.append(context)
        return [Suggestion(t, 1.0 / (i + 2)) for i, t in enumerate(self.table.get(context, []))][:top]


def test_the_writer_takes_the_longest_continuation_that_starts_what_comes_next():
    lang = TableOf({"中": ["华", "国", "国人"], "中国人": ["民"], "中国人民": ["好"]})
    got = keystrokes_saved(lang, ["中国人民站"], top=10)
    # 中 written; 国人 picked (国 alone is shorter); 民 picked; 好 is not what comes next: 站 written
    assert (got["chars"], got["saved"], got["picks"]) == (5, 3, 2)
    assert got["saved_share"] == pytest.approx(3 / 5)
    assert lang.asked == ["中", "中国人", "中国人民"]


def test_only_the_top_offered_count_and_punctuation_and_latin_start_a_new_run():
    lang = TableOf({"中": ["华", "国"], "天": ["气"]})
    assert keystrokes_saved(lang, ["中国"], top=1)["saved"] == 0  # 国 is offered second
    got = keystrokes_saved(lang, ["中国，天气 ok 中国"], top=2)
    assert (got["chars"], got["saved"], got["picks"]) == (6, 3, 3)  # after ， the context starts again
    assert "中国，天" not in lang.asked and "ok" not in "".join(lang.asked)


def test_the_context_is_what_the_pad_keeps_of_what_was_sent():
    lang = TableOf({})
    keystrokes_saved(lang, ["一二三四五六七八九十"], top=5)
    assert lang.asked[-1] == "二三四五六七八九" and max(map(len, lang.asked)) == 8


def test_qm_translations_reads_every_translation_lrelease_wrote():
    expected = {m.findtext("translation") for m in ET.parse(ASSETS / "hwime_zh_CN.ts").iter("message")
                if m.find("translation") is not None and m.find("translation").get("type") not in ("unfinished",
                                                                                                  "vanished")}
    expected.discard(None)
    got = set(qm_translations(ASSETS / "hwime_zh_CN.qm"))
    assert "就绪" in "".join(got) and expected <= got


def test_a_file_that_is_not_a_whole_qm_is_one_clear_error(tmp_path):
    (tmp_path / "a.qm").write_bytes(b"not a qm file at all")
    with pytest.raises(ValueError, match="not a Qt .qm file"):
        qm_translations(tmp_path / "a.qm")
    data = (ASSETS / "hwime_zh_CN.qm").read_bytes()
    (tmp_path / "cut.qm").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="damaged"):
        qm_translations(tmp_path / "cut.qm")


def test_running_text_savings_uses_the_shipped_table_of_each_script():
    got = running_text_savings({"simplified": ["中华人民共和国"], "traditional": ["中華人民共和國"]}, tops=(5,))
    load_language.cache_clear()
    for script in ("simplified", "traditional"):
        row = got[script]["top5"]
        assert row["chars"] == 7 and row["saved"] >= 5  # 华人民共和国 follows 中 in either script's table


def test_render_runs_are_distinct_runs_of_chinese_within_bounds_and_repeatable():
    from hwime.training.languagebench import render_runs

    texts = ["打开文件(&O)…", "保存文件，关闭窗口", "打开文件", "a b", "一二三四五六七八九十"]
    runs = render_runs(texts, count=10, shortest=4, longest=6)
    assert sorted(runs) == ["一二三四五六", "保存文件", "关闭窗口", "打开文件"]
    assert render_runs(texts, count=2, seed=1, longest=6) == render_runs(texts, count=2, seed=1, longest=6)
    assert len(render_runs(texts, count=2, longest=6)) == 2


def test_script_renders_says_what_is_missing_and_measures_each_script(monkeypatch):
    from hwime import Recognizer
    from hwime.training import languagebench

    rec = Recognizer.load(None, "cpu")
    monkeypatch.setitem(languagebench.RENDER_FACES, "simplified", ("/nonexistent/ukai.ttc", 0))
    got = languagebench.script_renders(rec, {"simplified": ["打开文件"]}, count=1)
    assert "fonts-arphic-ukai" in got["simplified"]["skipped"]
    monkeypatch.undo()
    if not Path(languagebench.RENDER_FACES["traditional"][0]).is_file():
        pytest.skip("AR PL UKai is not installed (apt-get install fonts-arphic-ukai)")
    got = languagebench.script_renders(rec, {"traditional": ["開啟檔案", "中華民國"]}, count=2, height=24)
    row = got["traditional"]
    assert (row["lines"], row["characters"], row["single_characters"]) == (2, 8, 6)
    assert row["cer_beam"] <= 0.25 and row["top1_no_context"] >= 0.5  # large, clear renders are read
    assert all(0 <= row[k] <= 1 for k in ("cer_beam", "cer_bundle", "cer_beam+lm", "top1_previous_character"))
