"""Junk in the top 10 (issue 26 item 4): a digit, Latin letter or punctuation mark is offered beside characters only
where its score is a real share of the first candidate's; a likely one (a 9 drawn as a 9, a 。 the context favours)
stays; characters never leave the list for it."""

import numpy as np
import pytest
import torch

from hwime import Recognizer
from hwime.recognizer import ModelError
from hwime.ranking import SYMBOL_FLOOR


@pytest.fixture(scope="module")
def rec():
    return Recognizer.load(None, "cpu", script="simplified")


def probabilities(rec, shares: dict[str, float]) -> torch.Tensor:
    """A row of model probabilities: the given shares, the rest spread evenly over every other label."""
    probs = torch.full((1, len(rec.labels)), 0.0)
    rest = (1 - sum(shares.values())) / (len(rec.labels) - len(shares))
    probs += rest
    for ch, p in shares.items():
        probs[0, rec.labels.index(ch)] = p
    return probs


def test_a_faint_symbol_makes_room_for_the_next_character(rec):
    shares = {"我": 0.9, "找": 0.03, "。": 0.002, "9": 0.001, "g": 0.0015, "戎": 0.0008, "伐": 0.0005}
    got = [c.char for c in rec.rank(probabilities(rec, shares), 10, prior=False)[0]]
    assert got[:2] == ["我", "找"] and not {"。", "9", "g"} & set(got)
    assert {"戎", "伐"} <= set(got)  # characters scoring less than the symbols are offered instead
    rec.set_ranking_values(symbol_floor=0.0)
    try:
        floorless = [c.char for c in rec.rank(probabilities(rec, shares), 10, prior=False)[0]]
    finally:
        rec.set_ranking_values(symbol_floor=SYMBOL_FLOOR)
    assert {"。", "9", "g"} <= set(floorless)  # the floor, not the shares, keeps them out


def test_a_likely_symbol_stays_and_a_symbol_first_is_first(rec):
    got = [c.char for c in rec.rank(probabilities(rec, {"口": 0.6, "ロ": 0.1, "O": 0.2, "0": 0.05}), 10, prior=False)[0]]
    assert got[:3] == ["口", "O", "0"]  # ロ is kana: not answered in simplified at all
    # a symbol first: symbols are being written, and look-alikes of any score are offered (l 1 I 丨)
    got = [c.char for c in rec.rank(probabilities(rec, {"l": 0.7, "1": 0.2, "丨": 0.09, "I": 0.0004}), 10,
                                    prior=False)[0]]
    assert got[:3] == ["l", "1", "丨"] and "I" in got
    got = [c.char for c in rec.rank(probabilities(rec, {"丨": 0.7, "1": 0.2, "l": 0.0004}), 10, prior=False)[0]]
    assert got[:2] == ["丨", "1"] and "l" not in got  # below a character, the floor holds


def test_the_floor_keeps_each_reported_score(rec):
    shares = {"学": 0.8, "：": 0.05, "觉": 0.1}
    ranked = rec.rank(probabilities(rec, shares), 3, prior=False)[0]
    plain = rec.calibrated(rec.scores(probabilities(rec, shares), prior=False))[0]
    assert [c.char for c in ranked] == ["学", "觉", "："]
    for c in ranked:
        assert c.score == pytest.approx(float(plain[rec.labels.index(c.char)]), rel=1e-5)


def test_a_bundle_floor_out_of_range_is_refused(tmp_path):
    bundle = torch.load(Recognizer.load(None, "cpu").path, weights_only=True)
    for bad in (1.5, -0.1, float("nan"), "high"):
        bundle["symbol_floor"] = bad
        torch.save(bundle, tmp_path / "b.pt")
        with pytest.raises(ModelError, match="symbol_floor must be a number from 0.0 to 1.0"):
            Recognizer.load(tmp_path / "b.pt", "cpu")
