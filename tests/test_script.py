"""The writer's script: which classes answer, how a candidate is folded into the writer's form, the language side
in both scripts, and the settings and command line that choose it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import make_checkpoint
from hwime.script import SCRIPTS, Folding, ScriptError, check_script, convert, default_script, forms

LABELS = list("这這发發髮后後中国國一ー口ロ头頭干乾幹a。")  # 後 and 乾 are GB2312 characters too


@pytest.fixture(scope="module")
def both_scripts(tmp_path_factory):
    from hwime.recognizer import Recognizer
    from hwime.training.export import export_bundle

    d = tmp_path_factory.mktemp("scripts")
    path = export_bundle(make_checkpoint(d / "best.pt", labels=LABELS), d / "both.pt")
    return lambda script: Recognizer.load(path, "cpu", script=script)


def probs(**shares) -> torch.Tensor:
    p = np.full((1, len(LABELS)), 1e-4, np.float32)
    for ch, v in shares.items():
        p[0, LABELS.index(ch)] = v
    return torch.from_numpy(p / p.sum())


def ranked(rec, p, **kw) -> list[str]:
    return [c.char for c in rec.rank(p, top=len(LABELS), **kw)[0] if c.score > 1e-6]


def test_the_script_comes_from_the_locale():
    assert [default_script(x) for x in ("zh_TW.UTF-8", "zh_HK", "zh_MO.utf8", "zh-Hant", "zh_Hant_TW")] == \
        ["traditional"] * 5
    assert [default_script(x) for x in ("zh_CN.UTF-8", "zh_SG", "en_US.UTF-8", "C", "")] == ["simplified"] * 5
    assert check_script("both") == "both"
    with pytest.raises(ScriptError, match="choose simplified, traditional or both"):
        check_script("klingon")


def test_forms_come_from_opencc_tables_with_every_counterpart():
    assert forms("发", "traditional") == ("發", "髮")
    assert forms("后", "traditional")[:2] == ("後", "后") and set(forms("干", "traditional")) == {"乾", "幹", "干"}
    assert forms("這", "simplified") == ("这",) and forms("这", "simplified") == ("这",)
    assert forms("後", "simplified") == ("後",) and forms("乾", "simplified") == ("乾",)  # in GB2312: kept
    # the 通用规范汉字表 (2013) restored 昇 for names (毕昇) and holds 喆, 堃: a simplified writer writes them as they are
    assert forms("昇", "simplified") == ("昇",) and forms("喆", "simplified") == ("喆",) and forms("堃", "simplified") == ("堃",)
    assert forms("們", "simplified") == ("们",) and forms("昇", "traditional") == ("昇",)
    assert "為" in forms("为", "traditional")  # Taiwan's standard form beside OpenCC's 爲
    assert forms("這", "both") == ("這",) and forms("a", "traditional") == ("a",)
    assert forms("図", "simplified") == ("图",) and forms("図", "traditional") == ("圖",) and forms("図", "both") == ("図",)
    assert convert("头发", "traditional") == "頭髮" and convert("這們說", "simplified") == "这们说"


def test_a_candidate_of_the_other_script_is_folded_and_scores_merged(both_scripts):
    p = probs(這=0.6, 这=0.3)
    simplified = both_scripts("simplified")
    top = simplified.rank(p, top=3)[0]
    merged = float(p[0, LABELS.index("這")] + p[0, LABELS.index("这")])
    assert top[0].char == "这" and top[0].score == pytest.approx(merged / (1 - float(p[0, LABELS.index("ー")])
                                                                         - float(p[0, LABELS.index("ロ")])), rel=1e-3)
    assert "這" not in ranked(simplified, p)
    assert ranked(both_scripts("traditional"), p)[0] == "這"
    assert ranked(both_scripts("both"), p)[:2] == ["這", "这"]  # as recognized
    # per call, whatever the recognizer's own script
    assert simplified.rank(p, top=1, script="traditional")[0][0].char == "這"


def test_one_form_with_several_counterparts_offers_each_ranked_by_the_context(both_scripts):
    rec = both_scripts("traditional")
    rec.set_ranking_values(prior_weight=1.0)
    p = probs(发=0.9)
    alone = ranked(rec, p)
    assert alone[:2] == ["發", "髮"] and "发" not in alone  # 發 is written far more often
    after_head = ranked(rec, p, context="頭")
    assert after_head[0] == "髮"  # 頭髮: the context before decides
    assert ranked(both_scripts("simplified"), probs(發=0.5, 髮=0.4))[0] == "发"


def test_kana_and_symbols_do_not_crowd_out_characters_in_a_chinese_script(both_scripts):
    p = probs(ー=0.6, 一=0.3, ロ=0.5, 口=0.4)
    for script in ("simplified", "traditional"):
        got = ranked(both_scripts(script), p)
        assert "ー" not in got and "ロ" not in got and set(got[:2]) == {"一", "口"}
    assert ranked(both_scripts("both"), p)[0] == "ー"
    assert "a" in ranked(both_scripts("simplified"), probs(a=0.5)) and "。" in ranked(both_scripts("traditional"),
                                                                                      probs(**{"。": 0.5}))


def test_frames_fold_like_characters():
    f = Folding(LABELS, "simplified")
    frames = np.full((2, len(LABELS) + 1), 0.01)
    frames[0, 1 + LABELS.index("這")] = 0.8
    frames /= frames.sum(1, keepdims=True)
    out = f.fold_frames(frames)
    assert np.allclose(out.sum(1), 1.0)
    assert out[0, 1 + LABELS.index("这")] > 0.75 and out[0, 1 + LABELS.index("這")] == 0
    kept = frames[0, 0] + frames[0, 1:] @ f.keep + frames[0, 1 + f.sources] @ f.shares
    assert out[0, 0] == pytest.approx(frames[0, 0] / kept, rel=1e-6)  # the blank is the blank
    assert Folding(LABELS, "both").fold_frames(frames) is frames


def test_a_line_splits_a_character_among_its_forms_by_usage_the_box_evenly():
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(None, "cpu")  # the bundle answers 合 and 閤 both
    for by_usage in (False, True):
        f = rec.folding("traditional", by_usage=by_usage)
        i = rec.codec.index["合"]
        to_other = float(f.shares[(f.sources == i) & (f.targets == rec.codec.index["閤"])].sum())
        assert float(f.keep[i]) + to_other == pytest.approx(1.0)
        if by_usage:  # the line decoder has no usage prior of its own: 合 stays 合, not a tie broken by label order
            assert f.keep[i] > 0.9 > to_other
        else:  # the box's usage prior and context rank the forms (頭 then 髮)
            assert f.keep[i] == pytest.approx(0.5) == to_other
    frames = np.full((1, len(rec.labels) + 1), 1e-6)
    frames[0, 1 + rec.codec.index["合"]] = 0.9
    frames /= frames.sum(1, keepdims=True)
    lines = rec.folding("traditional", by_usage=True).fold_frames(frames)
    assert lines[0, 1 + rec.codec.index["合"]] > 10 * lines[0, 1 + rec.codec.index["閤"]]
    f, fa = rec.folding("traditional", by_usage=True), rec.codec.index["发"]
    to = {ch: float(f.shares[(f.sources == fa) & (f.targets == rec.codec.index[ch])].sum()) for ch in "發髮"}
    assert to["發"] > to["髮"] > 0  # 髮 keeps a share: after 頭 the bigram can still choose it


def test_the_language_side_in_traditional():
    from hwime.language import load_language

    traditional = load_language(script="traditional")
    after = [s.text for s in traditional.continuations("中", 10)]
    assert "國" in after and "国" not in after
    assert traditional.probability("國") > 100 * traditional.probability("国")  # usage is not zero: it is converted
    assert traditional.probability("髮") > traditional.probability("𠀀") and traditional.probability("這") > 1e-3
    assert traditional.next_log_prob("頭", "髮", 0.3) > traditional.next_log_prob("頭", "發", 0.3)


def test_readings_in_zhuyin_for_traditional_writers():
    from hwime.language import reading

    assert reading("這", 1, style="zhuyin") == "ㄓㄜˋ" and reading("這", 1) == "zhè"
    with pytest.raises(ValueError, match="pinyin or zhuyin"):
        reading("這", style="wade-giles")


def test_settings_keep_working_and_refuse_an_unknown_script(tmp_path):
    from hwime.settings import Settings, load_settings

    old = tmp_path / "old.json"
    old.write_text(json.dumps({"output_mode": "type", "language": "zh"}), encoding="utf-8")  # before scripts
    settings, warnings = load_settings(old)
    assert settings.script == "auto" and settings.output_mode == "type" and not warnings
    assert settings.writer_script("zh_TW.UTF-8") == "traditional" and settings.writer_script("zh_CN") == "simplified"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"script": "cyrillic", "language": "zh_TW"}), encoding="utf-8")
    settings, warnings = load_settings(bad)
    assert settings.script == "auto" and settings.language == "zh_TW"
    assert len(warnings) == 1 and "script='cyrillic' is not valid" in warnings[0]
    assert Settings(script="both").writer_script() == "both"


def test_the_command_line_takes_a_script_and_refuses_others_in_one_line(both_scripts, tmp_path):
    rec = both_scripts("both")
    ink = tmp_path / "x.json"
    ink.write_text(json.dumps({"strokes": [[[10, 10], [90, 90]]]}), encoding="utf-8")
    run = [sys.executable, "-m", "hwime", "recognize", "--model", str(rec.path), "--json"]
    bad = subprocess.run(run + ["--script", "cyrillic", str(ink)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "--script: unknown script 'cyrillic': choose simplified, traditional or both" in bad.stderr
    for script in SCRIPTS:
        out = subprocess.run(run + ["--script", script, "--top", str(len(LABELS)), str(ink)], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        chars = [c["char"] for c in json.loads(out.stdout)["candidates"] if c["score"] > 0]
        assert ("這" in chars) == (script != "simplified") and ("ー" in chars) == (script == "both")
    suggest = subprocess.run([sys.executable, "-m", "hwime", "suggest", "--script", "traditional", "--json", "中"],
                             capture_output=True, text=True, timeout=120)
    assert "國" in [s["text"] for s in json.loads(suggest.stdout)["suggestions"]]


def test_what_the_writer_taught_in_one_script_helps_in_the_other(both_scripts, tmp_path):
    from conftest import ink_kou, ink_shi
    from hwime.personal import Profile

    rec = both_scripts("traditional")
    rec.attach_profile(Profile(tmp_path / "profile"))
    ink = ink_shi()
    rec.learn(ink, "國")
    assert rec.recognize_ink(ink, 3)[0].char == "國"
    assert rec.recognize_ink(ink, 3, script="simplified")[0].char == "国"  # the same writer, now in simplified
    rec.learn(ink_kou(), "这")  # taught as simplified: 這 for the traditional script
    assert rec.recognize_ink(ink_kou(), 3, script="traditional")[0].char == "這"
