"""hwime.samples: the one walker of <char>/ image folders, and ink JSON lines with their other keys."""

import os

import numpy as np
from PIL import Image

from hwime.ink import Ink, InkError, iter_jsonl_rows
from hwime.samples import char_folder, is_regular


def test_a_char_folder_is_walked_in_name_order_and_its_reader_tells_a_fifo_apart(tmp_path):
    for char, names in (("口", ["2.png", "10.png"]), ("中", ["1.png"])):
        (tmp_path / char).mkdir()
        for name in names:
            Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / char / name)
    (tmp_path / "口" / "notes.txt").write_text("not an image")
    os.mkfifo(tmp_path / "中" / "pipe.png")  # opening it would block
    (tmp_path / "stray.png").write_bytes(b"")  # not in a <char>/ folder
    found = [(c, f.name) for c, f in char_folder(tmp_path)]
    assert found == [("中", "1.png"), ("中", "pipe.png"), ("口", "10.png"), ("口", "2.png")]
    assert [is_regular(f) for _, f in char_folder(tmp_path)] == [True, False, True, True]


def test_json_lines_keep_their_other_keys_and_a_bad_line_costs_only_itself(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"char": "十", "source": "w1/s1", "strokes": [[[0, 0], [9, 0]]]}\n'
                    "[1, 2]\n"
                    '{"char": "一", "strokes": "no"}\n'
                    '{"char": "丨", "strokes": [[[0, 0], [0, 9]]]}\n', encoding="utf-8")
    rows = list(iter_jsonl_rows(path))
    assert [n for n, _, _ in rows] == [1, 2, 3, 4]
    assert isinstance(rows[0][1], Ink) and rows[0][2]["source"] == "w1/s1"
    assert all(isinstance(ink, InkError) for _, ink, _ in rows[1:3]) and rows[3][2]["char"] == "丨"
