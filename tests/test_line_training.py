"""Line training end to end: real line databases built byte by byte (.dgrl, .ptts) and an IAM-style folder,
the crnn recipe trained on them with CTC, exported, resumed, and evaluated with the CER table; composed lines."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import line_ink
from hwime.raster import render_line_ink
from hwime.training.casia import write_dgrl, write_online_page
from hwime.training.recipe import load_recipe

VOCAB = "中国人大"


def texts(seed: int, n: int, vocab: str = VOCAB) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(vocab), size=int(rng.integers(2, 5)))) for _ in range(n)]


def iam_folder(path, lines):
    path.mkdir()
    for i, t in enumerate(lines):
        Image.fromarray(render_line_ink(line_ink(t))).save(path / f"{i:04d}.png")
        (path / f"{i:04d}.txt").write_text(t + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def line_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("lines")
    write_dgrl(d / "page.dgrl", [(t, render_line_ink(line_ink(t))) for t in texts(1, 40)])
    write_online_page(d / "page.ptts", [(t, line_ink(t)) for t in texts(2, 40)])
    iam_folder(d / "iam", texts(3, 40))
    iam_folder(d / "val", texts(4, 12))
    return d


def recipe(line_data, *extra):
    return load_recipe("training/crnn-lines.toml", [
        "model.arch=\"crnn-tiny\"", "data.classes=\"found\"", "lines.synthetic=0", "lines.synthetic_val=0",
        f"lines.train={json.dumps([str(line_data / 'page.dgrl'), str(line_data / 'page.ptts'), str(line_data / 'iam')])}",
        f"lines.val={json.dumps([str(line_data / 'val')])}", "train.batch_size=8", "train.lr=3e-3",
        "train.weight_decay=0", "train.threads=2", *extra])


def test_crnn_recipe_trains_on_line_databases_and_reports_cer(line_data, tmp_path):
    from hwime.recognizer import Recognizer
    from hwime.training.__main__ import main
    from hwime.training.export import export_bundle
    from hwime.training.linetrain import train_lines

    summary = train_lines(recipe(line_data, "train.epochs=30"), tmp_path / "run", device="cpu")
    assert summary["lines"] == 120 and summary["val_lines"] == 12 and summary["classes"] == 4
    log = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 30 and log[-1]["train_loss"] < log[0]["train_loss"] / 3
    assert log[-1]["val_cer"] <= 0.25 < log[0]["val_cer"]  # it learned to read lines it never saw
    bundle = export_bundle(tmp_path / "run" / "best.pt", tmp_path / "crnn.pt")
    rec = Recognizer.load(bundle, "cpu")
    assert rec.ctc and rec.metadata["arch"] == "crnn-tiny" and rec.labels == sorted(VOCAB)
    report = tmp_path / "lines.md"
    assert main(["evaluate-lines", str(bundle), "--eval", str(line_data / "val"), "--device", "cpu",
                 "--out", str(report)]) == 0
    table = report.read_text(encoding="utf-8")
    assert table.startswith("| set | decoding | CER | line accuracy | top-5 line accuracy |")
    figures = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))[0]
    assert set(figures) >= {"greedy", "beam", "beam+lm", "re-read", "re-read+lm"}
    assert figures["greedy"]["cer"] <= 0.25
    assert f"| val (12 lines) | greedy | {figures['greedy']['cer']:.2%} |" in table


def test_line_training_resumes_at_the_next_epoch_and_refuses_another_recipe(line_data, tmp_path):
    from hwime.training import checkpoint
    from hwime.training.linetrain import train_lines

    run = tmp_path / "run"
    train_lines(recipe(line_data, "train.epochs=2"), run, device="cpu", max_steps=10)  # 15 batches an epoch
    first = checkpoint.load(run / "checkpoint.pt")["state"]
    assert (first["epoch"], first["step_in_epoch"], first["global_step"]) == (0, 10, 10)
    assert not (run / "log.jsonl").exists()  # no epoch has ended yet
    train_lines(recipe(line_data, "train.epochs=2"), run, resume=True, device="cpu", max_steps=20)
    middle = checkpoint.load(run / "checkpoint.pt")["state"]
    assert (middle["epoch"], middle["step_in_epoch"], middle["global_step"]) == (1, 5, 20)
    summary = train_lines(recipe(line_data, "train.epochs=2"), run, resume=True, device="cpu")
    assert summary["epoch"] == 2 and summary["global_step"] == 30
    assert [json.loads(r)["step"] for r in (run / "log.jsonl").read_text().splitlines()] == [15, 30]
    # the same 30 steps in one go end with the same weights: the resumed run lost and repeated nothing
    whole = tmp_path / "whole"
    train_lines(recipe(line_data, "train.epochs=2"), whole, device="cpu")
    a, b = checkpoint.load(run / "checkpoint.pt")["model"], checkpoint.load(whole / "checkpoint.pt")["model"]
    assert all(torch.allclose(a[k].float(), b[k].float(), rtol=1e-5, atol=1e-5 * float(a[k].float().abs().max())) for k in a)
    with pytest.raises(ValueError, match="another recipe: train.lr: 0.003 then, 0.01 now"):
        train_lines(recipe(line_data, "train.epochs=2", "train.lr=1e-2"), run, resume=True, device="cpu")
    with pytest.raises(ValueError, match="line training needs a CTC recognizer"):
        train_lines(recipe(line_data, "model.arch=\"hwnet\""), tmp_path / "other", device="cpu")


def test_a_run_stopped_by_max_steps_inside_an_epoch_keeps_a_best_pt_to_export(line_data, tmp_path):
    """Issue 38 item 8: training/README.md's quick try (train-lines … --max-steps 50, inside the first epoch) was
    followed by `export runs/crnn-lines/best.pt`, which did not exist: only checkpoint.pt was written."""
    from hwime.recognizer import Recognizer
    from hwime.training import checkpoint
    from hwime.training.export import export_bundle
    from hwime.training.linetrain import train_lines

    run = tmp_path / "run"
    summary = train_lines(recipe(line_data, "train.epochs=2"), run, device="cpu", max_steps=4)  # 15 batches an epoch
    assert summary["interrupted_at"] == 4 and summary["val_cer"] >= 0.0 and "signal" not in summary  # CER may pass 1
    best = checkpoint.load(run / "best.pt")
    assert best["epoch"] == 1 and abs(best["val_top1"] - (1.0 - summary["val_cer"])) < 1e-9
    assert checkpoint.load(run / "checkpoint.pt")["state"]["best_cer"] == summary["val_cer"]
    assert not (run / "log.jsonl").exists()  # the log stays one row per whole epoch
    assert Recognizer.load(export_bundle(run / "best.pt", tmp_path / "quick.pt"), "cpu").ctc


def test_composed_lines_are_drawn_by_one_writer_with_their_text(tmp_path):
    from hwime import charset
    from hwime.training.linecompose import LineComposer, SURNAMES

    labels = charset.named_set("gb2312")
    composer = LineComposer(labels, name_share=0.3, rare_share=0.3, symbol_share=0.0)
    rng = np.random.default_rng(7)
    samples = [composer.sample(rng) for _ in range(40)]
    again_text, again_image = composer.sample(np.random.default_rng(7))  # the same seed draws the same line
    assert again_text == samples[0][0] and np.array_equal(again_image, samples[0][1])
    for text, image in samples:
        assert 1 <= len(text) <= 12 and all(c in labels for c in text)
        assert image.dtype == np.uint8 and image.ndim == 2 and image.min() < 128 and image.max() == 255
        assert image.shape[1] > image.shape[0] * (len(text) - 1) * 0.5  # one character after another, left to right
    words = set(composer.words)
    kinds = {"word": 0, "name": 0, "other": 0}
    for text, _ in samples:
        kinds["word" if text in words or any(text[:k] in words and text[k:] in words for k in range(2, len(text)))
              else "name" if text[0] in SURNAMES and len(text) <= 3 else "other"] += 1
    assert all(v > 0 for v in kinds.values()), kinds
    with pytest.raises(ValueError, match="must not exceed 1"):
        LineComposer(labels, name_share=0.6, rare_share=0.6)


def test_compose_lines_writes_a_line_set(tmp_path):
    from hwime.training.__main__ import main
    from hwime.training.linesets import load_lines

    assert main(["compose-lines", "training/crnn-lines.toml", "5", "--out", str(tmp_path / "c"),
                 "--set", "data.font_share=0"]) == 0
    data = load_lines(tmp_path / "c")
    assert len(data.texts) == 5 and all(isinstance(s, np.ndarray) for s in data.samples)



def test_v3_network_goes_on_learning_lines_from_a_bundle_with_its_backbone_frozen(tmp_path):
    from hwime.decode import edit_distance
    from hwime.recognizer import Recognizer
    from hwime.raster import load_image
    from hwime.training import checkpoint, ppocr_import
    from hwime.training.export import export_bundle
    from hwime.training.linetrain import train_lines

    try:
        ppocr_import.wheel_files("tiny")
    except ppocr_import.PaddleImportError as exc:
        pytest.skip(str(exc))
    vocab = "中国人伢"  # tiny's dictionary lacks 伢: the imported network cannot read it until it learns its row
    write_dgrl(tmp_path / "page.dgrl", [(t, render_line_ink(line_ink(t))) for t in texts(5, 48, vocab)])
    iam_folder(tmp_path / "iam", texts(6, 48, vocab))
    iam_folder(tmp_path / "val", texts(7, 12, vocab))
    ppocr_import.import_ppocr("tiny", tmp_path / "imported.pt", sorted(vocab))
    start = export_bundle(tmp_path / "imported.pt", tmp_path / "start.pt")  # a bundle, as the shipped model is
    lines = load_recipe("training/ppocrv6-small-lines.toml", [
        'model.arch="ppocrv6-tiny"', f'model.init="{start}"', 'data.classes="found"', "lines.synthetic=0",
        "lines.synthetic_val=0", f"lines.train={json.dumps([str(tmp_path / 'page.dgrl'), str(tmp_path / 'iam')])}",
        f"lines.val={json.dumps([str(tmp_path / 'val')])}", "train.epochs=3", "train.batch_size=8", "train.lr=3e-3",
        "train.threads=2"])
    run = tmp_path / "run"
    train_lines(lines, run, device="cpu", max_steps=4)  # stopped inside the first epoch, then resumed
    summary = train_lines(lines, run, resume=True, device="cpu")
    assert summary["epoch"] == 3 and summary["global_step"] == 36
    before, after = checkpoint.load_start(start)["model"], checkpoint.load(run / "best.pt")["model"]
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"neck", "head_mid", "head"}  # the stem and stages are as PaddlePaddle left them
    tuned = export_bundle(run / "best.pt", tmp_path / "tuned.pt")

    def cer(bundle):
        rec = Recognizer.load(bundle, "cpu")
        pairs = [(load_image(p), p.with_suffix(".txt").read_text(encoding="utf-8").strip())
                 for p in sorted((tmp_path / "val").glob("*.png"))]
        read = [rec.recognize_line(im, top=1, decode="greedy", reread=False) for im, _ in pairs]
        found = [r[0].text if r else "" for r in read]  # a line read as nothing offers nothing
        return sum(edit_distance(f, t) for f, (_, t) in zip(found, pairs)) / sum(len(t) for _, t in pairs)

    assert Recognizer.load(tuned, "cpu").metadata["provenance"] == Recognizer.load(start, "cpu").metadata["provenance"]
    assert cer(start) > 0.15 and cer(tuned) <= 0.05  # it learned to read 伢 in lines it never saw


def test_found_classes_never_hold_white_space_and_a_space_between_words_is_not_a_target():
    from hwime.raster import RasterSpec
    from hwime.training.linetrain import encode, resolve_labels
    from hwime.training.recipe import load_recipe

    recipe = load_recipe(None, ['data.classes="found"'])
    labels = resolve_labels(recipe, ["the cat", "中 国\t人", "a\u3000b"])
    assert labels == sorted(set("thecat中国人ab")) and not any(c.isspace() for c in labels)
    image = np.full((48, 200), 255, np.uint8)
    image[20:28, 20:180] = 0
    data = encode([image, image], ["中 国", "中\t国人"], labels, RasterSpec(size=48, layout="line", width=96))
    assert data.texts == ["中国", "中国人"] and data.skipped == 0
    assert [t.tolist() for t in data.targets] == [[labels.index("中") + 1, labels.index("国") + 1],
                                                  [labels.index(c) + 1 for c in "中国人"]]


@pytest.mark.parametrize("name", ["/tmp/elsewhere", "../x", "a/b", "..", ""])
def test_a_recipe_name_is_a_name_not_a_path(name):
    from hwime.training.recipe import RecipeError, load_recipe

    with pytest.raises(RecipeError, match="must be a plain name"):
        load_recipe(None, [f"name={json.dumps(name)}"])
