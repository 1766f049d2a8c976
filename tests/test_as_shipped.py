"""`as-shipped`: the bundle's network read the way PaddlePaddle ships it (whole image to 48 rows, no crop, greedy),
the bar for our own reading paths (issue 23)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import crosses
from hwime import Recognizer
from hwime.training.asshipped import character_accuracy, line_cer, shipped_input
from hwime.training.linesets import load_lines


def test_the_input_is_the_whole_image_at_48_rows_padded_with_zeros():
    x = shipped_input(crosses(2))  # 200 x 80: 120 columns at 48 rows, padded to 320
    assert x.shape == (1, 1, 48, 320) and x.min() == -1.0 and x.max() == 1.0
    assert (x[..., 120:] == 0).all() and (x[..., :120] > -1).any()
    small = shipped_input(np.full((48, 20), 255, np.uint8))
    assert (small[..., 20:] == 0).all() and (small[..., :20] == 1).all()
    assert shipped_input(np.full((10, 400), 255, np.uint8)).shape[-1] == 1920  # wider: not squeezed


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    d = tmp_path_factory.mktemp("shipped")
    (d / "chars" / "十").mkdir(parents=True)
    (d / "chars" / "𠀀").mkdir()  # a label the bundle lacks: left out
    Image.fromarray(crosses(1)).save(d / "chars" / "十" / "1.png")
    Image.fromarray(crosses(1)).save(d / "chars" / "𠀀" / "1.png")
    (d / "chars" / "十" / "notes.txt").write_text("not an image")
    Image.fromarray(crosses(3)).save(d / "three.png")
    Image.fromarray(crosses(2)).save(d / "two.png")
    (d / "lines.tsv").write_text("three.png\t十十十\ntwo.png\t十口\n", encoding="utf-8")
    return d


def test_characters_and_lines_are_read_as_shipped(sets):
    rec = Recognizer.load(None, "cpu", script="simplified")
    chars = character_accuracy(rec, sets / "chars")
    assert chars == {"samples": 1, "top1": 1.0, "top10": 1.0}
    lines = line_cer(rec, load_lines(sets / "lines.tsv"))
    assert lines["lines"] == 2 and lines["line_accuracy"] == 0.5  # 十十 is not 十口
    assert lines["cer"] == pytest.approx(1 / 5)


def test_the_command_prints_every_set(sets):
    r = subprocess.run([sys.executable, "-m", "hwime.training", "as-shipped", str(Recognizer.load(None, "cpu").path),
                        "--chars", str(sets / "chars"), "--lines", str(sets / "lines.tsv")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-1000:]
    got = json.loads(r.stdout)
    assert set(got) == {"chars", "lines lines"} and got["chars"]["top1"] == 1.0
