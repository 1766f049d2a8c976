"""A short line with nothing before it may be a name: its first character's surname odds, and nothing more."""
import math

import numpy as np
import pytest

from conftest import crosses
from hwime.recognizer import Recognizer
from hwime.readers import LineWeights


@pytest.fixture(scope="module")
def rec(tiny_v3):
    return Recognizer.load(tiny_v3, "cpu", script="simplified")


def test_what_starts_no_name_keeps_the_networks_order(rec):
    start = rec.line_start_model(1.0, 0.3)
    language, keys = rec.language("simplified"), rec.ranker.language_keys("simplified")
    plain = [i for i, ch in enumerate(keys) if ch and not language.surnames.get(ch)]
    common, rare = max(plain, key=lambda i: language.probability(keys[i])), \
        min(plain, key=lambda i: language.probability(keys[i]))
    # the old prior-and-surname mixture took ~10 nats more from a rare first character than from a common one
    assert start(common) == pytest.approx(start(rare)) == pytest.approx(math.log(0.7))
    assert start(rec.codec.index["李"]) > start(rec.codec.index["的"]) + 1  # 李 starts many names, 的 commoner but none
    assert rec.line_start_model(0.0, 0.3) is None and rec.line_start_model(1.0, 0.0) is None


def test_a_name_is_read_with_its_surname_only_at_a_short_lines_start(rec):
    li, mu = rec.codec.index["李"], rec.codec.index["木"]  # 木 is commoner in text, 李 far commoner as a name's first
    frames = np.full((6, len(rec.labels) + 1), -30.0, np.float32)
    frames[[1, 3, 5], 0] = 0.0  # blanks between the characters
    frames[0, 1 + mu], frames[0, 1 + li] = math.log(0.55), math.log(0.45)  # the network leans to 木
    frames[2, 1 + rec.codec.index["小"]] = frames[4, 1 + rec.codec.index["龙"]] = 0.0
    weights = LineWeights(0.0, 0.0, 1.0, 0.3)
    first = lambda **kw: rec.labels[rec.decode_line(frames, 10, weights=weights, **kw)[0].labels[0]]
    assert first() == "李"
    assert first(context="我叫") == "木"  # written after something: no longer a line's start
    assert first(language=False) == "木"
    pieces = [[(mu, 0.55), (li, 0.45)], [(rec.codec.index["小"], 1.0)], [(rec.codec.index["龙"], 1.0)]]
    assert rec.labels[rec.decode_reading(frames, pieces, weights=weights)[0].labels[0]] == "李"
    assert rec.labels[rec.decode_reading(frames, pieces, language=False)[0].labels[0]] == "木"


def test_a_line_of_one_character_is_read_by_its_frames_and_characters_apart_are_cut(rec):
    one = rec.read_line(crosses(1))
    assert one.pieces is None and one.spans == ()  # nothing to cut: the box's reading lost to the frames' on names
    assert [c.text for c in rec.recognize_line(crosses(1), 1)] == ["十"]
    three = rec.read_line(crosses(3))
    assert three.pieces is not None and len(three.pieces) == 3
    assert [c.text for c in rec.recognize_line(crosses(3), 1)] == ["十十十"]
