"""hwime.bundle: one set of checks for writing and reading a bundle, the label codec, and files that are no bundle
(a FIFO, a re-zipped archive declaring gigabytes, invisible labels, tensors of the wrong kind)."""

import os
import zipfile

import pytest
import torch

from hwime.bundle import (LabelCodec, ModelError, check_archive, load_bundle, read_bundle, read_weights_file,
                          write_bundle)
from hwime.recognizer import Recognizer


def test_the_codec_puts_a_ctc_blank_first_and_a_classifier_has_none():
    ctc, plain = LabelCodec("中国人", blank=True), LabelCodec("中国人")
    assert ctc.outputs == 4 and plain.outputs == 3
    assert ctc.encode("国人") == [2, 3] and plain.encode("国人") == [1, 2]
    assert ctc.decode([2, 0]) == "人中" and "国" in ctc and "日" not in ctc
    frames = torch.arange(8.0).view(2, 4)
    assert ctc.class_columns(frames).tolist() == [[1, 2, 3], [5, 6, 7]]
    assert plain.class_columns(frames).shape == (2, 4)
    with pytest.raises(KeyError):
        ctc.encode("日")


def test_a_bundle_read_back_is_what_was_written_and_export_refuses_what_load_would(tiny_bundle, tmp_path):
    bundle = read_bundle(tiny_bundle)
    copy = write_bundle(tmp_path / "copy.pt", bundle)
    loaded = load_bundle(copy)
    assert loaded.codec.labels == tuple(bundle["labels"]) and not loaded.codec.blank
    assert loaded.spec.size == bundle["raster"]["size"]
    for bad, message in ((dict(bundle, labels=bundle["labels"][:-1] + [bundle["labels"][0]]), "appears twice"),
                         (dict(bundle, prior_weight=float("nan")), "prior_weight"),
                         (dict(bundle, format="other/1"), "bundle format")):
        with pytest.raises(ModelError, match=message):
            write_bundle(tmp_path / "bad.pt", bad)
        assert not (tmp_path / "bad.pt").exists()


@pytest.mark.parametrize("label", ["\u0301", "\u3164", "\ufffd", "\u115f"])
def test_a_label_the_pad_could_not_show_on_its_own_is_refused(tiny_bundle, tmp_path, label):
    bundle = read_bundle(tiny_bundle)
    bundle["labels"] = bundle["labels"][:-1] + [label]
    torch.save(bundle, tmp_path / "marks.pt")
    with pytest.raises(ModelError, match="mark or filler"):
        Recognizer.load(tmp_path / "marks.pt", "cpu")


def test_integer_weights_where_the_arch_has_floats_are_refused(tiny_bundle, tmp_path):
    bundle = read_bundle(tiny_bundle)
    name = next(k for k, v in bundle["state_dict"].items() if v.is_floating_point() and v.ndim == 4)
    bundle["state_dict"][name] = bundle["state_dict"][name].to(torch.int8)
    torch.save(bundle, tmp_path / "ints.pt")
    with pytest.raises(ModelError, match=f"{name} is torch.int8"):
        Recognizer.load(tmp_path / "ints.pt", "cpu")


def test_a_fifo_named_as_the_model_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer for ever
    with pytest.raises(ModelError, match="not a regular file"):
        Recognizer.load(fifo, "cpu")


def test_a_rezipped_bundle_declaring_gigabytes_is_refused_before_it_is_read(tiny_bundle, tmp_path, monkeypatch):
    deflated = tmp_path / "deflated.pt"
    with zipfile.ZipFile(tiny_bundle) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    with pytest.raises(ModelError, match="compressed entries"):
        read_weights_file(deflated)

    import hwime.bundle

    def no_load(*args, **kwargs):
        raise AssertionError("torch.load reached")

    stored = tmp_path / "large.pt"
    with zipfile.ZipFile(tiny_bundle) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    monkeypatch.setattr(hwime.bundle, "MAX_ARCHIVE_BYTES", os.path.getsize(tiny_bundle) // 2)
    monkeypatch.setattr(torch, "load", no_load)
    with pytest.raises(ModelError, match="declares"):
        check_archive(stored)
    with pytest.raises(ModelError, match="declares"):
        read_weights_file(stored)
