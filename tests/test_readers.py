"""hwime.readers: the character and line readers, built once from frozen options."""

import dataclasses

import numpy as np
import pytest

from conftest import line_ink
from hwime.readers import MAX_BEAM, LineOptions


def test_line_options_check_themselves_once():
    with pytest.raises(ValueError, match="top must be at least 1"):
        LineOptions("simplified", top=0)
    with pytest.raises(ValueError, match="decode must be greedy or beam"):
        LineOptions("simplified", decode="exhaustive")
    with pytest.raises(Exception, match="script"):
        LineOptions("klingon")
    with pytest.raises(dataclasses.FrozenInstanceError):
        LineOptions("simplified").top = 3  # type: ignore[misc]


def test_the_character_reader_gives_blank_squares_nothing(tiny_bundle):
    from hwime.ranking import RankingOptions
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_bundle, "cpu")
    blank = np.full((2, rec.spec.size, rec.spec.size), 255, np.uint8)
    blank[1, 8:24, 15:17] = 0
    out = rec.characters.read(blank, 3, RankingOptions("simplified"))
    assert out[0] == [] and len(out[1]) == 3


def test_a_wide_request_does_not_widen_the_beam_past_its_bound(tiny_v3, monkeypatch):
    from hwime import decode as ctc
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_v3, "cpu")
    widths = []
    original = ctc.beam_search

    def spy(log_probs, beam=10, *args, **kwargs):
        widths.append(beam)
        return original(log_probs, beam, *args, **kwargs)

    monkeypatch.setattr(ctc, "beam_search", spy)
    found = rec.recognize_line(line_ink("中国"), top=1000)
    assert found and max(widths) == MAX_BEAM
    widths.clear()
    rec.recognize_line(line_ink("中国"), top=5)
    assert max(widths) == 10  # the default beam as before
