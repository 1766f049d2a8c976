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


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_pass_with_a_nan_or_infinite_logit_in_one_row_is_refused_with_its_file_named(bad):
    import torch

    from conftest import ink_kou, ink_shi
    from hwime.raster import ink_to_image
    from hwime.readers import RecognitionError
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(None, "cpu")  # the bundled model: a CTC network, read by each class's best frame
    squares = np.stack([ink_to_image(ink, rec.spec) for ink in (ink_shi(), ink_kou())])
    logits, features = rec.characters.logits(squares)
    fine, _ = rec.characters.pass_probabilities(logits, features)
    assert torch.allclose(fine.sum(dim=1), torch.ones(2))
    logits = logits.clone()
    logits[1, 0, 3] = bad  # one frame of the second square
    if bad == float("-inf"):  # a class ruled out is no damage: the row still reads
        assert torch.isfinite(rec.characters.pass_probabilities(logits, features)[0]).all()
        return
    with pytest.raises(RecognitionError, match=f"NaN scores.*{rec.path.name}"):
        rec.characters.pass_probabilities(logits, features)
