"""CTC decoding (hwime.decode): greedy, the prefix beam search with and without a language model, frame spans."""

import math

import numpy as np
import pytest

from hwime.decode import beam_search, edit_distance, greedy, position_beam, span_alternatives


def frames(*rows):
    """Rows of probabilities (blank first) -> log-probabilities (T, C + 1)."""
    p = np.array(rows, dtype=np.float64)
    assert np.allclose(p.sum(1), 1)
    return np.log(np.clip(p, 1e-12, 1)).astype(np.float32)


def test_greedy_collapses_repeats_and_drops_blanks_with_spans():
    lp = frames([0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8])
    d = greedy(lp)
    assert d.labels == (0, 0, 1)  # a a (a blank between) then b
    assert d.spans == ((0, 1), (3, 3), (4, 4))


def test_beam_sums_alignments_where_greedy_takes_one_path():
    # every frame's best is the blank, yet "a" is likelier than "" over all alignments (0.64 against 0.36)
    lp = frames([0.6, 0.4], [0.6, 0.4])
    assert greedy(lp).labels == ()
    best = beam_search(lp, beam=5, prune=1e-6)
    assert best[0].labels == (0,)
    assert math.isclose(math.exp(best[0].score), 0.64, rel_tol=1e-4)
    assert [d.labels for d in best][:2] == [(0,), ()]


def test_repeated_character_needs_a_blank_between():
    lp = frames([0.05, 0.9, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05])
    assert beam_search(lp, beam=5)[0].labels == (0, 0)
    lp = frames([0.05, 0.9, 0.05], [0.05, 0.9, 0.05])
    assert beam_search(lp, beam=5)[0].labels == (0,)


def test_language_model_decides_an_ambiguous_character():
    # frame 1: class 0 surely; frame 3: class 1 or 2 nearly alike, 1 slightly ahead by shape
    lp = frames([0.02, 0.96, 0.01, 0.01], [0.98, 0.01, 0.005, 0.005], [0.02, 0.01, 0.50, 0.47])
    assert beam_search(lp, beam=5)[0].labels == (0, 1)

    def lm(prev, c):  # after class 0, class 2 is what people write
        return math.log(0.9) if (prev, c) == (0, 2) else math.log(0.05)

    with_lm = beam_search(lp, beam=5, lm=lm, lm_weight=1.0)
    assert with_lm[0].labels == (0, 2)
    assert with_lm[0].spans == ((0, 0), (2, 2))
    # the context before the line reaches the first character
    first = frames([0.1, 0.02, 0.45, 0.43])
    assert beam_search(first, beam=5)[0].labels == (1,)
    assert beam_search(first, beam=5, lm=lambda p, c: math.log(0.9 if (p, c) == (7, 2) else 0.05),
                       lm_weight=1.0, first_prev=7)[0].labels == (2,)


def test_a_start_model_scores_the_first_character_of_a_line_with_nothing_before_it():
    lp = frames([0.1, 0.02, 0.45, 0.43])  # 1 and 2 about as likely
    surname = lambda c: math.log(0.9 if c == 2 else 0.05)  # noqa: E731
    assert beam_search(lp, beam=5)[0].labels == (1,)
    assert beam_search(lp, beam=5, start=surname)[0].labels == (2,)
    # the start model stands in for the language at the start, and only there
    assert beam_search(lp, beam=5, lm=lambda p, c: math.log(0.9 if c == 1 else 0.05), lm_weight=1.0,
                       start=surname)[0].labels == (2,)
    assert beam_search(lp, beam=5, start=surname, first_prev=7)[0].labels == (1,)  # context written: not a start
    options = [[(1, math.log(0.51)), (2, math.log(0.49))], [(1, math.log(0.51)), (2, math.log(0.49))]]
    assert position_beam(options, beam=1, start=surname)[0][0] == (2, 1)


def test_position_beam_ranks_strings_of_cut_characters_with_the_language():
    options = [[(0, math.log(0.9)), (3, math.log(0.1))], [(1, math.log(0.55)), (2, math.log(0.45))]]
    plain = position_beam(options, beam=4)
    assert [labels for labels, _ in plain] == [(0, 1), (0, 2), (3, 1), (3, 2)]
    assert plain[0][1] == pytest.approx(math.log(0.9 * 0.55))

    def lm(prev, c):  # 2 follows 0; 0 starts a line after class 7
        return math.log(0.9) if (prev, c) in ((0, 2), (7, 0)) else math.log(0.05)

    ranked = position_beam(options, beam=2, lm=lm, lm_weight=1.0, first_prev=7)
    assert [labels for labels, _ in ranked] == [(0, 2), (0, 1)]
    assert ranked[0][1] == pytest.approx(math.log(0.9 * 0.9 * 0.45 * 0.9))
    assert position_beam([], beam=3) == [((), 0.0)]


def test_surely_blank_frames_carry_the_beam():
    rows = []
    for k in range(12):  # 12 characters, each one frame among seven blank ones
        row = np.full(40, 1e-6)
        row[1 + (k * 3) % 39] = 0.999
        row /= row.sum()
        rows.append(row)
        rows += [np.r_[1 - 39e-6, np.full(39, 1e-6)]] * 7
    lp = np.log(np.array(rows)).astype(np.float32)
    best = beam_search(lp, beam=10)
    assert best[0].labels == greedy(lp).labels and len(best[0].labels) == 12


def test_span_alternatives_rank_what_else_a_position_could_be():
    lp = frames([0.9, 0.05, 0.03, 0.02], [0.1, 0.6, 0.3, 0.0], [0.9, 0.05, 0.03, 0.02])
    alts = span_alternatives(lp, (1, 1), top=2)
    assert [c for c, _ in alts] == [0, 1]
    assert math.isclose(sum(p for _, p in alts), 1.0, rel_tol=1e-6)


def test_bad_input_shape_is_refused():
    with pytest.raises(ValueError, match="frames, classes"):
        beam_search(np.zeros((3,), np.float32))


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("中国", "中国", 0), ("中国", "中", 1), ("中国人", "中人", 1),
                                   ("abc", "xbz", 2), ("", "abc", 3)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d


def test_beam_search_states_its_limit_instead_of_running_for_minutes():
    from hwime.decode import MAX_BEAM_FRAMES

    frames = np.log(np.full((MAX_BEAM_FRAMES + 1, 4), 0.25))
    with pytest.raises(ValueError, match="at most 2000"):
        beam_search(frames)
    assert beam_search(frames[:240], beam=3)  # a line's worth decodes
