"""Overlapped writing (叠写): the segmenter file, the incremental reader, bad input."""

import time

import numpy as np
import pytest
import torch

from hwime.ink import Ink
from hwime.overlap import MAX_OVERLAP_STROKES, OverlapReader, read_overlapped
from hwime.recognizer import Recognizer
from hwime.segmenter import Segmenter, SegmenterError, StrokeGeometry


@pytest.fixture(scope="module")
def rec():
    torch.set_num_threads(1)
    return Recognizer.load(None, "cpu", script="simplified")


@pytest.fixture(scope="module")
def seg():
    return Segmenter.load()  # the shipped one, assets/segmenter.pt


def overlapped(text: str, box: float = 100.0) -> Ink:
    """``text`` written along its Make Me a Hanzi medians, each character scaled to the box and centred in it,
    one on top of another, strokes in writing order (as lines-dev/overlap.jsonl lays real traces)."""
    from hwime.training.strokedata import StrokeTable

    table, strokes = StrokeTable(), []
    for ch in text:
        medians = table.medians(ch)
        pts = np.concatenate(medians)
        low, high = pts.min(axis=0), pts.max(axis=0)
        k = box / float((high - low).max())
        strokes += [((m - (low + high) / 2) * k + box / 2).tolist() for m in medians]
    return Ink.from_strokes(strokes)


def test_segmenter_round_trips_through_a_file(tmp_path):
    torch.manual_seed(1)
    seg = Segmenter.new(hidden=16, metadata={"max_span": 12})
    path = tmp_path / "seg.pt"
    seg.save(path)
    back = Segmenter.load(path)
    assert back.config["max_span"] == 12
    geo = StrokeGeometry()
    rows = np.stack([geo.add(s) for s in overlapped("中国").strokes])
    np.testing.assert_allclose(back.log_start_all(rows), seg.log_start_all(rows), rtol=1e-6)
    spans = geo.span_rows(len(rows) - 1, np.arange(len(rows)))
    np.testing.assert_allclose(back.log_whole(spans), seg.log_whole(spans), rtol=1e-6)
    # stepping one stroke at a time (the reader) gives what the whole sequence gives
    state, stepped = None, []
    for row in rows:
        lp, state = back.step(row, state)
        stepped.append(lp)
    np.testing.assert_allclose(stepped, back.log_start_all(rows), rtol=1e-5, atol=1e-6)


def test_corrupt_or_foreign_segmenter_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "seg.pt"
    Segmenter.new(hidden=16).save(path)
    data = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SegmenterError, match="cut.pt"):
        Segmenter.load(cut)
    state = Segmenter.new(hidden=16).state()
    state["format"] = "something-else"
    torch.save(state, tmp_path / "foreign.pt")
    with pytest.raises(SegmenterError, match="foreign.pt"):
        Segmenter.load(tmp_path / "foreign.pt")
    state = Segmenter.new(hidden=16).state()
    next(iter(state["boundary"].values())).fill_(float("nan"))
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(SegmenterError, match="NaN"):
        Segmenter.load(tmp_path / "nan.pt")
    state = Segmenter.new(hidden=16).state()
    state["config"]["weights"] = {"bonus": float("nan")}
    torch.save(state, tmp_path / "weights.pt")
    with pytest.raises(SegmenterError, match="weights"):
        Segmenter.load(tmp_path / "weights.pt")
    with pytest.raises(SegmenterError, match="missing.pt"):
        Segmenter.load(tmp_path / "missing.pt")


def test_shipped_segmenter_is_small(seg):
    from hwime.bundled import asset_path

    assert asset_path("segmenter.pt").stat().st_size <= 1_000_000


@pytest.mark.parametrize("text", ["中国", "好人"])
def test_reader_reads_two_overlapped_characters_as_both(rec, seg, text):
    ink = overlapped(text)
    found = read_overlapped(rec, ink, 5, segmenter=seg)
    assert found[0].text == text
    # the spans it read are the characters' own strokes
    from hwime.training.strokedata import StrokeTable

    first = len(StrokeTable().medians(text[0]))
    assert found[0].spans == ((0, first - 1), (first, len(ink.strokes) - 1))
    assert all(alts[0].char == c for c, alts in zip(found[0].text, found[0].chars))
    assert abs(sum(c.score for c in found) - 1) < 1e-6 and found[0].score >= found[-1].score


