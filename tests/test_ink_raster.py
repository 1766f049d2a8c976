import json

import numpy as np
import pytest

from conftest import ink_kou, ink_shi
from hwime.ink import Ink, InkError, iter_jsonl
from hwime.raster import (RasterError, RasterSpec, ink_to_image, load_image, normalize, prepare_image, render_ink,
                          threshold, to_square)


def test_ink_json_round_trip_keeps_time_and_pressure(tmp_path):
    ink = Ink.from_strokes([[[1, 2], [3, 4]], [[5, 6, 100], [7, 8, 116]], [[9, 9, 0, 0.5], [10, 10, 8, 0.75]]])
    ink.save(tmp_path / "a.json")
    back = Ink.load(tmp_path / "a.json")
    assert back.to_json() == ink.to_json()
    assert back.to_json()["strokes"][0] == [[1, 2], [3, 4]]
    assert back.to_json()["strokes"][2][1] == [10, 10, 8, 0.75]
    assert back.bbox() == (1, 2, 10, 10)


@pytest.mark.parametrize("bad", [{"strokes": [[]]}, {"strokes": [[[1]]]}, {"strokes": "no"}, [], {"strokes": [[["a", 1]]]}])
def test_bad_ink_json_is_a_clear_error(bad):
    with pytest.raises(InkError):
        Ink.from_json(bad)


def test_jsonl_lines_count_from_one_and_bad_lines_are_reported(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"char": "十", **ink_shi().to_json()}) + "\n\nnot json\n" + json.dumps({"strokes": 3}) + "\n",
                 encoding="utf-8")
    rows = list(iter_jsonl(f))
    assert [r[0] for r in rows] == [1, 3, 4]
    assert rows[0][2] == "十" and isinstance(rows[0][1], Ink)
    assert isinstance(rows[1][1], InkError) and ":3:" in str(rows[1][1])
    assert isinstance(rows[2][1], InkError)


def test_simplify_drops_collinear_points_only():
    ink = Ink.from_strokes([[[0, 0], [1, 0.01], [2, 0], [2, 5]]])
    s = ink.simplify(0.5)
    assert s.strokes[0][:, :2].tolist() == [[0, 0], [2, 0], [2, 5]]


def test_to_square_keeps_aspect_so_a_flat_stroke_stays_flat():
    yi = Ink.from_strokes([[[0, 100], [300, 100]]])
    img = ink_to_image(yi, RasterSpec())
    rows = np.flatnonzero((img < 128).any(axis=1))
    cols = np.flatnonzero((img < 128).any(axis=0))
    assert rows.max() - rows.min() < 10 and cols.max() - cols.min() > 45
    assert abs((rows.min() + rows.max()) / 2 - 31.5) < 3  # centred
    sq = to_square(np.zeros((10, 40), np.uint8), 0.0)
    assert sq.shape == (40, 40) and (sq[:15] == 255).all() and (sq[15:25] == 0).all()


def test_ink_is_scale_invariant():
    a = ink_to_image(ink_kou(), RasterSpec())
    big = Ink.from_strokes([s[:, :2] * 7 + 1000 for s in ink_kou().strokes])
    b = ink_to_image(big, RasterSpec())
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 2


def test_pressure_changes_width():
    light = Ink.from_strokes([[[0, 0, 0, 0.1], [100, 100, 10, 0.1]]])
    heavy = Ink.from_strokes([[[0, 0, 0, 1.0], [100, 100, 10, 1.0]]])
    assert (render_ink(heavy) < 128).sum() > 2 * (render_ink(light) < 128).sum()


def test_each_stroke_is_drawn_with_its_own_points_pen_and_pressure():
    # strokes are placed all at once and drawn one by one: the drawing is the union of each stroke drawn alone in the
    # same frame (two corner dots pin it), whether a stroke has pressure or not
    corners = [[[0, 0]], [[300, 300]]]
    pressed = [[0, 40, 0, 1.0], [150, 60, 5, 0.2], [280, 50, 9, 1.0]]
    plain = [[40, 100], [60, 250], [200, 280]]
    short = [[250, 120, 0, 0.6]]
    strokes = [pressed, plain, short]
    whole = render_ink(Ink.from_strokes(strokes + corners))
    alone = [render_ink(Ink.from_strokes([stroke] + corners)) for stroke in strokes]
    assert whole.shape == alone[0].shape and np.array_equal(whole, np.minimum.reduce(alone))
    # each stroke's own pen (the corners carry the widest, so every drawing has the same canvas)
    widths = [0.02, 0.05, 0.04]
    whole = render_ink(Ink.from_strokes(strokes + corners), stroke_widths=widths + [0.06, 0.06])
    alone = [render_ink(Ink.from_strokes([stroke] + corners), stroke_widths=[w, 0.06, 0.06])
             for stroke, w in zip(strokes, widths)]
    assert whole.shape == alone[0].shape and np.array_equal(whole, np.minimum.reduce(alone))


