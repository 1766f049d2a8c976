"""Evaluation commands on bad input (issue 39 items 5 and 7): a FIFO in an eval folder or as the .jsonl never hangs,
a bad .jsonl line costs only itself, a bad word list is one line naming it, a report is written atomically and
Ctrl-C is one line."""

import contextlib
import json
import os
import signal

import numpy as np
import pytest
from PIL import Image

from conftest import ink_kou, ink_shi
from hwime.training.__main__ import main as training_main


class Hung(BaseException):  # not an OSError: the commands turn those into one line
    pass


@contextlib.contextmanager
def no_hang(seconds: int = 60):
    """A blocking open of a FIFO is interrupted (and the test fails) instead of hanging the suite."""
    def fire(*_):
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def good_lines(n: int = 2) -> list[str]:
    return [json.dumps({"char": c, **ink.to_json()}) for c, ink in [("十", ink_shi()), ("口", ink_kou())] * n]


@pytest.fixture
def eval_folder(tmp_path):
    folder = tmp_path / "real"
    for ch in "十口":
        (folder / ch).mkdir(parents=True)
        img = np.full((50, 50), 255, np.uint8)
        img[24:27, 5:45] = 0
        if ch == "口":
            img[5:45, 5:8] = img[5:45, 42:45] = img[5:8, 5:45] = img[42:45, 5:45] = 0
        Image.fromarray(img).save(folder / ch / "0.png")
    os.mkfifo(folder / "十" / "1.png")  # nobody ever writes to it
    (folder / "口" / "2.png").write_bytes(b"not a png")
    return folder


def test_evaluate_skips_a_fifo_and_bad_lines_and_reports_the_rest(tiny_bundle, tmp_path, eval_folder, capsys):
    jsonl = tmp_path / "ink.jsonl"
    jsonl.write_text("\n".join([good_lines(1)[0], '{"char": "十", "strokes": [[[[1, 2]]]]}', "[1, 2]", '"a string"',
                                '{"char": "口", "strokes": "x"}', "{bad json", good_lines(1)[1]]) + "\n",
                     encoding="utf-8")
    out = tmp_path / "report"
    with no_hang():
        assert training_main(["evaluate", str(tiny_bundle), "--eval", str(eval_folder), "--eval", str(jsonl),
                              "--out", str(out), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert [s["samples"] for s in metrics["sets"]] == [2, 2]
    assert "1.png" in err and "not a regular file" in err and "2.png" in err
    for number in (2, 3, 4, 5, 6):
        assert f"ink.jsonl:{number}:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["evaluate", "tune-temperature", "language-bench", "tune-prior"])
def test_a_fifo_or_dev_zero_as_the_jsonl_is_one_line_not_a_hang(tiny_bundle, tmp_path, capsys, command):
    fifo = tmp_path / "set.jsonl"
    os.mkfifo(fifo)
    words = tmp_path / "dict.txt"
    words.write_text("中国 100 ns\n你好 50 l\n", encoding="utf-8")
    extra = {"evaluate": ["--device", "cpu"], "tune-temperature": ["--device", "cpu"], "tune-prior": [],
             "language-bench": ["--dict", str(words), "--renders", "0", "--model"]}[command]
    for bad in (fifo, "/dev/zero"):
        args = [command, *extra, str(tiny_bundle), "--eval", str(bad)] if command == "language-bench" else \
            [command, str(tiny_bundle), "--eval", str(bad), *extra]
        with no_hang():
            assert training_main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(bad) in err[0] and "not a regular file" in err[0]


def test_as_shipped_skips_a_fifo_in_the_character_folder(tmp_path, eval_folder, capsys):
    from hwime import Recognizer
    from hwime.training.asshipped import character_accuracy

    rec = Recognizer.load(None, "cpu", script="simplified")
    with no_hang():
        got = character_accuracy(rec, eval_folder)
    assert got["samples"] == 2
    err = capsys.readouterr().err
    assert "1.png" in err and "not a regular file" in err and "2.png" in err


@pytest.mark.parametrize("content", ["\n\n", "中国 inf n\n你好 inf n\n", "中国 1 n\n你好 many\n"])
def test_a_word_list_that_is_empty_or_not_finite_is_one_line_naming_it(tmp_path, capsys, content):
    words = tmp_path / "words.txt"
    words.write_text(content, encoding="utf-8")
    assert training_main(["language-bench", "--dict", str(words), "--no-recognizer"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(words) in err[0] and "tmp" not in err[0].replace(str(tmp_path), "")


def test_a_full_disk_leaves_the_old_report_whole(tiny_bundle, tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    samples = tmp_path / "set.jsonl"
    samples.write_text("\n".join(good_lines()) + "\n", encoding="utf-8")
    out = tmp_path / "report"
    out.mkdir()
    old = {"calibration.png": b"old calibration", "report.md": b"# old report\n", "metrics.json": b"{}"}
    for name, data in old.items():
        (out / name).write_bytes(data)

    def full_disk(self, fname, *args, **kwargs):
        if hasattr(fname, "write"):
            fname.write(b"\x89PNG half")
        else:
            with open(fname, "wb") as fh:
                fh.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    with no_hang(120):
        assert training_main(["evaluate", str(tiny_bundle), "--eval", str(samples), "--out", str(out),
                              "--device", "cpu"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old  # nothing truncated, no temporary file left


def test_ctrl_c_in_a_training_command_is_one_line(monkeypatch, capsys, tiny_bundle, tmp_path):
    from hwime.training import evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "choose_temperature", interrupted)
    samples = tmp_path / "set.jsonl"
    samples.write_text("\n".join(good_lines()) + "\n", encoding="utf-8")
    try:
        rc = training_main(["tune-temperature", str(tiny_bundle), "--eval", str(samples), "--device", "cpu"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a traceback")
    assert rc == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "python -m hwime.training tune-temperature: interrupted"
    assert "Traceback" not in err
