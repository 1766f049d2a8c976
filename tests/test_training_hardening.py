"""train-lines and its neighbours under stops and mistakes (issue 24 items 10 and 13, issue 26 item 13): Ctrl-C and
checkpoint_every keep the work, a killed save leaves nothing behind, a resumed run logs each epoch once, a short
try composes only the lines it trains on, and what a user gets wrong is one line, not a traceback."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import line_ink
from hwime.raster import render_line_ink
from hwime.training import checkpoint, linetrain
from hwime.training.__main__ import main
from hwime.training.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
VOCAB = "中国人大"


def texts(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(VOCAB), size=int(rng.integers(2, 4)))) for _ in range(n)]


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> Path:
    """An IAM-style folder of 12 written lines (real lines: no composer to load), and 4 to validate on."""
    d = tmp_path_factory.mktemp("lines")
    for name, seed, n in (("train", 1, 12), ("val", 2, 4)):
        (d / name).mkdir()
        for i, t in enumerate(texts(seed, n)):
            Image.fromarray(render_line_ink(line_ink(t))).save(d / name / f"{i:04d}.png")
            (d / name / f"{i:04d}.txt").write_text(t + "\n", encoding="utf-8")
    return d


def overrides(lines: Path, *extra: str) -> list[str]:
    """crnn-tiny on the 12 lines, 4 to a batch: 3 steps an epoch."""
    return ['model.arch="crnn-tiny"', 'data.classes="found"', "lines.synthetic=0", "lines.synthetic_val=0",
            f"lines.train={json.dumps([str(lines / 'train')])}", f"lines.val={json.dumps([str(lines / 'val')])}",
            "train.batch_size=4", "train.threads=1", "train.epochs=2", *extra]


def recipe(lines: Path, *extra: str):
    return load_recipe("training/crnn-lines.toml", overrides(lines, *extra))


def log_rows(run: Path) -> list[dict]:
    return [json.loads(r) for r in (run / "log.jsonl").read_text(encoding="utf-8").splitlines()]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# --- issue 24 item 13: stopping and resuming --------------------------------------------------------------------

def test_ctrl_c_saves_a_checkpoint_exits_130_and_resume_goes_on_from_it(lines, tmp_path):
    run = tmp_path / "run"
    sets = sum((["--set", s] for s in overrides(lines, "train.epochs=100000", "train.checkpoint_every=100000")), [])
    proc = subprocess.Popen([sys.executable, "-m", "hwime.training", "train-lines", "training/crnn-lines.toml", *sets,
                             "--run-dir", str(run), "--device", "cpu"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            start_new_session=True)
    deadline = time.time() + 120  # a guard against a hang, not a measurement
    while time.time() < deadline and not ((run / "log.jsonl").exists() and log_rows(run)) and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "continue with --resume" in err and "Traceback" not in err
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["signal"] == "SIGINT"
    saved = checkpoint.load(run / "checkpoint.pt")["state"]
    assert saved["global_step"] == stopped["interrupted_at"] >= 3  # the steps since the last epoch were kept
    again = recipe(lines, "train.epochs=100000", "train.checkpoint_every=100000")
    resumed = linetrain.train_lines(again, run, resume=True, device="cpu", max_steps=saved["global_step"] + 4)
    assert resumed["global_step"] == saved["global_step"] + 4
    epochs = [r["epoch"] for r in log_rows(run)]
    assert epochs == list(range(1, len(epochs) + 1))  # each epoch once, none lost


def test_checkpoint_every_saves_inside_an_epoch(lines, tmp_path, monkeypatch):
    saved = []
    real = linetrain.save_run_state
    monkeypatch.setattr(linetrain, "save_run_state", lambda path, model, opt, schedule, state, *rest: (
        saved.append((state["epoch"], state["step_in_epoch"])), real(path, model, opt, schedule, state, *rest)))
    linetrain.train_lines(recipe(lines, "train.checkpoint_every=2"), tmp_path / "run", device="cpu")
    # steps 2 and 4 (epoch 2's first) by checkpoint_every, and each epoch's end (steps 3 and 6)
    assert saved == [(0, 2), (1, 0), (1, 1), (2, 0)]


def test_a_run_clears_the_temporaries_a_killed_save_left(lines, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    stale = [run / ".best.pt-k3j2.tmp", run / ".checkpoint.pt-x81q.tmp"]
    for p in stale:
        p.write_bytes(b"half a checkpoint")
    (run / "notes.tmp").write_text("the owner's", encoding="utf-8")
    linetrain.train_lines(recipe(lines), run, device="cpu", max_steps=1)
    assert not any(p.exists() for p in stale) and (run / "notes.tmp").exists()


def test_a_run_killed_between_its_log_line_and_its_checkpoint_logs_that_epoch_once(lines, tmp_path):
    run = tmp_path / "run"
    linetrain.train_lines(recipe(lines), run, device="cpu", max_steps=2)  # inside epoch 1
    before_epoch_end = (run / "checkpoint.pt").read_bytes()
    linetrain.train_lines(recipe(lines), run, resume=True, device="cpu", max_steps=3)  # epoch 1 logged and saved
    # SIGKILL after the log line and before the save: the checkpoint on disk is still the one from step 2
    (run / "checkpoint.pt").write_bytes(before_epoch_end)
    summary = linetrain.train_lines(recipe(lines), run, resume=True, device="cpu")
    assert summary["epoch"] == 2 and [(r["epoch"], r["step"]) for r in log_rows(run)] == [(1, 3), (2, 6)]


# --- issue 26 item 13: a quick try is quick, and says what it is doing -------------------------------------------

def test_a_short_try_composes_only_the_lines_its_steps_need_and_shows_progress(tmp_path, monkeypatch, capsys):
    from hwime.training.linecompose import LineComposer

    drawn = []
    real = LineComposer.sample

    def sample(self, rng):
        drawn.append(1)
        # the steps' one pool, then the validation lines a run --max-steps stops inside an epoch is validated on
        # (issue 38 item 8: the quick try writes the best.pt its next step exports)
        assert len(drawn) <= 8 + 20, "composed more lines than the steps train on and the validation reads"
        return real(self, rng)

    monkeypatch.setattr(LineComposer, "sample", sample)
    monkeypatch.setattr(linetrain, "POOL_BATCHES", 4)  # width pools of 4 batches of 2: 8 lines a pool
    r = load_recipe("training/crnn-lines.toml", ['model.arch="crnn-tiny"', "data.font_share=0", "lines.synthetic=200000",
                                                 "lines.synthetic_val=20", "train.batch_size=2", "train.threads=1"])
    summary = linetrain.train_lines(r, tmp_path / "run", device="cpu", max_steps=3)
    assert summary["global_step"] == 3 and summary["lines"] == 200000 and len(drawn) == 8 + 20
    assert (tmp_path / "run" / "best.pt").exists() and summary["val_cer"] >= 0.0  # CER may pass 1 (insertions)
    err = capsys.readouterr().err
    assert "composing lines" in err and "epoch 1/10" in err and "100000 steps an epoch" in err


def test_composed_lines_are_the_same_whichever_order_they_are_drawn_in():
    r = load_recipe("training/crnn-lines.toml", ["data.font_share=0"])
    labels = linetrain.resolve_labels(r, [])
    composed = linetrain.ComposedLines(r, labels, 100, 7)
    first, other, again = composed.line(4), composed.line(3), composed.line(4)
    assert first[0] == again[0] != other[0] and np.array_equal(first[1], again[1])


# --- issue 24 item 10: one line instead of a traceback -----------------------------------------------------------

@pytest.fixture
def read_only(tmp_path, monkeypatch) -> Path:
    """A folder this process cannot write in; root writes through modes, so there the refusal is simulated."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    if os.geteuid() == 0:
        import tempfile

        real = tempfile.mkstemp

        def mkstemp(*a, dir=None, **k):
            if dir is not None and Path(dir).resolve().is_relative_to(d.resolve()):
                raise PermissionError(13, "Permission denied")
            return real(*a, dir=dir, **k)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    yield d
    d.chmod(0o755)