def test_empty_and_one_dot_ink_render():
    assert (render_ink(Ink()) == 255).all()
    dot = ink_to_image(Ink.from_strokes([[[5, 5]]]), RasterSpec())
    assert dot.shape == (64, 64) and (dot < 128).any()


def test_threshold_and_normalize_are_shared_by_numpy_and_torch():
    import torch

    spec = RasterSpec()
    img = np.array([[0, 100, 199, 200, 255]], np.uint8)
    assert threshold(img, 200).tolist() == [[0, 100, 199, 255, 255]]
    assert threshold(torch.tensor(img, dtype=torch.float32), 200).tolist() == [[0, 100, 199, 255, 255]]
    n = normalize(img[None], spec)
    t = normalize(torch.from_numpy(img[None]), spec).numpy()
    assert n.shape == (1, 1, 1, 5) and np.allclose(n, t)
    assert np.isclose(n[0, 0, 0, -1], (1 - spec.mean) / spec.std)


def test_the_uint8_look_up_normalizes_every_level_and_pads_as_the_arithmetic_does():
    line = RasterSpec(size=48, threshold=255, mean=0.5, std=0.5, margin=0.15, layout="line", width=96)
    levels = np.arange(256, dtype=np.uint8)
    for spec in (RasterSpec(), line):
        for batch in (np.resize(levels, (2, spec.size, spec.size)), np.resize(levels[::-1], (1, spec.size, 300))):
            looked_up, computed = normalize(batch, spec), normalize(batch.astype(np.int32), spec)
            assert looked_up.dtype == np.float32 and looked_up.shape == computed.shape
            assert np.array_equal(looked_up, computed)
    square = normalize(np.zeros((1, 48, 48), np.uint8), line)
    assert square.shape == (1, 1, 48, 96) and (square[..., 48:] == 0).all()  # the padding after the square


def test_prepare_image_any_size_to_network_size():
    out = prepare_image(np.full((90, 45), 255, np.uint8), RasterSpec(size=48))
    assert out.shape == (48, 48) and out.dtype == np.uint8
    with pytest.raises(RasterError):
        prepare_image(np.zeros((0, 5), np.uint8), RasterSpec())


def test_unreadable_image_is_a_clear_error(tmp_path):
    f = tmp_path / "x.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(RasterError, match="x.png"):
        load_image(f)


def test_transparent_png_is_composed_on_paper(tmp_path):
    from PIL import Image

    im = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    im.putpixel((10, 10), (0, 0, 0, 255))
    im.save(tmp_path / "t.png")
    g = load_image(tmp_path / "t.png")
    assert g[0, 0] == 255 and g[10, 10] == 0


def test_a_grey_scan_of_a_line_keeps_its_own_paper_and_ends_in_the_networks_padding():
    from hwime.raster import LINE_MARGIN, RasterSpec, frame_line, normalize, prepare_line

    scan = np.full((200, 900), 205, np.uint8)  # grey paper, as forms are scanned
    scan[80:120, 100:400] = 40  # the line's ink: 40 high
    framed = frame_line(scan)
    least, most = (round(m * 40) for m in LINE_MARGIN)
    assert 40 + 2 * least <= framed.shape[0] <= 40 + 2 * most
    border = np.concatenate([framed[0], framed[-1], framed[:, 0], framed[:, -1]])
    assert (border == 205).all()  # the writer's paper, never a white frame around a grey scan
    tight = scan[75:125, 100:400]  # cropped to the ink's ends by someone else: paper added in the paper's colour
    assert frame_line(tight).shape == (50, 300 + 2 * least) and (frame_line(tight)[:, :least] == 205).all()
    assert (frame_line(np.full((30, 30), 205, np.uint8)) == 205).all()  # a blank page comes back as it is
    spec = RasterSpec(size=48, threshold=255, mean=0.5, std=0.5, layout="line", width=96)
    line = prepare_line(scan, spec)
    assert line.shape[0] == 48 and line.shape[1] % 8 == 0
    x = normalize(line[None], spec)
    assert x.shape[-1] >= line.shape[1] + 48 and (x[..., line.shape[1]:] == 0).all()  # one height of padding
