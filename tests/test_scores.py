"""Scores a person or a program can use (issue 26 item 3): calibrated by the bundle's temperature without changing
the order, refused at load when the temperature is not a sane number, chosen by `tune-temperature` to lower the
calibration error, line candidates highest first, and printed with enough digits to tell the runners-up apart."""

import json
import math
import re
import shutil

import numpy as np
import pytest
import torch

from conftest import TINY_LABELS, glyph_image, ink_kou, ink_shi, line_ink
from hwime.cli import main
from hwime.recognizer import Candidate, LineCandidate, ModelError, Recognizer
from hwime.raster import normalize, prepare_image
from hwime.training.__main__ import main as training_main
from hwime.training.evaluate import score_set
from hwime.training.export import set_bundle_values
from hwime.training.realsets import LabelledSet

# three significant digits: 0.912, 0.0412, 3.10e-05, 1.00
THREE_DIGITS = re.compile(r"^(?:1\.00|0\.0*[1-9]\d\d|[1-9]\.\d\de-\d+)$")


def with_values(src, dst, **values):
    shutil.copy(src, dst)
    return set_bundle_values(dst, **values)


def inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    noise = [np.where(rng.random((40, 40)) < 0.15, 0, 255).astype(np.uint8) for _ in range(6)]
    return [glyph_image(), glyph_image((30, 80))] + noise


def test_the_scores_are_softmax_of_the_logits_over_the_bundles_temperature(tiny_bundle, tmp_path):
    rec = Recognizer.load(with_values(tiny_bundle, tmp_path / "t.pt", score_temperature=2.5), "cpu")
    images = inputs()
    found = rec.recognize_images(images, top=len(TINY_LABELS), prior=False)
    batch = np.stack([prepare_image(im, rec.spec) for im in images])
    with torch.inference_mode():
        expected = torch.softmax(rec.model(torch.from_numpy(normalize(batch, rec.spec))) / 2.5, dim=1)
    for cands, row in zip(found, expected):
        assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
        assert [c.score for c in cands] == pytest.approx([float(row[TINY_LABELS.index(c.char)]) for c in cands],
                                                         abs=1e-5)


def test_the_temperature_changes_the_scores_not_the_order(tiny_bundle, tmp_path):
    # with the usage prior and a context in the ranking too: the order is theirs, only the reported score moves
    plain = Recognizer.load(with_values(tiny_bundle, tmp_path / "t1.pt", prior_weight=0.5), "cpu")
    warm = Recognizer.load(with_values(tiny_bundle, tmp_path / "t3.pt", prior_weight=0.5, score_temperature=3.0), "cpu")
    cold = Recognizer.load(with_values(tiny_bundle, tmp_path / "t05.pt", prior_weight=0.5, score_temperature=0.5), "cpu")
    for context in ("", "中"):
        a, b, c = (r.recognize_images(inputs(), top=len(TINY_LABELS), context=context) for r in (plain, warm, cold))
        for x, y, z in zip(a, b, c):
            assert [k.char for k in x] == [k.char for k in y] == [k.char for k in z]
            assert y[0].score < x[0].score < z[0].score  # flatter above 1, sharper below
            assert sum(k.score for k in y) == pytest.approx(1.0, abs=1e-4)
    assert warm.recognize_ink(ink_shi())[0].char == plain.recognize_ink(ink_shi())[0].char


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0, 0.05, 11.0, "2", True, None])
def test_a_bundle_with_a_bad_temperature_is_refused_at_load(tiny_bundle, tmp_path, value):
    bundle = torch.load(tiny_bundle, weights_only=True)
    bundle["score_temperature"] = value
    torch.save(bundle, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match=r"bad\.pt: score_temperature must be a number from 0\.1 to 10"):
        Recognizer.load(tmp_path / "bad.pt", "cpu")
    shutil.copy(tiny_bundle, tmp_path / "good.pt")
    with pytest.raises(ModelError, match="score_temperature"):  # nor written by the tuner
        set_bundle_values(tmp_path / "good.pt", score_temperature=value)
    assert "score_temperature" not in torch.load(tmp_path / "good.pt", weights_only=True)


