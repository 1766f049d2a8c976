"""hwime.ranking: the score terms, configured by frozen options (no switch on the recognizer)."""

import dataclasses

import numpy as np
import pytest
import torch

from hwime.bundle import LabelCodec
from hwime.ranking import Ranker, RankingOptions, RankingValues


@pytest.fixture
def ranker():
    return Ranker(LabelCodec("的口日1。"), RankingValues(prior_weight=1.0, score_temperature=1.0))


def test_options_are_frozen_and_the_prior_is_per_call(ranker):
    options = RankingOptions("simplified")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.prior = False  # type: ignore[misc]
    probs = torch.tensor([[0.30, 0.36, 0.34, 0.0, 0.0]])
    shape_alone = ranker.rank(probs, 3, RankingOptions("simplified", prior=False))[0]
    with_usage = ranker.rank(probs, 3, options)[0]
    assert shape_alone[0].char == "口"
    assert with_usage[0].char == "的"  # far commoner: the usage prior lifts it over a shape read a little higher
    assert ranker.rank(probs, 3, RankingOptions("simplified", prior=False))[0] == shape_alone  # nothing was flipped


def test_a_faint_symbol_is_offered_only_after_the_characters(ranker):
    scores = torch.tensor([[0.60, 0.30, 0.096, 0.003, 0.001]])
    offered = ranker.offered(scores)
    assert offered[0, 3] < 0 and offered[0, 4] < 0 and offered[0, 2] > 0
    assert torch.equal(ranker.offered(scores, floor=0.0), scores)
    symbol_first = torch.tensor([[0.1, 0.1, 0.1, 0.69, 0.01]])
    assert torch.equal(ranker.offered(symbol_first), symbol_first)  # symbols are being written: left as they are


def test_the_temperature_keeps_the_order_and_softens_the_reported_scores():
    ranker = Ranker(LabelCodec("甲乙丙"), RankingValues(score_temperature=2.0))
    scores = torch.tensor([[0.8, 0.15, 0.05]])
    reported = ranker.calibrated(scores)
    assert reported.argsort(descending=True).tolist() == [[0, 1, 2]]
    assert float(reported[0, 0]) < 0.8 and float(reported.sum()) == pytest.approx(1.0, rel=1e-6)
    assert torch.equal(ranker.calibrated(scores, temperature=1.0), scores)


def test_the_writers_term_adds_its_bonus_for_the_features(ranker):
    class Taught:  # the PersonalTerm protocol: a bonus for 日 whatever the features
        def __len__(self):
            return 1

        def bonus(self, features):
            out = np.zeros((len(features), 5), np.float32)
            out[:, 2] = 5.0
            return out

        def doubtful(self):
            return np.zeros(5, bool)  # taught more than once

    probs = torch.tensor([[0.30, 0.36, 0.34, 0.0, 0.0]])
    options = RankingOptions("simplified", prior=False)
    assert ranker.rank(probs, 1, options, np.zeros((1, 4), np.float32), Taught())[0][0].char == "日"
    assert ranker.rank(probs, 1, options, None, Taught())[0][0].char == "口"  # no features of the pass: no term


class OnePick:
    """The PersonalTerm protocol: 的 taught ``samples`` times (one of them a slip the network did not read as 的),
    its bonus 5 (a drawing just like the one taught)."""

    def __init__(self, samples: int):
        self.samples = samples

    def __len__(self):
        return 1

    def bonus(self, features):
        out = np.zeros((len(features), 5), np.float32)
        out[:, 0] = 5.0
        return out

    def doubtful(self):
        return np.array([self.samples == 1, False, False, False, False])


def test_one_pick_does_not_outweigh_a_confident_reading_of_something_else(ranker):
    options = RankingOptions("simplified", prior=False)
    features = np.zeros((1, 4), np.float32)
    confident = torch.tensor([[0.01, 0.90, 0.07, 0.01, 0.01]])  # a clear 口; 的 was picked once for one by mistake
    chars = [c.char for c in ranker.rank(confident, 5, options, features, OnePick(1))[0]]
    assert chars[0] == "口" and chars.index("的") > 1  # not first, and not lifted over the network's own second
    assert ranker.rank(confident, 1, options, features, OnePick(2))[0][0].char == "的"  # taught twice: the writer's
    unsure = torch.tensor([[0.05, 0.40, 0.35, 0.10, 0.10]])
    assert ranker.rank(unsure, 1, options, features, OnePick(1))[0][0].char == "的"  # one pick decides a doubt


