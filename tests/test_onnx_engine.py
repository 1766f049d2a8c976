"""The CPU runtime (issue 25): the bundle's network under onnxruntime, exported once per bundle into the cache,
gives torch's answers; a missing, damaged or read-only cache, or no onnxruntime at all, leaves the pad on torch."""

import sys

import numpy as np
import pytest
import torch

from conftest import ink_kou, ink_shi
from hwime import Recognizer
from hwime import onnx_engine
from hwime.network import check_engine

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
