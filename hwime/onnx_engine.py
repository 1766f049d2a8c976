"""The CPU inference runtime: the bundle's network under onnxruntime, exported once per bundle into the user's cache.

Measured on the 2-core build machine, one thread, PP-OCRv6 small at 48x96 (training/reports/hwime-all/speed.md):
the network alone 4.9 ms under onnxruntime against 11.0 ms for torch's frozen, traced and optimized module (and
its tracing at every load cost 2 s of the start). Torch stays the reference: for training, CUDA and the tests.

The export lives in ``user_cache_path("hwime") / "onnx"`` (``HWIME_CACHE_DIR`` replaces that folder) under the
sha256 of the bundle file and of this module's export format, so a bundle whose weights or metadata change gets a
fresh export, and an export is written atomically (two processes exporting at once each rename a whole file).
A cached file that onnxruntime cannot open, or whose answers on a probe input differ from torch's, is exported
again; anything that goes wrong here leaves the caller on torch (``load_engine`` returns None and says why).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import numpy as np

from .files import atomic_write, file_sha256

EXPORT_FORMAT = "hwime-onnx/2"  # (logits, the head's input features); change it when the export changes
TOLERANCE = 1e-3  # the largest difference from torch allowed, relative to the logits' largest magnitude
MAX_EXPORT_BYTES = 256 << 20  # ten times the largest export (hwime-all.pt's is 21 MB): a bigger file is not ours


def cache_dir() -> Path:
    env = os.environ.get("HWIME_CACHE_DIR")
    if env:
        return Path(env) / "onnx"
    from platformdirs import user_cache_path

    return user_cache_path("hwime", appauthor=False) / "onnx"


def cache_path(bundle: str | Path) -> Path:
    key = hashlib.sha256(f"{EXPORT_FORMAT}\n{file_sha256(bundle)}".encode()).hexdigest()[:32]
    return cache_dir() / f"{key}.onnx"


def export_bytes(net, height: int, width: int) -> bytes:
    """The network with its features output (hwime.ppocrv6.WithFeatures) as ONNX: any batch, any width."""
    import warnings

    import torch

    from .ppocrv6 import WithFeatures

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(WithFeatures(net).eval(), (torch.zeros(1, 1, height, width),), buf,
                          input_names=["image"], output_names=["logits", "features"],
                          dynamic_axes={"image": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "frames"},
                                        "features": {0: "batch", 1: "frames"}}, dynamo=False)
    return buf.getvalue()


class OnnxEngine:
    """(logits, features) of one pass as numpy, from an onnxruntime session with as many threads as torch uses
    (``torch.set_num_threads`` after loading is followed: the session is rebuilt at the next call)."""

    def __init__(self, model_bytes: bytes, path: Path | None = None):
        self.model_bytes = model_bytes
        self.path = path
        self.threads = 0
        self.session = None
        self._session(self._wanted_threads())

    @staticmethod
    def _wanted_threads() -> int:
        import torch

        return max(1, torch.get_num_threads())

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(self.model_bytes, options, providers=["CPUExecutionProvider"])
        self.threads = threads
        return self.session

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        threads = self._wanted_threads()
        session = self.session if threads == self.threads else self._session(threads)
        logits, features = session.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32)})
        return logits, features


def _agrees(engine: OnnxEngine, net, height: int, width: int) -> float:
    """The largest difference between the engine's logits and torch's on a probe (a blank and a drawn-on row),
    relative to the logits' scale."""
    import torch

    rng = np.random.default_rng(0)
    probe = np.stack([np.full((1, height, width), 1.0, np.float32),
                      np.where(rng.random((1, height, width)) < 0.1, -1.0, 1.0).astype(np.float32)])
    with torch.inference_mode():
        expected = net(torch.from_numpy(probe)).float().numpy()
    got = engine(probe)[0]
    return float(np.abs(expected - got).max() / max(float(np.abs(expected).max()), 1e-12))


def read_cached(target: Path) -> bytes | None:
    """The bytes of a cached export, or None where there is none to trust: missing, a symlink (anyone who has the
    bundle can compute the name and plant one), a FIFO or device, or larger than any export."""
    try:
        st = os.lstat(target)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_EXPORT_BYTES:
            return None
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_EXPORT_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_EXPORT_BYTES else None


def load_engine(bundle: str | Path, net, height: int, width: int, notes: list[str] | None = None) -> OnnxEngine | None:
    """The cached export of ``bundle`` (exported now when missing, damaged or disagreeing with torch), or None where
    onnxruntime is missing or anything fails (a line in ``notes`` says why; the caller runs torch)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    try:
        target = cache_path(bundle)
    except OSError as exc:
        if notes is not None:
            notes.append(f"onnxruntime not used: cannot read {bundle} ({exc})")
        return None
    cached = read_cached(target)
    if cached is not None:
        try:
            engine = OnnxEngine(cached, target)
            if _agrees(engine, net, height, width) <= TOLERANCE:
                return engine
        except Exception:  # damaged, truncated, another program's file: export it again
            pass
    try:
        data = export_bytes(net, height, width)
        engine = OnnxEngine(data, target)
        diff = _agrees(engine, net, height, width)
        if diff > TOLERANCE:
            if notes is not None:
                notes.append(f"onnxruntime not used: its answers differ from torch's by {diff:.1e}")
            return None
    except Exception as exc:  # an exporter or runtime that cannot take this network: torch reads it
        if notes is not None:
            notes.append(f"onnxruntime not used: the export failed ({type(exc).__name__})")
        return None
    try:
        # the name is computable from the bundle: a link planted there is replaced, never written through
        atomic_write(target, lambda fh: fh.write(data), follow_symlinks=False)
    except OSError:  # a read-only cache: this run uses the export it made all the same
        pass
    return engine