def test_the_first_reading_lends_to_its_look_alikes_before_symbols_and_unrelated_characters():
    from hwime.ranking import LookAlikes

    ranker = Ranker(LabelCodec("口日回钴。"), RankingValues())
    # head rows: 日 and 回 point almost where 口 does; 钴 and 。 elsewhere
    ranker.look_alikes = LookAlikes(np.array([[1, 0, 0], [0.9, 0.44, 0], [0.85, 0.5, 0], [0, 0, 1], [0.3, 0, 0.95]]),
                                    neighbours=3)
    probs = torch.tensor([[0.25, 0.03, 0.02, 0.08, 0.07]])  # a box drawn alone: unsure, 钴 and 。 its runners-up
    probs = probs / probs.sum() * 0.3  # (the rest of the classes hold the other 70%)
    options = RankingOptions("simplified", prior=False)
    assert [c.char for c in ranker.rank(probs, 5, dataclasses.replace(options, look_alikes=False))[0]] == \
        ["口", "钴", "。", "日", "回"]
    # the look-alikes come before the symbol; a character people write (钴) keeps its place: a right answer there
    # is never pushed down
    assert [c.char for c in ranker.rank(probs, 5, options)[0]] == ["口", "钴", "日", "回", "。"]
    tie = torch.tensor([[0.30, 0.29, 0.01, 0.2, 0.2]])  # a look-alike close behind never passes the first
    assert [c.char for c in ranker.rank(tie, 2, options)[0]] == ["口", "日"]


def test_a_tap_reads_as_a_dot():
    from hwime.ink import Ink

    assert Ink.from_strokes([[[150, 150]]]).is_tap and Ink.from_strokes([[[150, 150], [150.5, 150.4]]]).is_tap
    assert not Ink.from_strokes([[[150, 150], [160, 150]]]).is_tap
    assert not Ink.from_strokes([[[0.1, 0.5], [0.9, 0.5]]]).is_tap  # a 一 in 0..1 units is narrower than a pixel
    assert not Ink.from_strokes([[[150, 150]], [[160, 150]]]).is_tap  # two dots are 冫 or ：, not one
    ranker = Ranker(LabelCodec("口0中。、"), RankingValues())
    probs = torch.tensor([[0.5, 0.2, 0.2, 0.06, 0.04], [0.5, 0.2, 0.2, 0.06, 0.04]])  # a disc, squared up: 口 0
    rows = ranker.rank(probs, 5, RankingOptions("simplified", prior=False), taps=np.array([True, False]))
    assert [c.char for c in rows[0]][:2] == ["。", "、"] and rows[1][0].char == "口"


@pytest.mark.parametrize("script", ["simplified", "traditional", "both"])
def test_rank_offers_exactly_what_the_terms_scores_offer_and_calibrate(script):
    """rank reads its offer from the terms' log-scores (no second softmax over every class): the same order as
    offered(scores) and the same reported scores as calibrated(scores), on the bundled model's real readings, with
    and without context, at the bundle's temperature and at others, with the symbol floor at work."""
    from conftest import ink_kou, ink_shi
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(None, "cpu", script=script)
    probs, features = rec.characters.probabilities(np.stack([rec.sample_image(ink, None) for ink in (ink_shi(), ink_kou())]))
    rng = np.random.default_rng(0)
    noisy = torch.softmax(torch.log(probs) + torch.from_numpy(rng.normal(0, 3, probs.shape).astype(np.float32)), 1)
    for values in (rec.ranker.values, dataclasses.replace(rec.ranker.values, score_temperature=1.0),
                   dataclasses.replace(rec.ranker.values, score_temperature=2.5, symbol_floor=0.2)):
        ranker = Ranker(rec.ranker.codec, values)
        ranker.look_alikes = rec.ranker.look_alikes
        for rows in (probs, noisy):
            for options in (RankingOptions(script), RankingOptions(script, "中"),
                            RankingOptions(script, prior=False, look_alikes=False)):
                got = ranker.rank(rows, 25, options, features)
                scores = ranker.scores(rows, options, features)
                order = ranker.offered(scores).topk(25, dim=1).indices
                want = ranker.calibrated(scores).gather(1, order)
                for cands, idx, val in zip(got, order.tolist(), want.tolist()):
                    assert np.allclose([c.score for c in cands], val, rtol=1e-4, atol=1e-7 * max(val))
                    for c, j, v in zip(cands, idx, val):
                        # look-alikes lifted to one ceiling tie, and ties may come in either order
                        tied = [ranker.labels[k] for k, w in zip(idx, val) if abs(w - v) <= 1e-5 * v]
                        assert c.char == ranker.labels[j] or c.char in tied or abs(v - val[-1]) <= 1e-5 * v