def _outputs(kind: str, tmp_path: Path, read_only: Path) -> Path:
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    return {"a file": afile, "under a file": afile / "sub", "read-only": read_only / "out"}[kind]


@pytest.mark.parametrize("kind, said", [("a file", "is a file, not a folder"),
                                        ("under a file", "a file, not a folder"),
                                        ("read-only", "cannot be written")])
def test_a_run_folder_or_output_folder_that_cannot_be_written_is_one_line(lines, tmp_path, read_only, kind, said, capsys):
    out = _outputs(kind, tmp_path, read_only)
    sets = sum((["--set", s] for s in overrides(lines)), [])
    assert main(["train-lines", "training/crnn-lines.toml", *sets, "--run-dir", str(out), "--device", "cpu",
                 "--max-steps", "1"]) == 2
    assert f"--run-dir {out}" in (err := one_line_error(capsys)) and said in err
    assert main(["compose-lines", "training/crnn-lines.toml", "2", "--out", str(out), "--set", "data.font_share=0"]) == 2
    assert f"--out {out}" in (err := one_line_error(capsys)) and said in err


@pytest.mark.parametrize("kind", ["a file", "under a file", "read-only"])
def test_an_output_file_that_cannot_be_written_is_one_line_before_the_work(lines, tmp_path, read_only, kind, capsys):
    out = _outputs(kind, tmp_path, read_only) / "report.md"
    if kind == "a file":
        out = tmp_path / "a-folder"
        out.mkdir()
    # checked first: the model named here does not exist, and is never reached
    assert main(["evaluate-lines", str(tmp_path / "none.pt"), "--eval", str(lines / "val"), "--out", str(out)]) == 2
    assert f"--out {out}" in one_line_error(capsys)
    assert main(["import-ppocr", "tiny", "--out", str(out)]) == 2
    assert f"--out {out}" in one_line_error(capsys)


