"""The CPU runtime (issue 25): the bundle's network under onnxruntime, exported once per bundle into the cache,
gives torch's answers; a missing, damaged or read-only cache, or no onnxruntime at all, leaves the pad on torch."""

import os
import sys

import numpy as np
import pytest
import torch

from conftest import ink_kou, ink_shi
from hwime import Recognizer
from hwime import onnx_engine
from hwime.network import check_engine
from hwime.ppocrv6 import INPUT_HEIGHT

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HWIME_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def inks():
    return [ink_shi(), ink_kou()]


def test_onnxruntime_gives_torchs_candidates_and_features(cache):
    fast = Recognizer.load(None, "cpu")
    reference = Recognizer.load(None, "cpu", engine="torch")
    assert fast.engine_name == "onnxruntime" and reference.engine_name == "torch"
    assert len(list(cache.glob("*.onnx"))) == 1
    for ink in inks():
        a, b = fast.recognize_ink(ink, 10), reference.recognize_ink(ink, 10)
        assert [c.char for c in a[:3]] == [c.char for c in b[:3]]
        assert np.allclose([c.score for c in a], [c.score for c in b], atol=1e-3 * max(c.score for c in b))
    image = np.full((48, 300), 255, np.uint8)
    image[20:28, 30:270] = 0  # a long stroke: a line several frames wide, read at another width than a character's
    lp_fast, lp_ref = fast.line_log_probs(image), reference.line_log_probs(image)
    assert lp_fast.shape == lp_ref.shape and lp_fast.shape[0] > 12
    assert np.abs(lp_fast - lp_ref).max() <= 1e-2 * max(1.0, float(np.abs(lp_ref).max()))
    blank = np.stack([np.full((48, 96), 255, np.uint8)] * 2)
    fast_features, reference_features = fast.forward_features(blank)[1], reference.forward_features(blank)[1]
    assert np.allclose(fast_features, reference_features, atol=1e-3 * float(np.abs(reference_features).max()))


def test_the_head_reads_only_the_frames_it_is_asked_for_and_the_features_stay_whole(cache):
    from hwime.raster import ink_to_image, normalize

    fast = Recognizer.load(None, "cpu")
    reader = fast.characters
    assert reader.frames == -(-fast.spec.size // fast.network.frame_stride)  # the square's own columns
    x = torch.from_numpy(normalize(np.stack([ink_to_image(ink, fast.spec) for ink in inks()]), fast.spec))
    whole_logits, whole_features = fast.network(x)
    logits, features = fast.network(x, reader.frames)
    frames_in_all = fast.spec.input_width // fast.network.frame_stride
    assert whole_logits.shape[1] == frames_in_all > reader.frames == logits.shape[1]
    assert torch.equal(features, whole_features) and features.shape[1] == frames_in_all
    # the head in int8 quantizes what it reads as a whole: the square's frames are their own tensor
    head = onnx_engine.Int8Head(fast.network.model.head)
    scale = float(whole_logits.abs().max())
    assert float((logits - head(features[:, : reader.frames])).abs().max()) <= 1e-4 * scale
    assert float((whole_logits - head(features)).abs().max()) <= 1e-4 * scale
    with torch.inference_mode():
        float_head = fast.network.model.head(features[:, : reader.frames])
    assert 1e-4 * scale < float((logits - float_head).abs().max()) <= 0.05 * scale  # int8, near the float head
    torch_logits, _ = Recognizer.load(None, "cpu", engine="torch").network(x, reader.frames)
    assert float((logits - torch_logits).abs().max()) <= 1e-2 * scale


def test_the_head_runs_in_int8_and_a_samples_reading_does_not_depend_on_its_batch(cache):
    import onnx

    from hwime.raster import ink_to_image

    fast = Recognizer.load(None, "cpu")
    model = onnx.load_from_string(fast.network.engine.session.model_bytes)
    assert "MatMulInteger" in [n.op_type for n in model.graph.node]
    heads = [i for i in model.graph.initializer if len(i.dims) == 2 and i.dims[1] == len(fast.labels) + 1]
    assert [h.data_type for h in heads] == [onnx.TensorProto.INT8]  # the float head's weights are gone
    squares = np.stack([ink_to_image(ink, fast.spec) for ink in inks()])
    # a blank square beside them: with one scale for the whole batch its features would change the others' levels
    squares = np.concatenate([squares, np.full_like(squares[:1], 255)])
    together = fast.characters.logits(squares)[0]
    alone = torch.cat([fast.characters.logits(squares[i : i + 1])[0] for i in range(len(squares))])
    scale = float(alone.abs().max())
    assert float((together - alone).abs().max()) <= 1e-4 * scale


def test_the_probe_refuses_an_export_that_ignores_the_frame_count(cache):
    fast = Recognizer.load(None, "cpu")
    engine = fast.network.engine.session
    net, width = fast.network.model, fast.spec.input_width
    assert onnx_engine._agrees(engine, net, INPUT_HEIGHT, width, seed=3) <= onnx_engine.TOLERANCE

    class EveryFrame:
        def __call__(self, x, frames=None):
            return engine(x)

    assert onnx_engine._agrees(EveryFrame(), net, INPUT_HEIGHT, width, seed=3) == float("inf")


def test_the_export_is_made_once_and_then_read_from_the_cache(cache, monkeypatch):
    Recognizer.load(None, "cpu")
    (exported,) = cache.glob("*.onnx")
    stamp = exported.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_engine, "export_bytes", no_export)
    assert Recognizer.load(None, "cpu").engine_name == "onnxruntime"
    assert exported.stat().st_mtime_ns == stamp


