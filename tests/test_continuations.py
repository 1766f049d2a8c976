"""Continuations (issue 26 item 12): from the longest end of the context that the word list knows, backing off to
what usually comes next; scores that are a distribution; both scripts; `hwime suggest` prints them readably."""

import json
import re
import subprocess
import sys

import pytest

from hwime.language import load_language
from hwime.script import convert


@pytest.fixture(scope="module")
def simplified():
    return load_language(script="simplified")


@pytest.fixture(scope="module")
def traditional():
    return load_language(script="traditional")


def texts(lang, context, top=10):
    return [s.text for s in lang.continuations(context, top)]


def test_a_whole_word_is_continued_as_itself_not_from_its_last_character(simplified):
    after = texts(simplified, "今天")
    assert after and not any(t.startswith("安") or t == "津" for t in after)  # 天安门, 天津 start with 天, not 今天
    known = {w for w, _ in simplified.words}
    for text in after:  # a word that starts with 今天, or what comes after a word
        assert any(w.startswith("今天" + text) for w in known) or simplified.continuation_probability("", text) == 0
    assert texts(simplified, "中华人")[0] == "民共和国"  # three characters of context: the word being written
    assert texts(simplified, "天安门")[:2] == ["广场", "城楼"]


def test_a_shorter_end_counts_when_the_longer_one_is_unknown(simplified):
    assert "安门" in texts(simplified, "我爱北京天")  # 北京天, 京天 start nothing: 天 is the word being written


def test_words_and_characters_that_start_nothing_still_get_continuations(simplified):
    for context in ("我们", "们", "今天"):
        after = texts(simplified, context)
        assert len(after) == 10 and "是" in after and "在" in after  # what usually comes next


def test_scores_are_a_distribution(simplified, traditional):
    for lang, contexts in ((simplified, ["是", "中", "你", "人", "今天", "中华人", "的", "学", "我们", "电"]),
                           (traditional, ["是", "中", "我們", "中華人", "電"])):
        for context in contexts:
            after = lang.continuations(context, 10)
            scores = [s.score for s in after]
            assert all(0 < x <= 1 for x in scores) and sum(scores) <= 1 + 1e-9, context
            assert scores == sorted(scores, reverse=True), context


def test_common_characters_are_not_continued_by_odd_rare_words(simplified):
    counts = dict(simplified.words)
    common = set(simplified._units()[3])  # the commonest units (了, 是, 一个 …): what may come after any word
    for context in "你我他是的了在有不人":
        for s in simplified.continuations(context, 5):
            word = context + s.text
            usage = max((n for w, n in counts.items() if w.startswith(word)), default=0.0)
            assert usage >= 1000 or s.text in common, (context, s.text, usage)  # 你 → 死 (你死我活) is no top-5 offer
    assert "死" not in texts(simplified, "你", 5)


def test_traditional_context_gives_traditional_continuations(traditional):
    for context in ("我們", "中", "中華人", "電", "頭"):
        after = texts(traditional, context)
        assert after, context
        assert all(convert(t, "traditional") == t for t in after), (context, after)
    assert texts(traditional, "中華人")[0] == "民共和國"
    assert "髮" in texts(traditional, "頭", 5)


def test_cli_suggest_prints_three_significant_digits():
    text = subprocess.run([sys.executable, "-m", "hwime", "suggest", "--script", "simplified", "是"],
                          capture_output=True, text=True, timeout=120)
    as_json = subprocess.run([sys.executable, "-m", "hwime", "suggest", "--script", "simplified", "--json", "是"],
                             capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    shown = re.findall(r"(\S+) (\S+)", text.stdout.strip())
    suggestions = json.loads(as_json.stdout)["suggestions"]
    assert [t for t, _ in shown] == [s["text"] for s in suggestions]
    for (_, score), s in zip(shown, suggestions):
        assert score == f"{s['score']:#.3g}"  # 0.0202, 0.00940: never 0.00 beside the first
    assert sum(s["score"] for s in suggestions) <= 1 + 1e-3