def overconfident_set(rec: Recognizer, monkeypatch, n: int = 2000, sharpness: float = 2.5) -> LabelledSet:
    """Samples whose truth is drawn from softmax(z) while the 'network' says softmax(sharpness · z): a model sure of
    itself ``sharpness`` times too much. Each image carries its sample's number, which the patched network reads."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, len(rec.labels))) * 1.5
    z[np.arange(n), rng.integers(0, len(rec.labels), n)] += 2.0
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    truth = [rec.labels[rng.choice(len(rec.labels), p=row)] for row in p]
    said = torch.softmax(torch.from_numpy(sharpness * z), dim=1).float()
    images = np.zeros((n, rec.spec.size, rec.spec.size), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    monkeypatch.setattr(rec, "forward",
                        lambda batch: said[torch.from_numpy(batch[:, 0, 0].astype(np.int64) * 256 + batch[:, 0, 1])])
    return LabelledSet("synthetic", images, truth)


def test_the_chosen_temperature_lowers_the_calibration_error(tiny_bundle, monkeypatch):
    from hwime.training.evaluate import choose_temperature

    rec = Recognizer.load(tiny_bundle, "cpu")
    data = overconfident_set(rec, monkeypatch)
    best, table = choose_temperature(rec, [data])
    at = {row["temperature"]: row for row in table}
    before, after = at[1.0]["synthetic"]["ece"], at[best]["synthetic"]["ece"]
    assert 1.8 < best < 3.5  # near the 2.5 the set was made overconfident by
    assert after < before / 4
    assert len({row["synthetic"]["top1"] for row in table}) == 1  # every T: the same first candidates
    # the evaluation report measures the scores as the pad shows them, with the bundle's T set to the chosen one
    rec.set_ranking_values(score_temperature=best)
    report = score_set(rec, data)
    assert report["ece"] == pytest.approx(after, abs=1e-6)
    assert report["ece_temperature_1"] == pytest.approx(before, abs=1e-6)


def test_calibration_error_is_the_gap_between_score_and_accuracy():
    from hwime.training.evaluate import calibration_error

    conf = np.array([0.95] * 10 + [0.55] * 10)
    correct = np.array([True] * 9 + [False] + [True] * 4 + [False] * 6)
    ece, rows = calibration_error(conf, correct)
    assert ece == pytest.approx(0.5 * 0.05 + 0.5 * 0.15)
    assert [(n, round(acc, 2)) for _, _, acc, n in rows] == [(10, 0.4), (10, 0.9)]


def test_tune_temperature_writes_a_temperature_the_bundle_loads_with(tiny_bundle, tmp_path, capsys):
    model = shutil.copy(tiny_bundle, tmp_path / "m.pt")
    samples = tmp_path / "set.jsonl"
    samples.write_text("".join(json.dumps({"char": ch, "strokes": ink.to_json()["strokes"]}) + "\n"
                               for ch, ink in [("十", ink_shi()), ("口", ink_kou())] * 3), encoding="utf-8")
    assert training_main(["tune-temperature", str(model), "--eval", str(samples), "--every", "2", "--device", "cpu",
                          "--write"]) == 0
    out = capsys.readouterr().out
    chosen = float(re.search(r"chosen T = ([\d.]+)", out).group(1))
    assert "set: 3 samples" in out and "| T |" in out and f"stored score_temperature={chosen:g}" in out
    assert Recognizer.load(model, "cpu").score_temperature == pytest.approx(chosen)
    assert training_main(["tune-temperature", str(model), "--eval", str(samples), "--every", "2", "--offset", "2"]) == 2


def test_line_shares_never_put_a_string_above_the_decoders_best():
    from hwime.readers import line_shares

    shares = line_shares([-1.0, -6.0, -2.0, 1.0])
    assert shares.sum() == pytest.approx(1.0)
    assert shares[0] == pytest.approx(shares[3]) and shares[0] > shares[2] > shares[1]


def test_line_candidates_and_each_positions_alternatives_come_highest_first():
    from hwime.readers import sorted_line_candidates

    def cand(text, score, *alts):
        return LineCandidate(text, score, tuple(tuple(Candidate(c, s) for c, s in pos) for pos in alts))

    found = [cand("再春季", 0.7, [("再", 0.9), ("冉", 0.1)]), cand("冉春季", 0.0, [("冉", 0.1), ("再", 0.9)]),
             cand("一再春季", 0.3, [("一", 0.4), ("二", 0.6)])]
    out = sorted_line_candidates(found)
    assert [c.text for c in out] == ["再春季", "一再春季", "冉春季"]
    assert [[a.char for a in pos] for pos in out[1].chars] == [["二", "一"]]
    tied = sorted_line_candidates([cand("甲", 0.5, [("甲", 0.5), ("乙", 0.5)]), cand("乙", 0.5, [("乙", 0.5)])])
    assert [c.text for c in tied] == ["甲", "乙"] and tied[0].chars[0][0].char == "甲"  # ties keep the decoder's


@pytest.fixture
def out_of_order(monkeypatch):
    """The line ranker's order as it often is: the best, then its one-character variants the beam scored far below
    a string with one character more (再春季 0.70 … 一再春季 0.30 fifth), one variant its frames read above the best,
    and a position whose own character its shape reads second."""
    from hwime import decode as ctc

    from hwime.readers import LineReader

    original = LineReader._rank

    def ranked(log_probs, found, alternatives):
        order, alts_of = original(log_probs, found, alternatives)
        best = order[0]
        other = next(k for k, _ in alts_of[0] if k != best.labels[0])
        own = best.labels[0]
        alts_of = [[(other, 0.6), (own, 0.4)] + [(k, p) for k, p in alts_of[0] if k not in (own, other)][:2]] + \
            alts_of[1:]
        low = ctc.Decoded((other,) + best.labels[1:], best.score - 8.0, best.spans)
        high = ctc.Decoded(best.labels[:-1] + (other,), best.score + 3.0, best.spans)
        longer = ctc.Decoded(best.labels + best.labels[-1:], best.score - 1.0, best.spans + best.spans[-1:])
        return [best, low, longer, high], alts_of

    monkeypatch.setattr(LineReader, "_rank", staticmethod(ranked))


def test_a_lines_candidates_come_out_sorted_by_score(tiny_v3, out_of_order):
    rec = Recognizer.load(tiny_v3, "cpu")
    found = rec.recognize_line(line_ink("中国人民"), top=5)
    assert found[0].text == "中国人民"  # the reading stays the decoder's
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert found[2].text == "中国人民民"  # one character more, scored above the variants the beam ranked lower
    for alts in found[0].chars:
        assert [a.score for a in alts] == sorted((a.score for a in alts), reverse=True)


def test_the_line_cli_prints_in_score_order_with_three_digits(tiny_v3, out_of_order, tmp_path, capsys):
    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps({"text": "中国人民", "strokes": line_ink("中国人民").to_json()["strokes"]}) + "\n",
                     encoding="utf-8")
    assert main(["recognize", "--model", str(tiny_v3), "--device", "cpu", "--line", "--top", "4", str(lines)]) == 0
    shown = capsys.readouterr().out.split("\t")[1].split("  ")
    scores = [s.rsplit(" ", 1)[1] for s in shown]
    assert all(THREE_DIGITS.match(s) for s in scores), scores
    assert [float(s) for s in scores] == sorted((float(s) for s in scores), reverse=True)
    assert shown[0].startswith("中国人民 ")


def test_the_cli_prints_scores_with_three_significant_digits(tiny_bundle, tmp_path, capsys, monkeypatch):
    ink = tmp_path / "shi.json"
    ink.write_text(json.dumps(ink_shi().to_json()), encoding="utf-8")
    assert main(["recognize", "--model", str(tiny_bundle), "--top", "5", str(ink)]) == 0
    scores = capsys.readouterr().out.split("\t")[1].split("  ")
    assert all(THREE_DIGITS.match(s.split(" ")[1]) for s in scores), scores
    # a sure first and tiny runners-up (字/60.png: 宇 1.00 … 字 0.00): each keeps its own size, in text and JSON
    sure = [Candidate("宇", 0.99961), Candidate("字", 3.1e-4), Candidate("宁", 2.54e-6)]
    monkeypatch.setattr(Recognizer, "recognize_prepared", lambda self, batch, *a, **k: [sure] * len(batch))
    assert main(["recognize", "--model", str(tiny_bundle), str(ink)]) == 0
    assert capsys.readouterr().out.split("\t")[1].strip() == "宇 1.00  字 0.000310  宁 2.54e-06"
    assert main(["recognize", "--model", str(tiny_bundle), "--json", str(ink)]) == 0
    got = [c["score"] for c in json.loads(capsys.readouterr().out)["candidates"]]
    assert got == [0.9996, 0.00031, 2.54e-06] and not any(math.isclose(s, 0.0) for s in got)
