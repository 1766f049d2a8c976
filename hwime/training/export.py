"""`export`: a training checkpoint -> the model bundle the pad loads (hwime.bundle: format, arch, labels, raster,
state_dict and plain metadata, read with weights_only=True), optionally ONNX too."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import torch

from ..bundle import BUNDLE_FORMAT, read_bundle, write_bundle
from ..network import pick_device
from ..recognizer import Recognizer
from . import checkpoint


def recognizer_from_file(path: str | Path, device: str = "auto", script: str | None = None) -> Recognizer:
    """A Recognizer from a bundle or a training checkpoint, for the writer's ``script`` (default: the locale's)."""
    probe = checkpoint.load(path)
    if probe.get("format") == BUNDLE_FORMAT:
        return Recognizer.load(path, device, script=script)
    model, labels, recipe = checkpoint.load_model(path)
    dev, _ = pick_device(device)
    return Recognizer(model, labels, recipe.data.raster, dev, Path(path), {"arch": recipe.model.arch, "recipe": recipe.to_dict()},
                      script)


def export_bundle(checkpoint_path: str | Path, out: str | Path, half: bool = True, metrics: dict | None = None,
                  data: dict | None = None) -> Path:
    """Write the bundle atomically; fp16 weights by default (the pad casts back to fp32)."""
    model, labels, recipe = checkpoint.load_model(checkpoint_path)
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    bundle = {
        "format": BUNDLE_FORMAT,
        "arch": recipe.model.arch,
        "model_options": {**recipe.model.options(), "fused": bool(getattr(model, "fused", False))},
        "labels": labels,
        "raster": recipe.data.raster.to_dict(),
        "state_dict": state,
        "recipe": json.dumps(recipe.to_dict(), ensure_ascii=False),
        "data": json.dumps(data or {}, ensure_ascii=False),
        "metrics": json.dumps(metrics or {}, ensure_ascii=False),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    prov = checkpoint.provenance(checkpoint_path)
    if prov:  # weights that came from elsewhere say where, with their files' hashes and licence
        bundle["provenance"] = prov
    return write_bundle(out, bundle)


def set_bundle_values(path: str | Path, **values) -> Path:
    """Rewrite a bundle with plain metadata values changed (e.g. prior_weight), atomically; checks it still loads."""
    bundle = read_bundle(path)
    bundle.update(values)
    return write_bundle(path, bundle)  # refused (ModelError) before anything is written


def export_onnx(bundle: str | Path, out: str | Path, tolerance: float = 1e-3) -> float:
    """ONNX copy of a bundle's network; checks with onnxruntime that logits agree; returns the largest
    difference relative to the logits' scale (their largest magnitude), so the check holds on any CPU."""
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeError("ONNX export needs `pip install onnx onnxruntime`") from None
    rec = Recognizer.load(bundle, "cpu")
    size = rec.spec.size
    sample = torch.randn(4, 1, size, rec.spec.input_width)
    # a line recognizer reads any width (frames = width / 8)
    axes = {"image": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "frames"}} if rec.ctc else \
        {"image": {0: "batch"}, "logits": {0: "batch"}}
    torch.onnx.export(rec.model, (sample,), str(out), input_names=["image"], output_names=["logits"],
                      dynamic_axes=axes, dynamo=False)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = rec.model(sample).numpy()
    got = session.run(None, {"image": sample.numpy()})[0]
    diff = float(np.abs(expected - got).max() / max(float(np.abs(expected).max()), 1e-12))
    if diff > tolerance:
        raise RuntimeError(f"ONNX output differs from PyTorch by {diff:.2e} of the logits' scale (> {tolerance})")
    return diff