def test_empty_one_stroke_and_too_many_strokes_answer_at_once(rec, seg):
    assert read_overlapped(rec, Ink(()), segmenter=seg) == []
    one = read_overlapped(rec, Ink.from_strokes([[[10, 50], [90, 50]]]), segmenter=seg)
    assert len(one[0].text) == 1 and one[0].spans == ((0, 0),)
    many = Ink.from_strokes([[[i % 100, 10], [i % 100, 90]] for i in range(1000)])
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=str(MAX_OVERLAP_STROKES)):
        read_overlapped(rec, many, segmenter=seg)
    assert time.perf_counter() - t0 < 1.0  # refused before any reading


def test_a_long_drawing_reads_only_bounded_spans_per_stroke(rec, seg):
    reader = OverlapReader(rec, seg, new_spans=4)
    for stroke in overlapped("中国人大").strokes:
        reader.add(stroke)
    # each stroke: at most new_spans spans ending at it, and as many again when the next stroke looks back at it
    assert 0 < reader.spans_read <= 2 * 4 * len(reader)


def test_spans_are_read_by_shape_alone_without_the_boxs_look_alikes(rec, seg):
    # a square 口: the single box lends part of its doubt to 日 匚 …; the search decodes the network's own reading
    kou = Ink.from_strokes([[[190, 170], [190, 330]], [[190, 170], [342, 170], [342, 330]], [[190, 330], [342, 330]]])
    reader = OverlapReader(rec, seg)
    for stroke in kou.strokes:
        reader.add(stroke)
    cell = [(c.char, c.score) for c in reader.candidates(5)[0].chars[0]]
    alone = rec.recognize_inks([kou], top=len(cell), prior=False, look_alikes=False)[0]
    lent = rec.recognize_inks([kou], top=len(cell), prior=False)[0]
    assert cell == [(c.char, c.score) for c in alone]
    assert [c.char for c in lent] != [c.char for c in alone]  # the box's list is another one


def test_undo_restores_the_previous_reading(rec, seg):
    ink = overlapped("中国")
    reader = OverlapReader(rec, seg)
    for stroke in ink.strokes[:-1]:
        reader.add(stroke)
    before = reader.candidates(5)
    reader.add(ink.strokes[-1])
    assert reader.candidates(5) != before
    reader.undo()
    assert reader.candidates(5) == before
    reader.add(ink.strokes[-1])
    assert reader.candidates(5)[0].text == "中国"


def test_cli_overlapped_prints_what_line_prints(tmp_path, capsys):
    import json

    from hwime.cli import main

    rows = tmp_path / "set.jsonl"
    good = {"text": "中国", "strokes": overlapped("中国").to_json()["strokes"]}
    rows.write_text(json.dumps(good, ensure_ascii=False) + "\n" + '{"text": "x", "strokes": []}\n'
                    + '{"strokes": "no"}\n' + '{"strokes": [[[10, 50], [90, 60]]]}\n', encoding="utf-8")
    many = tmp_path / "many.json"
    many.write_text(json.dumps({"strokes": [[[i % 100, 10], [i % 100, 90]] for i in range(1000)]}))
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("L", (40, 40), 255).save(image)
    rc = main(["recognize", "--device", "cpu", "--script", "simplified", "--overlapped", "--json",
               str(rows), str(many), str(image)])
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert rc == 1  # three inputs could not be read; the others were
    assert [o["input"] for o in out] == [f"{rows}:1", f"{rows}:2", f"{rows}:4"]
    assert all(set(o) == {"input", "label", "text", "candidates", "chars"} for o in out)
    assert out[0]["label"] == "中国" and out[0]["text"] == "中国" and len(out[0]["chars"]) == 2
    assert out[1]["text"] == "" and out[1]["candidates"] == []
    assert len(out[2]["text"]) == 1 and len(out[2]["chars"]) == 1  # one stroke: one character
    assert f"{rows}:3" in captured.err
    assert "many.json" in captured.err and str(MAX_OVERLAP_STROKES) in captured.err
    assert "a.png" in captured.err and "not images" in captured.err