def test_a_damaged_cached_export_is_made_again(cache):
    Recognizer.load(None, "cpu")
    (exported,) = cache.glob("*.onnx")
    size = exported.stat().st_size
    exported.write_bytes(exported.read_bytes()[: size // 3])
    rec = Recognizer.load(None, "cpu")
    assert rec.engine_name == "onnxruntime" and exported.stat().st_size == size
    assert rec.recognize_ink(ink_shi(), 1)[0].char == "十"


def test_a_cache_that_cannot_be_written_still_runs_onnxruntime(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("HWIME_CACHE_DIR", str(blocked))
    rec = Recognizer.load(None, "cpu")
    assert rec.engine_name == "onnxruntime" and rec.recognize_ink(ink_kou(), 1)[0].char == "口"


def test_without_onnxruntime_the_pad_runs_torch(cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    rec = Recognizer.load(None, "cpu")
    assert rec.engine_name == "torch" and rec.recognize_ink(ink_shi(), 1)[0].char == "十"
    assert not cache.exists()


def test_an_export_that_fails_says_why_and_runs_torch(cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter broke")

    monkeypatch.setattr(onnx_engine, "export_bytes", broken)
    rec = Recognizer.load(None, "cpu")
    assert rec.engine_name == "torch" and any("export failed" in str(n) for n in rec.notes)
    assert rec.recognize_ink(ink_kou(), 1)[0].char == "口"


def test_the_engine_is_chosen_by_argument_or_environment(cache, monkeypatch):
    monkeypatch.setenv("HWIME_ENGINE", "torch")
    assert Recognizer.load(None, "cpu").engine_name == "torch"
    assert Recognizer.load(None, "cpu", engine="onnx").engine_name == "onnxruntime"
    monkeypatch.setenv("HWIME_ENGINE", "tensorrt")
    with pytest.raises(ValueError, match="engine must be auto, onnx or torch"):
        check_engine(None)
    with pytest.raises(ValueError, match="engine must be"):
        Recognizer.load(None, "cpu", engine="fast")


def test_the_session_follows_torchs_thread_count(cache):
    rec = Recognizer.load(None, "cpu")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        rec.recognize_ink(ink_shi(), 1)
        assert rec.network.engine.session.threads == 1
        torch.set_num_threads(2)
        rec.recognize_ink(ink_shi(), 1)
        assert rec.network.engine.session.threads == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("dangling", [False, True])
def test_a_link_planted_at_the_cache_entry_is_replaced_never_written_through(cache, tmp_path, dangling):
    # the entry's name is computable by anyone who has the bundle (issue 39 item 1)
    from hwime.bundled import DEFAULT_MODEL, asset_path

    victim = tmp_path / "notes.txt"
    if not dangling:
        victim.write_text("my notes\n")
        victim.chmod(0o644)
    entry = onnx_engine.cache_path(asset_path(DEFAULT_MODEL))
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.symlink_to(victim)
    assert Recognizer.load(None, "cpu").engine_name == "onnxruntime"
    assert not entry.is_symlink() and entry.is_file() and entry.stat().st_size > 1 << 20
    if dangling:
        assert not victim.exists()
    else:
        assert victim.read_text() == "my notes\n" and victim.stat().st_mode & 0o777 == 0o644


def test_a_cache_entry_that_is_a_fifo_or_too_large_is_exported_again(cache, monkeypatch):
    import os

    from hwime.bundled import DEFAULT_MODEL, asset_path

    entry = onnx_engine.cache_path(asset_path(DEFAULT_MODEL))
    entry.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(entry)  # reading it would block for ever
    assert Recognizer.load(None, "cpu").engine_name == "onnxruntime"
    assert entry.is_file() and not entry.is_fifo()
    monkeypatch.setattr(onnx_engine, "MAX_EXPORT_BYTES", entry.stat().st_size - 1)
    assert onnx_engine.read_cached(entry) is None


# issue 39 item 2: a tampered export in the cache

def _tampered(data: bytes, logits: str = "reversed unless batch 2", features: str = "") -> bytes:
    """The export edited as an attacker would: logits reversed along the classes unless the batch is 2 (the size
    of the old probe), and/or constant features (which only the personal ranking reads)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(data)
    g = model.graph

    def rename_output(name: str, new: str) -> None:
        for node in g.node:
            node.output[:] = [new if o == name else o for o in node.output]
            node.input[:] = [new if i == name else i for i in node.input]

    if logits:
        rename_output("logits", "logits_true")
        g.initializer.extend([numpy_helper.from_array(np.array([0], np.int64), "t_zero"),
                              numpy_helper.from_array(np.array(2, np.int64), "t_two"),
                              numpy_helper.from_array(np.array([-1], np.int64), "t_start"),
                              numpy_helper.from_array(np.array([-(2**63)], np.int64), "t_end"),
                              numpy_helper.from_array(np.array([2], np.int64), "t_axis"),
                              numpy_helper.from_array(np.array([-1], np.int64), "t_step")])
        g.node.extend([helper.make_node("Shape", ["image"], ["t_shape"]),
                       helper.make_node("Gather", ["t_shape", "t_zero"], ["t_batch1"], axis=0),
                       helper.make_node("Squeeze", ["t_batch1", "t_zero"], ["t_batch"]),
                       helper.make_node("Equal", ["t_batch", "t_two"], ["t_is2"]),
                       helper.make_node("Slice", ["logits_true", "t_start", "t_end", "t_axis", "t_step"],
                                        ["t_reversed"]),
                       helper.make_node("Where", ["t_is2", "logits_true", "t_reversed"], ["logits"])])
    if features:
        rename_output("features", "features_true")
        g.initializer.extend([numpy_helper.from_array(np.array(0.0, np.float32), "t_f0"),
                              numpy_helper.from_array(np.array(0.5, np.float32), "t_fc")])
        g.node.extend([helper.make_node("Mul", ["features_true", "t_f0"], ["t_fz"]),
                       helper.make_node("Add", ["t_fz", "t_fc"], ["features"])])
    return model.SerializeToString()


def _bundle_entry():
    from hwime.bundled import DEFAULT_MODEL, asset_path
    from hwime.files import file_sha256

    bundle = asset_path(DEFAULT_MODEL)
    return bundle, file_sha256(bundle), onnx_engine.cache_path(bundle)


def test_the_tampered_exports_fool_the_old_probe_but_not_the_new_one(cache):
    # the two exports of the issue, checked against the network itself: the old probe (batch 2, logits only)
    # passed both; the new one refuses both
    rec = Recognizer.load(None, "cpu")
    data = rec.network.engine.session.model_bytes
    height, width = INPUT_HEIGHT, rec.spec.input_width
    good = onnx_engine.OnnxEngine(data)
    assert onnx_engine._agrees(good, rec.model, height, width, seed=1) <= onnx_engine.TOLERANCE
    for tampered in (_tampered(data), _tampered(data, logits="", features="constant")):
        engine = onnx_engine.OnnxEngine(tampered)
        old_probe = np.stack([np.full((1, height, width), 1.0, np.float32),
                              np.where(np.random.default_rng(0).random((1, height, width)) < 0.1, -1.0, 1.0)
                              .astype(np.float32)])
        with torch.inference_mode():  # the network as the export runs it: the head in int8
            expected = onnx_engine.Int8Head(rec.model.head)(rec.model.features(torch.from_numpy(old_probe))).numpy()
        assert np.abs(engine(old_probe)[0] - expected).max() <= 1e-2 * np.abs(expected).max()  # the old check passed
        assert onnx_engine._agrees(engine, rec.model, height, width, seed=1) > 0.1


def test_a_tampered_export_in_the_cache_is_not_used_by_recognize(cache, tmp_path):
    # end to end through the CLI: the tampered export read 十 as something else with score 1.00 before
    import json
    import os
    import subprocess

    rec = Recognizer.load(None, "cpu")
    bundle, bundle_hash, entry = _bundle_entry()
    entry.write_bytes(_tampered(rec.network.engine.session.model_bytes))
    ink = tmp_path / "shi.json"
    ink.write_text(json.dumps(ink_shi().to_json()))
    env = {**os.environ, "HWIME_CACHE_DIR": str(cache.parent)}
    done = subprocess.run([sys.executable, "-m", "hwime", "recognize", "--json", "--top", "3", str(ink)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()  # nothing but the one JSON object on stdout
    assert json.loads(line)["candidates"][0]["char"] == "十"
    assert onnx_engine.read_sealed(entry, bundle_hash) == rec.network.engine.session.model_bytes  # exported again, and sealed


@pytest.mark.parametrize("kind", ["logits", "features"])
def test_a_tampered_export_with_a_forged_seal_is_caught_by_the_probes(cache, kind):
    rec = Recognizer.load(None, "cpu")
    good = rec.network.engine.session.model_bytes
    bundle, bundle_hash, entry = _bundle_entry()
    bad = _tampered(good) if kind == "logits" else _tampered(good, logits="", features="constant")
    entry.write_bytes(bad)
    onnx_engine.seal_path(entry).write_text(onnx_engine.seal(bundle_hash, bad))
    again = Recognizer.load(None, "cpu")
    assert again.engine_name == "onnxruntime" and again.network.engine.session.model_bytes == good
    assert entry.read_bytes() == good
    blank = np.stack([np.full((48, 96), 255, np.uint8)] * 3)
    rec_torch = Recognizer.load(None, "cpu", engine="torch")
    features, reference = again.forward_features(blank)[1], rec_torch.forward_features(blank)[1]
    assert np.allclose(features, reference, atol=1e-3 * float(np.abs(reference).max()))


def test_an_unsealed_or_oversized_export_is_refused_before_it_is_read(cache, monkeypatch):
    rec = Recognizer.load(None, "cpu")
    bundle, bundle_hash, entry = _bundle_entry()
    data = entry.read_bytes()
    assert onnx_engine.read_sealed(entry, bundle_hash) == data
    assert onnx_engine.read_sealed(entry, "0" * 64) is None  # another bundle's seal
    limit = onnx_engine.export_limit(bundle)
    assert len(data) < limit < 8 * bundle.stat().st_size  # a 2 GB file in its place is far over it
    opened = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    with open(entry, "r+b") as fh:  # a sparse giant: the size is refused from the file's metadata alone
        fh.truncate(limit + 1)
    monkeypatch.setattr(onnx_engine.os, "open", spy)
    assert onnx_engine.read_sealed(entry, bundle_hash, limit) is None
    assert str(entry) not in opened
    del rec


def test_onnxruntime_banners_go_to_stderr_never_stdout(cache, capfd, monkeypatch):
    import onnxruntime as ort

    real = ort.InferenceSession

    def noisy(*args, **kwargs):
        os.write(1, b"*** onnxruntime banner ***\n")  # C++ code writes to the descriptor, past sys.stdout
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", noisy)
    rec = Recognizer.load(None, "cpu")
    print("the program's own output")
    out, err = capfd.readouterr()
    assert rec.engine_name == "onnxruntime"
    assert "banner" not in out and "the program's own output" in out and "banner" in err


def test_the_cache_keeps_the_recent_exports_and_drops_stale_temporary_files(tmp_path):
    import time as _time

    folder = tmp_path / "onnx"
    folder.mkdir()
    now = _time.time()
    for i in range(6):  # six bundles used over time, the newest last
        export = folder / f"{i:032x}.onnx"
        export.write_bytes(b"x")
        onnx_engine.seal_path(export).write_text("seal")
        for p in (export, onnx_engine.seal_path(export)):
            os.utime(p, (now - 1000 * (6 - i), now - 1000 * (6 - i)))
    stale, fresh = folder / ".abc.onnx-1.tmp", folder / ".abc.onnx-2.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (now - 2 * onnx_engine.STALE_TEMP_SECONDS,) * 2)
    fresh.write_bytes(b"being written")  # another process's export in progress: left alone
    orphan_seal = folder / ("e" * 32 + ".onnx.sha256")
    orphan_seal.write_text("seal")
    onnx_engine.prune(folder, keep=folder / f"{0:032x}.onnx", now=now)
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([".abc.onnx-2.tmp"] + [f"{i:032x}.onnx" for i in (0, 3, 4, 5)] +
                          [f"{i:032x}.onnx.sha256" for i in (0, 3, 4, 5)])