@pytest.mark.parametrize("setting, said", [
    ("train.batch_size=0", "'train.batch_size' must be at least 1"),
    ("train.epochs=0", "'train.epochs' must be at least 1"),
    ("train.threads=-1", "'train.threads' must be at least 0"),
    ("train.checkpoint_every=0", "'train.checkpoint_every' must be at least 1"),
    ("lines.train=[5]", "'lines.train' must be a list of text"),
    ("data.size=8", "data.size = 8: crnn-tiny cannot read lines that high"),
    ("model.init=\"{tmp}\"", "a folder, not a checkpoint"),
])
def test_recipe_values_that_would_fail_inside_torch_are_one_line(lines, tmp_path, setting, said, capsys):
    sets = sum((["--set", s] for s in overrides(lines, setting.replace("{tmp}", str(tmp_path)))), [])
    assert main(["train-lines", "training/crnn-lines.toml", *sets, "--run-dir", str(tmp_path / "run"),
                 "--device", "cpu"]) == 2
    assert said in one_line_error(capsys)


def test_an_epoch_of_two_steps_trains(lines, tmp_path):
    """12 lines, 8 to a batch, one epoch: 2 steps, where OneCycleLR divided by zero."""
    summary = linetrain.train_lines(recipe(lines, "train.batch_size=8", "train.epochs=1"), tmp_path / "run", device="cpu")
    assert summary["epoch"] == 1 and summary["global_step"] == 2 and (tmp_path / "run" / "best.pt").exists()


def test_resuming_a_truncated_checkpoint_or_nothing_is_one_line(lines, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train-lines", "training/crnn-lines.toml", *sum((["--set", s] for s in overrides(lines)), []),
            "--run-dir", str(run), "--device", "cpu", "--resume"]
    assert main(args) == 2
    assert "nothing to resume" in one_line_error(capsys)
    linetrain.train_lines(recipe(lines), run, device="cpu", max_steps=1)
    whole = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(whole[: len(whole) // 2])
    capsys.readouterr()
    assert main(args) == 2
    assert "checkpoint.pt" in one_line_error(capsys)


def test_a_bundle_with_nan_weights_is_one_line_in_evaluate_lines(lines, tmp_path, capsys):
    from hwime.model import build_model
    from hwime.training.export import export_bundle

    r = recipe(lines)
    model = build_model("crnn-tiny", len(VOCAB))
    best = checkpoint.save_best(tmp_path / "best.pt", model.state_dict(), sorted(VOCAB), r, 1, 0.0)
    bundle = export_bundle(best, tmp_path / "b.pt", half=False)
    broken = torch.load(bundle, weights_only=True)
    next(v for v in broken["state_dict"].values() if v.is_floating_point()).fill_(float("nan"))
    torch.save(broken, bundle)
    assert main(["evaluate-lines", str(bundle), "--eval", str(lines / "val"), "--device", "cpu"]) == 2
    assert "NaN" in one_line_error(capsys)
