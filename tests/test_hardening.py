"""Hostile and unlucky inputs (issue: the pad as a product): each test failed on the code before its fix."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ink_shi, make_checkpoint
from hwime.cli import main
from hwime.ink import Ink, InkError
from hwime.personal import Profile
from hwime.raster import RasterError, load_image
from hwime.recognizer import ModelError, Recognizer
from hwime.settings import Settings, load_settings, save_settings

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto 10 10 lineto stroke\nshowpage\n"


def test_a_postscript_file_named_png_is_refused_without_running_anything(tmp_path, tiny_bundle, capsys):
    evil = tmp_path / "evil.png"
    evil.write_bytes(EPS)
    with pytest.raises(RasterError, match="not a PNG, JPEG or BMP image"):
        load_image(evil)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(ink_shi().to_json()), encoding="utf-8")
    rc = main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", "--json", str(good), str(evil)])
    out, err = capsys.readouterr()
    assert rc == 1 and json.loads(out.splitlines()[0])["input"].endswith("good.json")
    assert "evil.png: not a PNG, JPEG or BMP image" in err


def test_a_tensor_expanded_beyond_its_data_is_refused_before_its_values_are_read(tmp_path, tiny_bundle):
    bundle = torch.load(tiny_bundle, weights_only=True)
    name = next(k for k, v in bundle["state_dict"].items() if v.ndim == 2)
    bundle["state_dict"][name] = torch.zeros(1).expand(20000, 20000)
    path = tmp_path / "huge.pt"
    torch.save(bundle, path)
    assert path.stat().st_size < 10_000_000
    with pytest.raises(ModelError, match="is a view larger than its data") as info:
        Recognizer.load(path, "cpu")
    assert "\n" not in str(info.value)


def test_a_wrong_shape_and_a_foreign_file_get_one_line_each(tmp_path, tiny_bundle):
    bundle = torch.load(tiny_bundle, weights_only=True)
    name = next(k for k, v in bundle["state_dict"].items() if v.ndim == 4)
    bundle["state_dict"][name] = torch.zeros(3, 3, 3, 3)
    torch.save(bundle, tmp_path / "shape.pt")
    with pytest.raises(ModelError, match=f"{name} has shape \\(3, 3, 3, 3\\), the arch needs") as info:
        Recognizer.load(tmp_path / "shape.pt", "cpu")
    assert "\n" not in str(info.value)
    png = tmp_path / "picture.pt"
    from PIL import Image

    Image.new("L", (8, 8), 255).save(png, format="PNG")
    with pytest.raises(ModelError, match="not a model bundle \\(not a file torch.save wrote\\)"):
        Recognizer.load(png, "cpu")


def _labels_bundle(tmp_path: Path, labels: list[str]) -> Path:
    from hwime.training.export import export_bundle

    return export_bundle(make_checkpoint(tmp_path / "best.pt", labels=labels), tmp_path / "many.pt")


def test_two_processes_learning_into_one_profile_lose_nothing(tmp_path):
    labels = [chr(0x4E00 + i) for i in range(62)]
    bundle = _labels_bundle(tmp_path, labels)
    stroke = ink_shi().to_json()["strokes"]
    jobs = []
    for name, chars in (("A", labels[:31]), ("B", labels[31:])):
        f = tmp_path / f"{name}.jsonl"
        f.write_text("".join(json.dumps({"char": c, "strokes": stroke}) + "\n" for c in chars), encoding="utf-8")
        target = tmp_path / f"{name}-target.json"
        target.write_text(json.dumps({"strokes": stroke}), encoding="utf-8")
        jobs.append([sys.executable, "-m", "hwime", "recognize", "--model", str(bundle), "--device", "cpu",
                     "--profile", str(tmp_path / "prof"), "--learn", str(f), str(target)])
    procs = [subprocess.Popen(j, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for j in jobs]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    kept = Profile(tmp_path / "prof").samples
    assert sorted(s.char for s in kept) == sorted(labels)
    assert len({s.id for s in kept}) == 62


def test_a_fifo_or_an_oversized_file_is_refused_instead_of_hanging(tmp_path, settings_path):
    settings_path.parent.mkdir(parents=True)
    os.mkfifo(settings_path)
    settings, warnings = load_settings(settings_path)  # returned at once: a FIFO is never opened
    assert settings == Settings() and "not a regular file" in warnings[0]
    d = tmp_path / "prof"
    d.mkdir()
    os.mkfifo(d / "profile.json")
    p = Profile(d)
    assert "not a regular file" in p.warnings[0] and p.directory is None


def test_a_read_only_profile_learns_in_memory_with_a_warning(tmp_path, tiny_bundle, capsys, monkeypatch):
    import hwime.personal

    def read_only(path, text):  # what writing into a read-only folder raises (as root, chmod would not stop it)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(hwime.personal, "atomic_write_text", read_only)
    learn = tmp_path / "mine.jsonl"
    learn.write_text(json.dumps({"char": "十", "strokes": ink_shi().to_json()["strokes"]}) + "\n", encoding="utf-8")
    target = tmp_path / "t.json"
    target.write_text(json.dumps(ink_shi().to_json()), encoding="utf-8")
    rc = main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", "--profile", str(tmp_path / "prof"),
               "--learn", str(learn), "--json", str(target)])
    out, err = capsys.readouterr()
    assert rc == 0 and json.loads(out)["candidates"]
    assert "kept for this session only" in err and "Traceback" not in err


@pytest.mark.parametrize("points, message", [
    ([[0, 0], [3e38, 1]], "within"),
    ([["0", "0"], ["5", "5"]], "list of numbers"),
    ([[True, 0], [1, 1]], "list of numbers"),
])
def test_absurd_or_non_numeric_coordinates_are_refused(points, message):
    with pytest.raises(InkError, match=message):
        Ink.from_json({"strokes": [points]})


def test_too_many_points_or_strokes_are_refused():
    with pytest.raises(InkError, match="more than"):
        Ink.from_json({"strokes": [[[i, i] for i in range(20_001)]]})
    with pytest.raises(InkError, match="more than"):
        Ink.from_json({"strokes": [[[0, 0]]] * 1001})


def test_stored_ink_is_simplified(tmp_path):
    dense = Ink.from_strokes([[[i / 100, 50 + (i % 2) * 1e-4] for i in range(10_000)]])
    p = Profile(tmp_path / "prof")
    p.add("一", ink=dense)
    assert len(Profile(tmp_path / "prof").samples[0].ink.strokes[0]) < 10


def test_settings_keep_unknown_keys_and_write_through_a_symlink(tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "hwime.json"
    real.write_text(json.dumps({"candidate_count": 5, "from_a_newer_version": {"x": 1}}), encoding="utf-8")
    link = tmp_path / "config" / "settings.json"
    link.parent.mkdir()
    link.symlink_to(real)
    settings, _ = load_settings(link)
    settings.candidate_count = 7
    assert save_settings(settings, link)
    assert link.is_symlink()
    data = json.loads(real.read_text(encoding="utf-8"))
    assert data["candidate_count"] == 7 and data["from_a_newer_version"] == {"x": 1}


def test_settings_backups_are_numbered_never_replaced(settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("{first", encoding="utf-8")
    load_settings(settings_path)
    settings_path.write_text("{second", encoding="utf-8")
    _, warnings = load_settings(settings_path)
    assert "settings.json.bak.1" in warnings[0]
    assert (settings_path.parent / "settings.json.bak").read_text(encoding="utf-8") == "{first"
    assert (settings_path.parent / "settings.json.bak.1").read_text(encoding="utf-8") == "{second"


def test_output_is_valid_utf8_and_json_whatever_the_labels(tmp_path, tiny_bundle, capfdbinary):
    f = tmp_path / "odd.jsonl"
    stroke = ink_shi().to_json()["strokes"]
    f.write_text('{"char": "\\ud800", "strokes": %s}\n{"char": "十", "strokes": %s}\n' % (json.dumps(stroke),
                 json.dumps(stroke)), encoding="utf-8")
    for mode in (["--json"], []):
        rc = main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", *mode, str(f)])
        out = capfdbinary.readouterr().out.decode("utf-8")  # strict: raises on anything that is not UTF-8
        assert rc == 0 and len(out.splitlines()) == 2
        if mode:
            assert json.loads(out.splitlines()[0])["label"] == "\\ud800"
    r = subprocess.run([sys.executable, "-m", "hwime", "suggest", "--json", os.fsdecode(b"\xff\xe4\xb8\xad")],
                       capture_output=True)
    assert r.returncode == 0
    assert json.loads(r.stdout.decode("utf-8"))["context"].endswith("中")


def test_text_output_escapes_control_characters_in_names_and_labels(tmp_path, tiny_bundle, capsys):
    d = tmp_path / "in"
    d.mkdir()
    forged = d / "a\nforged.png\t中 1.00\x1b[2J.json"
    forged.write_text(json.dumps({"char": "十\x1b]0;pwned\x07", **ink_shi().to_json()}), encoding="utf-8")
    assert main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", str(forged)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and "\x1b" not in out and "\x07" not in out
    assert "a\\nforged.png\\t中 1.00\\x1b[2J.json" in out and "[label 十\\x1b]0;pwned\\x07]" in out


def test_learn_failures_and_links_are_named_for_what_they_are(tmp_path, tiny_bundle, capsys):
    learn = tmp_path / "learn.jsonl"
    learn.write_text('{"strokes": [[[0, 0], [5, 5]]]}\n', encoding="utf-8")  # no "char": cannot be learned
    target = tmp_path / "t.json"
    target.write_text(json.dumps(ink_shi().to_json()), encoding="utf-8")
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    rc = main(["recognize", "--model", str(tiny_bundle), "--device", "cuda", "--learn", str(learn), str(target),
               str(loop)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "1 sample(s) given to --learn could not be learned" in err
    assert "1 input(s) could not be recognized" in err  # the loop, not the learning
    assert "loop.json: a symbolic link that leads nowhere" in err
    if not torch.cuda.is_available():
        assert "CUDA is not available here; running on the CPU" in err


def test_no_display_is_said_plainly():
    from hwime.ui.app import no_display

    assert no_display({}, "linux")
    assert not no_display({"DISPLAY": ":0"}, "linux") and not no_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not no_display({"QT_QPA_PLATFORM": "offscreen"}, "linux") and not no_display({}, "win32")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "hwime"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "no display to open the pad on" in r.stderr


def test_a_char_folder_is_labelled_and_files_come_in_natural_order(tmp_path, tiny_bundle, capsys):
    from conftest import glyph_image
    from PIL import Image

    d = tmp_path / "scans" / "十"
    d.mkdir(parents=True)
    for n in (1, 10, 2, 100):
        Image.fromarray(glyph_image()).save(d / f"{n}.png")
    assert main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", "--json", str(tmp_path / "scans")]) == 0
    rows = [json.loads(r) for r in capsys.readouterr().out.splitlines()]
    assert [Path(r["input"]).stem for r in rows] == ["1", "2", "10", "100"]
    assert {r["label"] for r in rows} == {"十"}


def test_oversized_ink_is_refused_before_it_is_parsed_and_the_rest_still_runs(tmp_path, tiny_bundle, capsys):
    from hwime.ink import MAX_JSON_BYTES

    good = json.dumps({"char": "十", **ink_shi().to_json()})
    huge = '{"strokes": [[' + ", ".join(["[1, 2]"] * (MAX_JSON_BYTES // 6)) + "]]}"
    lines = tmp_path / "mixed.jsonl"
    lines.write_text(huge + "\n" + good + "\n", encoding="utf-8")
    big = tmp_path / "big.json"
    big.write_text(huge, encoding="utf-8")
    rc = main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", "--json", str(lines), str(big)])
    out, err = capsys.readouterr()
    assert rc == 1 and [json.loads(r)["input"] for r in out.splitlines()] == [f"{lines}:2"]
    assert "mixed.jsonl:1: line longer than 4 MB" in err and "big.json: larger than 4 MB" in err


def test_every_command_line_option_says_what_it_does():
    import argparse

    from hwime.cli import build_parser as pad_parser
    from hwime.training.__main__ import build_parser as training_parser

    missing = []
    for name, parser in (("hwime", pad_parser()), ("python -m hwime.training", training_parser())):
        assert parser.description and not parser.description.startswith(("python -m", "hwime {"))
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for command, p in sub.choices.items():
            missing += [f"{name} {command} {a.dest}" for a in p._actions
                        if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []


# --- issue 39 item 7: smaller things ------------------------------------------------------------------------------

def test_a_bogus_engine_is_one_line(tmp_path, tiny_bundle):
    import subprocess
    import sys

    ink = tmp_path / "a.json"
    ink.write_text(json.dumps(ink_shi().to_json()))
    done = subprocess.run([sys.executable, "-m", "hwime", "--model", str(tiny_bundle), "recognize", str(ink)],
                          capture_output=True, text=True, env={**os.environ, "HWIME_ENGINE": "bogus"}, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == ["hwime: HWIME_ENGINE: engine must be auto, onnx or torch, not 'bogus'"]


def test_a_16_bit_grayscale_png_is_scaled_not_clipped(tmp_path):
    from PIL import Image

    from hwime.raster import load_image

    image = np.full((60, 60), 65535, np.uint16)  # white paper at 16 bits
    image[10:50, 28:32] = 0  # a black bar
    image[10:12, 10:50] = 32768  # mid grey
    Image.fromarray(image).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode.startswith("I")
    gray = load_image(tmp_path / "g16.png")
    assert gray.dtype == np.uint8 and gray[0, 0] == 255 and gray[30, 30] == 0 and abs(int(gray[11, 20]) - 128) <= 1


def test_control_characters_in_file_names_are_escaped_on_stderr(tmp_path, tiny_bundle, capfd):
    bad = tmp_path / "evil\x1b[31m\x07.json"
    bad.write_text("{not json")
    assert main(["--model", str(tiny_bundle), "recognize", str(bad)]) == 1
    err = capfd.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "evil\\x1b[31m\\x07.json" in err


def test_ctrl_c_in_recognize_is_one_line(tmp_path, tiny_bundle, capfd, monkeypatch):
    from hwime import cli

    ink = tmp_path / "a.json"
    ink.write_text(json.dumps(ink_shi().to_json()))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_samples", interrupted)
    try:
        rc = main(["--model", str(tiny_bundle), "recognize", str(ink)])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a traceback")
    assert rc == 130 and capfd.readouterr().err.strip().splitlines()[-1] == "hwime: interrupted"


@pytest.mark.parametrize("extent", [1e-38, 1e-37, 1e-20])
def test_ink_of_a_vanishing_extent_is_a_dot_without_numpy_warnings(extent):
    import warnings

    from hwime.raster import RasterSpec, ink_to_image

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ink = Ink.from_strokes([[[0, 0], [extent, extent]], [[0, extent], [extent, 0]]])
        image = ink_to_image(ink, RasterSpec())
    assert image.min() < 128  # drawn, as a dot


def test_a_stroke_may_mix_points_with_and_without_time():
    ink = Ink.from_json({"strokes": [[[0, 0], [10, 10, 5], [20, 20, 6, 0.5]]]})
    s = ink.strokes[0]
    assert s.shape == (3, 4) and np.isnan(s[0, 2:]).all() and s[1, 2] == 5 and np.isnan(s[1, 3]) and s[2, 3] == 0.5
    with pytest.raises(InkError, match="2 to 4 numbers"):
        Ink.from_json({"strokes": [[[0, 0], [1, 2, 3, 4, 5]]]})
