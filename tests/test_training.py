import csv
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SHARED_DATA, build_segment_font, ink_kou, ink_shi
from hwime import Recognizer
from hwime.training.__main__ import main as training_main
from hwime.training.dataset import prepare
from hwime.raster import RasterSpec
from hwime.training.recipe import RecipeError, load_recipe
from hwime.training.train import train

# digits have no stroke data: they come from a font made by the tests, so no system font is needed
FONT = build_segment_font(Path(tempfile.mkdtemp(prefix="hwime-font-")) / "segments.ttf")
TINY = ['data.classes="digits"', f'data.fonts=["{FONT}"]', "data.size=32", "data.synthetic_per_class=24", "data.synthetic_val_per_class=4",
        "train.epochs=2", "train.batch_size=24", "train.checkpoint_every=4", "train.lr=0.004", "train.threads=1",
        "train.warmup_epochs=0.2"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    recipe = load_recipe(None, TINY)
    stats = prepare(recipe, d, workers=1)
    return d, recipe, stats


def test_preview_of_a_found_classes_recipe_works_without_options(tmp_path):
    out = tmp_path / "p.png"
    assert training_main(["preview", "training/hwdb10.toml", "--set", "data.font_share=0", "--per-char", "3",
                          "--out", str(out)]) == 0
    size = load_recipe("training/hwdb10.toml").data.raster.size
    assert Image.open(out).size[1] == 16 * (size + 2)  # the first 16 common characters, one row each


def test_prepare_synthetic_is_reproducible_and_uses_the_class_set(tiny_data, tmp_path):
    d, recipe, stats = tiny_data
    assert stats["classes"] == 10 and stats["splits"]["train"]["samples"] == 240
    again = prepare(recipe, tmp_path, workers=2)  # the number of processes must not change the data
    assert again["splits"] == stats["splits"]
    assert np.array_equal(np.load(d / "train-images.npy"), np.load(tmp_path / "train-images.npy"))
    assert (d / "labels.txt").read_text(encoding="utf-8").split() == list("0123456789")


def _losses(run: Path) -> list[float]:
    return [float(r["train_loss"]) for r in csv.DictReader(open(run / "log.csv")) if r["train_loss"]]


def test_a_tiny_run_lowers_the_loss(tiny_data, tmp_path):
    d, recipe, _ = tiny_data
    r = load_recipe(None, TINY + ["train.epochs=6", "train.augment=0"])
    summary = train(r, d, tmp_path / "run", log_every=2)
    losses = _losses(tmp_path / "run")
    assert summary["epochs"] == 6 and len(losses) >= 10
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    assert (tmp_path / "run" / "best.pt").exists()


def test_resume_after_an_interruption_matches_an_uninterrupted_run(tiny_data, tmp_path):
    d, recipe, _ = tiny_data
    train(recipe, d, tmp_path / "whole")
    stop = train(recipe, d, tmp_path / "split", max_steps=7)  # mid-epoch, between checkpoints
    assert stop == {"interrupted_at": 7}
    train(recipe, d, tmp_path / "split", resume=True)
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    assert a["state"]["global_step"] == b["state"]["global_step"] == 2 * (240 // 24)
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert torch.equal(a["optimizer"]["state"][0]["exp_avg"], b["optimizer"]["state"][0]["exp_avg"])


def test_evaluate_export_and_load_the_bundle(tiny_data, tmp_path, capsys):
    d, recipe, _ = tiny_data
    train(recipe, d, tmp_path / "run")
    folder = tmp_path / "real"
    for ch in "17":
        (folder / ch).mkdir(parents=True)
        for i in range(3):
            img = np.full((50, 30), 255, np.uint8)
            img[5:45, 13 + i : 16 + i] = 20
            Image.fromarray(img).save(folder / ch / f"{i}.png")
    (folder / "x").mkdir()  # a class the model does not know is left out, not counted wrong
    Image.fromarray(np.full((20, 20), 255, np.uint8)).save(folder / "x" / "0.png")
    jsonl = tmp_path / "ink.jsonl"
    jsonl.write_text("\n".join(json.dumps({"char": c, "source": f"w/{s}/s1", **ink.to_json()})
                               for c, s, ink in [("1", "a", ink_shi()), ("0", "b", ink_kou())]), encoding="utf-8")
    out = tmp_path / "report"
    assert training_main(["evaluate", str(tmp_path / "run" / "best.pt"), "--eval", str(folder), "--eval", str(jsonl),
                          "--out", str(out), "--run-log", str(tmp_path / "run" / "log.csv")]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    real, ink = metrics["sets"]
    assert real["samples"] == 6 and real["left_out"] == 1 and real["left_out_labels"] == "x"
    assert 0 <= real["top1"] <= real["top5"] <= real["top10"] <= 1
    assert set(ink["groups"]) == {"w/a", "w/b"}
    assert "| real | 6 |" in report and "worst classes" in report and "ECE" in report
    assert metrics["latency"]["p50_ms"] > 0
    assert training_main(["export", str(tmp_path / "run" / "best.pt"), "--out", str(tmp_path / "m.pt"),
                          "--metrics", str(out / "metrics.json"), "--data-stats", str(d / "stats.json")]) == 0
    bundle = torch.load(tmp_path / "m.pt", weights_only=True)
    assert bundle["state_dict"]["classifier.3.weight"].dtype == torch.float16
    assert json.loads(bundle["metrics"])["sets"][0]["samples"] == 6
    rec = Recognizer.load(tmp_path / "m.pt", "cpu")
    assert rec.labels == list("0123456789") and rec.spec.size == 32
    # the bundle answers like the checkpoint it came from (fp16 rounding aside)
    from hwime.training.export import recognizer_from_file

    ref = recognizer_from_file(tmp_path / "run" / "best.pt", "cpu")
    assert rec.recognize_ink(ink_shi(), 3)[0].char == ref.recognize_ink(ink_shi(), 3)[0].char


def test_preview_sheet(tiny_data, tmp_path):
    out = tmp_path / "p.png"
    assert training_main(["preview", "--set", "data.size=32", "--set", "data.font_share=0", "--chars", "中国", "--per-char", "5", "--out", str(out),
                          "training/synthetic-gb2312.toml"]) == 0
    im = Image.open(out)
    from hwime.training.preview import LABEL_WIDTH

    assert im.size == (LABEL_WIDTH + 5 * 32, 2 * (32 + 2))
    assert np.asarray(im)[5:30, :LABEL_WIDTH].min() < 100  # each row is labelled
    assert np.asarray(im).min() < 100  # there is ink on it


def test_two_process_torchrun_completes(tiny_data, tmp_path):
    d, _, _ = tiny_data
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "hwime.training", "train", "training/synthetic-gb2312.toml", *sum((["--set", s] for s in TINY), []),
                        "--data", str(d), "--run-dir", str(tmp_path / "ddp")], capture_output=True, text=True, timeout=300,
                       env=env, cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2 and summary["steps"] == 2 * (240 // 2 // 24)
    assert (tmp_path / "ddp" / "best.pt").exists()


@pytest.mark.skipif(not (SHARED_DATA / "casia-hwdb-dev").exists(), reason="../shared/data is not here")
def test_real_casia_folder_loads_through_the_pad_preprocessing():
    from hwime.raster import RasterSpec
    from hwime.training.realsets import load_image_folder

    data = load_image_folder(SHARED_DATA / "casia-hwdb-dev", RasterSpec())
    assert len(data.labels) == 2674 and data.images.shape[1:] == (64, 64)


def test_onnx_export_matches_pytorch(tiny_bundle, tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    from hwime.training.export import export_onnx

    diff = export_onnx(tiny_bundle, tmp_path / "m.onnx")
    assert diff < 1e-3 and (tmp_path / "m.onnx").stat().st_size > 100_000


@pytest.mark.parametrize("arch", ["hwnet", "mobilenet_v2", "resnet18", "efficientnet_v2_s"])
def test_every_registered_arch_takes_one_channel_and_gives_one_logit_per_class(arch):
    from hwime.model import build_model, head_size

    model = build_model(arch, 37).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 1, 64, 64))
    assert out.shape == (2, 37) and head_size(model) == 37
    with pytest.raises(ValueError, match="unknown arch"):
        build_model("vgg", 3)


@pytest.mark.parametrize("override, message", [
    ("train.lerning_rate=0.1", "unknown recipe key 'train.lerning_rate'"),
    ("nmae=x", "unknown recipe key 'nmae'"),
    ('train.epochs="three"', "'train.epochs' must be an integer"),
    ("data.threshold=2.5", "'data.threshold' must be an integer"),
])
def test_recipes_refuse_unknown_keys_and_wrong_types(override, message):
    from hwime.training.recipe import RecipeError

    with pytest.raises(RecipeError, match=message):
        load_recipe("training/synthetic-gb2312.toml", [override])


def test_a_recipe_file_with_a_misspelt_key_is_refused(tmp_path):
    from hwime.training.recipe import RecipeError

    (tmp_path / "r.toml").write_text('[train]\nlerning_rate = 0.1\n')
    with pytest.raises(RecipeError, match="r.toml.*lerning_rate"):
        load_recipe(tmp_path / "r.toml")
    assert load_recipe(None, ["train.lr=1"]).train.lr == 1  # an integer is a fine number


def test_every_shipped_recipe_loads():
    from hwime.training.ablation import read_ablation

    for path in Path("training").glob("*.toml"):
        assert load_recipe(path).name == path.stem
    for path in Path("training/ablations").glob("*.toml"):  # every variant is a valid recipe
        spec = read_ablation(path)
        for variant in spec["variant"]:
            load_recipe(spec["base"], spec["budget"] + variant["set"])


def test_the_fonts_step_names_what_is_missing_and_merges_subsets(tmp_path, monkeypatch):
    from fontTools.ttLib import TTFont

    from hwime.training.fonts import FontError, merge_subsets, resolve

    monkeypatch.setenv("HWIME_FONTS", str(tmp_path / "fonts"))
    with pytest.raises(FontError, match="python -m hwime.training fonts zhi-mang-xing"):
        resolve(["zhi-mang-xing", str(FONT)])
    low = build_segment_font(tmp_path / "low.ttf", "01234")
    high = build_segment_font(tmp_path / "high.ttf", "56789")
    merged = tmp_path / "fonts" / "zhi-mang-xing.ttf"
    assert merge_subsets([low, high], merged) == 10
    assert set(TTFont(merged).getBestCmap()) == {ord(c) for c in "0123456789"}
    assert resolve(["zhi-mang-xing"]) == [str(merged)]


def test_resume_refuses_a_missing_checkpoint_and_a_changed_recipe(tiny_data, tmp_path, capsys):
    d, recipe, _ = tiny_data
    args = ["train", "training/synthetic-gb2312.toml", *sum((["--set", s] for s in TINY), []), "--data", str(d),
            "--run-dir", str(tmp_path / "run")]
    assert training_main(args + ["--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert training_main(args + ["--max-steps", "3"]) == 0
    assert training_main(args + ["--resume", "--set", "train.lr=0.01"]) == 2
    err = capsys.readouterr().err
    assert "another recipe" in err and "train.lr" in err and "Traceback" not in err


def test_a_recipe_whose_raster_contradicts_the_data_is_refused(tiny_data, tmp_path, capsys):
    d, _, _ = tiny_data
    assert training_main(["train", "training/synthetic-gb2312.toml", *sum((["--set", s] for s in TINY), []),
                          "--set", "data.size=48", "--data", str(d), "--run-dir", str(tmp_path / "run")]) == 2
    assert "data.size: prepared 32, recipe 48" in capsys.readouterr().err


@pytest.mark.parametrize("workers, signame", [(0, "SIGTERM"), (2, "SIGINT")])
def test_a_signal_saves_a_checkpoint_and_exits_130(tiny_data, tmp_path, workers, signame):
    """SIGTERM to the trainer; Ctrl-C as a terminal sends it, to the whole process group, loader processes too."""
    import signal
    import time

    d, _, _ = tiny_data
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "hwime.training", "train", "training/synthetic-gb2312.toml",
           *sum((["--set", s] for s in TINY + ["train.epochs=400", "train.checkpoint_every=100000",
                                                f"train.workers={workers}"]), []),
           "--data", str(d), "--run-dir", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    def training() -> bool:  # a row after the header: steps are being taken
        log = run / "log.csv"
        return log.exists() and len(log.read_text().splitlines()) > 1

    deadline = time.time() + 120
    while time.time() < deadline and not training():
        time.sleep(0.2)
    os.killpg(proc.pid, getattr(signal, signame))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "continue with --resume" in err and "Traceback" not in err
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["signal"] == signame and (run / "checkpoint.pt").exists()
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["state"]["global_step"] == stopped["interrupted_at"]


def test_cursive_components_are_found_and_written_joined():
    from hwime.training.strokedata import StrokeTable
    from hwime.training.synthetic import StrokeStyle, synth_strokes

    table = StrokeTable()
    found = {ch: table.component(ch) for ch in "安字打扫河湖说话被人口"}
    assert found == {"安": "宀", "字": "宀", "打": "扌", "扫": "扌", "河": "氵", "湖": "氵", "说": "讠", "话": "讠",
                     "被": None, "人": None, "口": None}  # 衤 starts like 讠 but is not it
    medians = table.medians("河")

    def strokes(style: StrokeStyle, component, seed: int) -> list[np.ndarray]:
        ink, _ = synth_strokes(medians, np.random.default_rng(seed), style, component)
        return ink.strokes

    plain, off = StrokeStyle(), StrokeStyle(cursive_components=0.0)
    # a recipe without the setting makes exactly the samples it made before components were known
    for seed in range(5):
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(strokes(plain, None, seed), strokes(off, "氵", seed)))
    # the same writers (the same draws) with the share at 1 and near 0: 氵's three dots run into one stroke
    joined, rare = StrokeStyle(cursive_components=1.0), StrokeStyle(cursive_components=1e-9)
    fewer = [len(strokes(joined, "氵", s)) < len(strokes(rare, "氵", s)) for s in range(40)]
    assert sum(fewer) >= 20  # without the joins the two styles write identical strokes: 0


def test_ablation_keeps_small_sets_whole_and_runs_each_variant_once(tiny_data, tmp_path):
    from hwime.training.ablation import ablation_table, choose_classes, read_ablation, run_ablation
    from hwime.training.realsets import LabelledSet

    small = LabelledSet("small", np.zeros((3, 8, 8), np.uint8), list("零一二"))
    large = LabelledSet("large", np.zeros((40, 8, 8), np.uint8), [chr(0x4E00 + i * 7) for i in range(40)])
    chosen = choose_classes([small, large], 12, seed=3, keep_whole=5)
    assert len(chosen) == 12 and set("零一二") <= set(chosen) and chosen == choose_classes([small, large], 12, 3, 5)

    # a dev set of digit images as a person's scans would come: <char>/*.png
    d, recipe, _ = tiny_data
    dev = tmp_path / "dev"
    images, labels = np.load(d / "val-images.npy"), np.load(d / "val-labels.npy")
    for i, (image, label) in enumerate(zip(images, labels)):
        (dev / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(dev / str(label) / f"{i}.png")
    base = tmp_path / "tiny.toml"
    base.write_text(f'[data]\nclasses = "digits"\nfonts = ["{FONT}"]\nsize = 32\nsynthetic_per_class = 12\n'
                    '[train]\nepochs = 1\nbatch_size = 24\nthreads = 1\n', encoding="utf-8")
    spec_file = tmp_path / "ablation.toml"
    spec_file.write_text('base = "tiny.toml"\nclasses = 10\nbudget = ["train.lr=0.004"]\n'
                         '[[variant]]\nname = "plain"\nset = ["train.augment=0"]\n'
                         '[[variant]]\nname = "augmented"\nset = ["train.augment=1.0"]\n', encoding="utf-8")
    spec = read_ablation(spec_file)
    results = run_ablation(spec, tmp_path / "work", [str(dev)], workers=1)
    assert [r["name"] for r in results] == ["plain", "augmented"]
    assert all(r["sets"]["dev"]["samples"] == len(labels) and r["train_samples"] == 120 for r in results)
    first = (tmp_path / "work" / "plain" / "result.json").stat().st_mtime_ns
    again = run_ablation(spec, tmp_path / "work", [str(dev)], workers=1)  # scored variants are not run again
    assert again == results and (tmp_path / "work" / "plain" / "result.json").stat().st_mtime_ns == first
    table = ablation_table(results)
    assert sum(line.startswith("| ") for line in table.splitlines()) == 3 and "| plain |" in table and "dev: top-1 / top-10" in table

    spec_file.write_text('base = "tiny.toml"\nvariants = []\n', encoding="utf-8")
    with pytest.raises(RecipeError, match="unknown key"):
        read_ablation(spec_file)


def test_loader_workers_make_the_same_run_and_resume_exactly(tiny_data, tmp_path):
    d, recipe, _ = tiny_data
    train(recipe, d, tmp_path / "inline")  # train.workers = -1: none on a CPU run
    with_workers = load_recipe(None, TINY + ["train.workers=2"])
    assert train(with_workers, d, tmp_path / "workers", max_steps=7) == {"interrupted_at": 7}
    train(recipe, d, tmp_path / "workers", resume=True)  # the loader processes are not part of what a run learns
    a = torch.load(tmp_path / "inline" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "workers" / "checkpoint.pt", weights_only=True)
    assert a["state"]["global_step"] == b["state"]["global_step"] == 20
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k


def _rows(run: Path) -> list[dict]:
    return list(csv.DictReader(open(run / "log.csv")))


def test_seed_000_settings_train_binarized_three_channel_and_stop_on_val_loss(tiny_data, tmp_path):
    from hwime.training.train import augment_step, build_optimizer

    d, _, _ = tiny_data
    r = load_recipe(None, TINY + ["model.in_channels=3", "train.binarize=200", 'train.augment_style="torchvision"',
                                  "train.decay_all=true", "train.nesterov=false", 'train.optimizer="sgd"', "train.lr=0.02",
                                  'train.schedule="cosine_epoch"', "train.t_max=3", "train.epochs=3",
                                  'train.early_stop_on="val_loss"', "train.label_smoothing=0", "train.patience=2"])
    summary = train(r, d, tmp_path / "run", log_every=2)
    rows = _rows(tmp_path / "run")
    # cosine per epoch: one rate through each epoch, a lower one after each epoch's end
    rates = [sorted({float(x["lr"]) for x in rows if x["lr"] and int(x["epoch"]) == e}) for e in (1, 2, 3)]
    assert all(len(v) == 1 for v in rates) and rates[0][0] == pytest.approx(0.02)
    assert rates[0][0] > rates[1][0] > rates[2][0] > 0
    val = [(int(x["epoch"]), float(x["val_loss"])) for x in rows if x["val_loss"]]
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert best["epoch"] == min(val, key=lambda v: v[1])[0] and summary["epochs"] == 3
    # the bundle keeps the three-channel first layer and the pad hands it one gray channel
    bundle = tmp_path / "seed000.pt"
    assert training_main(["export", str(tmp_path / "run" / "best.pt"), "--out", str(bundle)]) == 0
    rec = Recognizer.load(bundle, device="cpu")
    first = next(m for m in rec.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 3 and len(rec.recognize_ink(ink_kou(), top=3)) == 3
    # binarized in training only: at strength 0 a training batch has two values, validation keeps its grey
    grey = torch.full((2, 32, 32), 255, dtype=torch.uint8)
    grey[:, 10:20, 10:20] = 120
    grey[:, 12:14, 12:14] = 230
    x = augment_step(grey, 0, dataclasses.replace(r.train, augment=0.0), RasterSpec(size=32), 0)
    assert len(torch.unique(x)) == 2
    groups = build_optimizer(torch.nn.Linear(3, 2), r.train).param_groups
    assert len(groups) == 1 and groups[0]["weight_decay"] == r.train.weight_decay  # biases decay too


def test_seed_001_settings_stretch_imagenet_channels_adam_and_plateau(tiny_data, tmp_path):
    d, _, _ = tiny_data
    r = load_recipe(None, TINY + ["model.in_channels=3", "model.channel_mean=[0.485, 0.456, 0.406]",
                                           "model.channel_std=[0.229, 0.224, 0.225]", 'train.optimizer="adam"',
                                           "train.lr=0.01", "train.weight_decay=0", 'train.schedule="plateau"',
                                           "train.plateau_patience=0", "train.plateau_factor=0.5", "train.epochs=4",
                                           "train.amp=false"])
    train(r, d, tmp_path / "run", log_every=2)
    rows = _rows(tmp_path / "run")
    val = [float(x["val_loss"]) for x in rows if x["val_loss"]]
    rates = [max(float(x["lr"]) for x in rows if x["lr"] and int(x["epoch"]) == e) for e in (1, 2, 3, 4)]
    # with patience 0 the rate halves after every epoch whose loss is not a new low, and only then
    expected, best = [0.01, 0.01], val[0]  # the first validation is a new low by definition
    for loss in val[1:3]:
        expected.append(expected[-1] * (0.5 if loss >= best * (1 - 1e-4) else 1.0))  # torch's relative threshold
        best = min(best, loss)
    assert rates == pytest.approx(expected)
    with pytest.raises(ValueError, match="3 numbers"):
        from hwime.model import build_model
        build_model("hwnet", 10, 3, [0.5, 0.5], [0.2, 0.2])
    from hwime.raster import prepare_image
    dash = np.full((20, 100), 255, np.uint8)
    dash[8:12, 5:95] = 0
    stretched = prepare_image(dash, RasterSpec(size=32, square="stretch", margin=0.0))
    padded = prepare_image(dash, RasterSpec(size=32))
    assert (stretched < 128).all(1).sum() > 28 and (padded < 128).any(1).sum() <= 2  # 一 fills the square only when stretched


@pytest.mark.parametrize("override, message", [
    ('train.schedule="linear"', "train.schedule"), ("model.in_channels=2", "model.in_channels"),
    ('data.square="crop"', "data.square"), ('train.early_stop_on="loss"', "train.early_stop_on"),
    ("data.size=4", "raster size must be an integer from 8"),  # the recipe's RasterSpec checks its own ranges
])
def test_recipe_choices_are_checked(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(None, [override])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_training_on_cuda_without_cuda_says_so(tiny_data, tmp_path):
    d, recipe, _ = tiny_data
    with pytest.raises(ValueError, match="CUDA is not available here; train with --device cpu"):
        train(recipe, d, tmp_path / "run", device="cuda")


def test_a_recipe_survives_the_round_trip_through_a_checkpoint():
    from hwime.training.recipe import Recipe

    recipe = load_recipe("training/hwdb11-seed001.toml")
    again = Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))
    assert again == recipe and again.data.raster.square == "stretch" and again.model.options()["in_channels"] == 3
    older = recipe.to_dict()
    del older["train"]["workers"], older["data"]["square"]  # a checkpoint written before these keys existed
    assert Recipe.from_dict(older).train.workers == -1 and Recipe.from_dict(older).data.raster.square == "pad"