def test_the_ink_unit_does_not_matter(rec, seg):
    # the segmenter measures in the ink's own box: pixels of a big pad or units of a small one read alike
    small = read_overlapped(rec, overlapped("中国", box=100.0), 3, segmenter=seg)
    big = read_overlapped(rec, overlapped("中国", box=1700.0), 3, segmenter=seg)
    assert [c.text for c in big] == [c.text for c in small]
    assert [c.spans for c in big] == [c.spans for c in small]


def test_the_best_strings_cells_offer_their_merges_and_splits(rec, seg):
    """(Issue 35: a wrong split can be fixed.) Each cell of the best string offers, after its own alternatives, the
    reading of it merged with the cell before or after (both cells' strokes as one character) and the cell split
    in two at the likeliest cut inside it; the CLI's strings (regroup off) carry none."""
    from hwime.overlap import Regrouping, stroke_parts

    ink = overlapped("中国")
    reader = OverlapReader(rec, seg)
    for stroke in ink.strokes:
        reader.add(stroke)
    plain = reader.candidates(4)
    assert not any(isinstance(a, Regrouping) for c in plain for cell in c.chars for a in cell)
    best = reader.candidates(4, regroup=True)[0]
    assert best.text == plain[0].text == "中国" and best.spans == ((0, 3), (4, 11))
    first, second = ([a for a in cell if isinstance(a, Regrouping)] for cell in best.chars)
    merge = first[0]
    assert merge is second[0] and merge.replaces == best.spans and merge.spans == ((0, 11),)
    assert len(merge.char) == 1 and merge.chars[0][0].char == merge.char
    # each cell's own reading still comes first, its alternatives before the regroupings
    assert [a.char for a in best.chars[0]][:len(plain[0].chars[0])] == [a.char for a in plain[0].chars[0]]
    for split, (a, b) in ((first[-1], (0, 3)), (second[-1], (4, 11))):
        assert split.replaces == ((a, b),) and len(split.char) == 2 and len(split.spans) == 2
        (a1, b1), (a2, b2) = split.spans
        assert a1 == a and b2 == b and b1 + 1 == a2 and a < a2 <= b
        assert [cell[0].char for cell in split.chars] == list(split.char)
    # a cell's strokes, as learning cuts them
    assert [len(p.strokes) for p in stroke_parts(ink, best.spans)] == [4, 8]


def test_one_stroke_has_nothing_to_merge_or_split(rec, seg):
    from hwime.overlap import Regrouping

    reader = OverlapReader(rec, seg)
    reader.add(Ink.from_strokes([[[10, 50], [90, 50]]]).strokes[0])
    best = reader.candidates(4, regroup=True)[0]
    assert best.spans == ((0, 0),) and not any(isinstance(a, Regrouping) for a in best.chars[0])
    assert OverlapReader(rec, seg).candidates(4, regroup=True) == []


def test_weights_of_a_file_without_the_prior_weigh_it_as_the_bigram():
    from hwime.overlap import OverlapWeights

    assert OverlapWeights.of({"weights": {"lm": 0.3, "bonus": -3}}).prior == 0.3
    assert OverlapWeights.of({"weights": {"lm": 0.3, "prior": 0.1}}).prior == 0.1
    assert OverlapWeights.of({}) == OverlapWeights()


def test_a_span_read_as_a_lone_component_pays_the_part_cost(rec, seg):
    from hwime.bundled import asset_path
    from hwime.overlap import PARTS, OverlapWeights

    standard = {c for line in asset_path("general-standard-chars.txt").read_text(encoding="utf-8").splitlines()
                if not line.startswith("#") for c in line.strip()}
    assert not PARTS & standard and "辶" in PARTS and "之" not in PARTS
    base = OverlapWeights(lm=0.2, prior=0.2, part=0.0)
    plain, costly = OverlapReader(rec, seg, base), OverlapReader(rec, seg, base._replace(part=4.0))
    assert costly._lm("反", "辶") == pytest.approx(plain._lm("反", "辶") - 4.0)
    assert costly._lm("反", "之") == plain._lm("反", "之")
    # lm and prior equal: the language term is the bigram's log-probability, as before the two were apart
    assert plain._lm("反", "之") == pytest.approx(0.2 * plain._language.next_log_prob("反", "之", plain._mix))
