"""The CPU inference runtime: the bundle's network under onnxruntime, exported once per bundle into the user's cache.

Measured on the 2-core build machine, one thread, PP-OCRv6 small at 48x96 (training/reports/hwime-all/speed.md):
the network alone 4.9 ms under onnxruntime against 11.0 ms for torch's frozen, traced and optimized module (and
its tracing at every load cost 2 s of the start). Torch stays the reference: for training, CUDA and the tests.
On the CPU the head runs in int8 (Int8Head: a quarter of its 9 MB read per pass), in the export and in the torch
engine alike.

The export lives in ``user_cache_path("hwime") / "onnx"`` (``HWIME_CACHE_DIR`` replaces that folder) under the
sha256 of the bundle file and of this module's export format, so a bundle whose weights or metadata change gets a
fresh export, and an export is written atomically (two processes exporting at once each rename a whole file).
A cached export is trusted only when (1) its seal beside it (``<key>.onnx.sha256``: the sha256 of the bundle's hash
and the export's bytes) matches, (2) it is no larger than a sane bound (``export_limit``: a few times the bundle,
refused before a byte is read; a 2 GB file once took 4.8 GB and 18 s to load) and (3) on fresh random probes at
batch sizes 1, 2 and 3, two widths, all frames and half, its features agree with torch's and its logits with
Int8Head's over those features (a file that answers correctly only at one batch size, or with constant features,
is refused). Otherwise it is exported again; anything that goes wrong
here leaves the caller on torch (``load_engine`` returns None and says why). The seal is no defence against someone
who can write the cache and read the bundle: the probes are, as far as probes go.

onnxruntime and the exporter may print banners on the process's stdout, which ``hwime recognize --json`` owns:
while they run, file descriptor 1 points at stderr. The cache keeps the ``KEEP_EXPORTS`` most recently used
exports and drops temporary files that a killed process left behind (``prune``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from .files import atomic_write, file_sha256

EXPORT_FORMAT = "hwime-onnx/4"  # (logits of the first `frames` frames from the head in int8, the head's input
# features); change it when the export changes
TOLERANCE = 1e-3  # the largest difference from the reference allowed, relative to the answer's largest magnitude
MAX_EXPORT_BYTES = 256 << 20  # ten times the largest export (hwime-all.pt's is 21 MB): a bigger file is not ours
# an export holds the bundle's weights in float32: twice a float16 bundle's size, plus the graph (hwime-all.pt:
# 10.8 MB -> 21 MB); four times the bundle and a megabyte is generous and still refuses a planted giant
EXPORT_SIZE_FACTOR = 4
UNFUSED = ["MatMulIntegerToFloatFusion"]  # see OnnxEngine._session
ALL_FRAMES = 1 << 62  # the head's frame count that reads every frame (a slice past the end stops at the end)
KEEP_EXPORTS = 3  # the exports of the bundles used last; older ones (14-21 MB each) are deleted
STALE_TEMP_SECONDS = 3600  # a temporary file this old is a killed export's, not one being written


def cache_dir() -> Path:
    env = os.environ.get("HWIME_CACHE_DIR")
    if env:
        return Path(env) / "onnx"
    from platformdirs import user_cache_path

    return user_cache_path("hwime", appauthor=False) / "onnx"


def cache_path(bundle: str | Path, bundle_hash: str | None = None) -> Path:
    key = hashlib.sha256(f"{EXPORT_FORMAT}\n{bundle_hash or file_sha256(bundle)}".encode()).hexdigest()[:32]
    return cache_dir() / f"{key}.onnx"


def seal_path(target: Path) -> Path:
    """Where the seal of the export ``target`` lives: beside it."""
    return target.with_name(target.name + ".sha256")


def seal(bundle_hash: str, data: bytes) -> str:
    """The export's hash bound to its bundle: an export copied from another bundle's entry does not match."""
    return hashlib.sha256(f"{EXPORT_FORMAT}\n{bundle_hash}\n".encode() + data).hexdigest()


def export_limit(bundle: str | Path) -> int:
    """The largest export this bundle can have (see EXPORT_SIZE_FACTOR), never above MAX_EXPORT_BYTES."""
    return min(MAX_EXPORT_BYTES, EXPORT_SIZE_FACTOR * os.stat(bundle).st_size + (1 << 20))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr meanwhile: C++ code (onnxruntime's banners, the exporter's messages)
    writes there directly, past sys.stdout, and must not land in `hwime recognize --json`'s output."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no stdout at all (a GUI started without one): nothing to guard
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 1)
        os.close(saved)


class Int8Head:
    """The head as the CPU runs it: its weights in int8 (one scale for all, symmetric, -127..127), each sample's
    input in 8 bits frame by frame (symmetric about 0, each frame's largest magnitude at 127: what one sample reads
    never depends on the others in its batch, and one loud frame of a long line coarsens no other), integer
    products, float out. The head is 120 x 18,769 weights,
    read whole at every pass: in int8 a quarter of the bytes (training/reports/hwime-all/notes.md, "The head in
    int8"). This is the export's head (quantize_head) and the torch engine's on the CPU, so both offer the same
    candidates; the probes check the export's logits against it over the export's own features."""

    LEVELS = 127
    ZERO = 128  # the input's levels as uint8, 0 at 128 (onnxruntime's integer product takes unsigned inputs)

    def __init__(self, head) -> None:
        import torch

        weight = head.weight.detach().float().cpu().T.contiguous()  # (features, outputs)
        self.scale = weight.abs().max().clamp_min(1e-12) / self.LEVELS
        self.levels = torch.round(weight / self.scale).clamp(-self.LEVELS, self.LEVELS)
        self.bias = head.bias.detach().float().cpu()

    def __call__(self, features):
        """(..., features) float32 -> (..., outputs) logits. The products are integers below 2**24 (120 x 127 x
        127), so float32 sums them exactly in any order."""
        import torch

        scale = features.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12) / self.LEVELS
        quantized = torch.round(features / scale)
        return (quantized @ self.levels) * (scale * self.scale) + self.bias


def quantize_head(data: bytes, head: Int8Head) -> bytes:
    """The export with the head's matrix product (the MatMul whose weights have a column per output) in int8, as
    Int8Head computes it: each frame's scale, its input rounded to levels about 128 as uint8, onnxruntime's
    MatMulInteger against the int8 weights, then the scales. The bias's Add after it stays."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(data)
    graph = model.graph
    shapes = {i.name: tuple(i.dims) for i in graph.initializer}
    outputs = int(head.levels.shape[1])
    found = [n for n in graph.node if n.op_type == "MatMul" and len(shapes.get(n.input[1], ())) == 2
             and shapes[n.input[1]][-1] == outputs]
    if len(found) != 1:
        raise ValueError(f"expected one head MatMul in the export, found {len(found)}")
    matmul = found[0]
    x, weight, out = matmul.input[0], matmul.input[1], matmul.output[0]

    def name(suffix: str) -> str:
        return f"/head/int8/{suffix}"

    constants = {
        "axes": np.array([-1], np.int64), "tiny": np.array(1e-12, np.float32),
        "levels": np.array(Int8Head.LEVELS, np.float32), "zero": np.array(Int8Head.ZERO, np.float32),
        "low": np.array(0, np.float32), "high": np.array(255, np.float32),
        "zero_u8": np.array(Int8Head.ZERO, np.uint8), "zero_i8": np.array(0, np.int8),
        "weight_scale": head.scale.numpy().astype(np.float32).reshape(()),
        "weights": head.levels.numpy().astype(np.int8),
    }
    graph.initializer.extend(numpy_helper.from_array(v, name(k)) for k, v in constants.items())
    nodes = [
        helper.make_node("Abs", [x], [name("abs")]),
        helper.make_node("ReduceMax", [name("abs"), name("axes")], [name("largest")], keepdims=1),
        helper.make_node("Max", [name("largest"), name("tiny")], [name("largest_or_tiny")]),
        helper.make_node("Div", [name("largest_or_tiny"), name("levels")], [name("scale")]),
        helper.make_node("Div", [x, name("scale")], [name("scaled")]),
        helper.make_node("Round", [name("scaled")], [name("rounded")]),
        helper.make_node("Add", [name("rounded"), name("zero")], [name("shifted")]),
        helper.make_node("Clip", [name("shifted"), name("low"), name("high")], [name("clipped")]),
        helper.make_node("Cast", [name("clipped")], [name("quantized")], to=onnx.TensorProto.UINT8),
        helper.make_node("MatMulInteger", [name("quantized"), name("weights"), name("zero_u8"), name("zero_i8")],
                         [name("products")]),
        helper.make_node("Cast", [name("products")], [name("sums")], to=onnx.TensorProto.FLOAT),
        helper.make_node("Mul", [name("scale"), name("weight_scale")], [name("both_scales")]),
        helper.make_node("Mul", [name("sums"), name("both_scales")], [out]),
    ]
    position = list(graph.node).index(matmul)
    graph.node.remove(matmul)
    for i, node in enumerate(nodes):
        graph.node.insert(position + i, node)
    if not any(weight in n.input for n in graph.node):
        kept = [i for i in graph.initializer if i.name != weight]
        del graph.initializer[:]
        graph.initializer.extend(kept)
    return model.SerializeToString()


def export_bytes(net, height: int, width: int) -> bytes:
    """The network with its features output (hwime.ppocrv6.WithFeatures) as ONNX, the head in int8 (Int8Head): any
    batch, any width; the input ``frames`` (int64, one element) says how many frames the head reads."""
    return quantize_head(float_export_bytes(net, height, width), Int8Head(net.head))


def float_export_bytes(net, height: int, width: int) -> bytes:
    """export_bytes with the head in float32, as torch runs it (the int8 head's measurements compare with it)."""
    import warnings

    import torch

    from .ppocrv6 import WithFeatures

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        # traced with a count below the frames, so the slice stays in the graph as the input's
        torch.onnx.export(WithFeatures(net).eval(), (torch.zeros(1, 1, height, width), torch.tensor([1])), buf,
                          input_names=["image", "frames"], output_names=["logits", "features"],
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
        with stdout_to_stderr():
            # onnxruntime fuses the head's integer product and its scales into one kernel that reads the samples'
            # scales wrongly (2% off Int8Head on the probes); unfused, the head is Int8Head's to the bit
            self.session = ort.InferenceSession(self.model_bytes, options, providers=["CPUExecutionProvider"],
                                                disabled_optimizers=UNFUSED)
        self.threads = threads
        return self.session

    def __call__(self, x: np.ndarray, frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(logits of the first ``frames`` frames, all of them where None; the features of every frame)."""
        threads = self._wanted_threads()
        session = self.session if threads == self.threads else self._session(threads)
        count = np.array([ALL_FRAMES if frames is None else frames], np.int64)
        logits, features = session.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32), "frames": count})
        return logits, features


def probe_batches(height: int, width: int, seed: int | None = None) -> list[np.ndarray]:
    """Inputs to compare the export with torch on: batches of 1, 2 and 3 (an export can branch on the batch size),
    at the character's width and at twice it (a line's), each row different: blank paper, random specks, random
    strokes. Random per load unless ``seed`` is given, so no export can be made to pass one known probe."""
    rng = np.random.default_rng(seed if seed is not None else int.from_bytes(os.urandom(8), "little"))

    def row(kind: int, w: int) -> np.ndarray:
        image = np.ones((1, height, w), np.float32)
        if kind == 1:
            image[rng.random(image.shape) < rng.uniform(0.05, 0.3)] = -1.0
        elif kind == 2:
            for _ in range(int(rng.integers(2, 6))):  # bars of ink, a crude glyph
                y, x = int(rng.integers(0, height - 4)), int(rng.integers(0, w - 4))
                if rng.random() < 0.5:
                    image[0, y : y + 4, x : x + int(rng.integers(4, w))] = -1.0
                else:
                    image[0, y : y + int(rng.integers(4, height)), x : x + 4] = -1.0
        return image

    return [np.stack([row(k, width) for k in (2,)]),
            np.stack([row(k, width) for k in (0, 2)]),
            np.stack([row(k, 2 * width) for k in (1, 2, 2)])]


def _agrees(engine: OnnxEngine, net, height: int, width: int, seed: int | None = None) -> float:
    """The largest difference between the engine's answers and the reference's, each relative to its own scale, over
    probe_batches: its features against torch's, its logits against Int8Head over its features (the head's input,
    just checked)."""
    import torch

    head = Int8Head(net.head)
    worst = 0.0
    for i, probe in enumerate(probe_batches(height, width, seed)):
        frames = None if i % 2 == 0 else max(1, probe.shape[-1] // 2 // getattr(net, "frame_stride", 1))
        with torch.inference_mode():
            features = net.eval().features(torch.from_numpy(probe)).float().numpy()
        with stdout_to_stderr():
            got = engine(probe, frames)
        with torch.inference_mode():
            logits = head(torch.from_numpy(got[1])[:, :frames]).numpy() if got[1].ndim == 3 else None
        expected = [logits, features]
        for want, have in zip(expected, got):
            if want is None:
                return float("inf")
            if have.shape != want.shape:
                return float("inf")
            diff = float(np.abs(want - have).max() / max(float(np.abs(want).max()), 1e-12))
            worst = max(worst, diff if np.isfinite(diff) else float("inf"))
    return worst


def read_cached(target: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a cached export, or None where there is none to trust: missing, a symlink (anyone who has the
    bundle can compute the name and plant one), a FIFO or device, or larger than ``limit`` (default
    MAX_EXPORT_BYTES), which is refused before a byte of it is read."""
    limit = MAX_EXPORT_BYTES if limit is None else min(limit, MAX_EXPORT_BYTES)
    try:
        st = os.lstat(target)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def read_sealed(target: Path, bundle_hash: str, limit: int | None = None) -> bytes | None:
    """read_cached, and None unless the seal beside it is this export's for this bundle (a file replaced or edited
    in the cache, or one left by a version without seals, is exported again)."""
    data = read_cached(target, limit)
    if data is None:
        return None
    stored = read_cached(seal_path(target), 1024)
    if stored is None or stored.decode("ascii", "replace").strip() != seal(bundle_hash, data):
        return None
    return data


def prune(folder: Path, keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Delete all but the KEEP_EXPORTS most recently used exports (a seal's time is the last use; ``keep`` always
    stays) with their seals, seals without an export, and temporary files older than STALE_TEMP_SECONDS (a killed
    process's). Returns what was deleted; a file that cannot be deleted is left."""
    now = time.time() if now is None else now
    removed: list[Path] = []

    def used(p: Path) -> float:
        for q in (seal_path(p), p):
            try:
                return os.lstat(q).st_mtime
            except OSError:
                continue
        return 0.0

    def drop(p: Path) -> None:
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
        except OSError:
            pass

    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    exports = sorted((p for p in entries if p.name.endswith(".onnx") and not p.name.startswith(".")),
                     key=used, reverse=True)
    for p in exports[KEEP_EXPORTS:]:
        if keep is None or p != keep:
            drop(p)
            drop(seal_path(p))
    for p in entries:
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if p.name.endswith(".onnx.sha256") and not os.path.lexists(p.with_name(p.name[: -len(".sha256")])):
            drop(p)
        elif p.name.startswith(".") and p.name.endswith(".tmp") and now - st.st_mtime > STALE_TEMP_SECONDS:
            drop(p)
    return removed


def load_engine(bundle: str | Path, net, height: int, width: int, notes: list[str] | None = None) -> OnnxEngine | None:
    """The cached export of ``bundle`` (exported now when missing, unsealed, too large or disagreeing with torch),
    or None where onnxruntime is missing or anything fails (a line in ``notes`` says why; the caller runs torch)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    try:
        bundle_hash = file_sha256(bundle)
        target = cache_path(bundle, bundle_hash)
        limit = export_limit(bundle)
    except OSError as exc:
        if notes is not None:
            notes.append(f"onnxruntime not used: cannot read {bundle} ({exc})")
        return None
    cached = read_sealed(target, bundle_hash, limit)
    if cached is not None:
        try:
            engine = OnnxEngine(cached, target)
            if _agrees(engine, net, height, width) <= TOLERANCE:
                try:  # the seal's time says when the export was last used (prune keeps the recent ones)
                    os.utime(seal_path(target))
                except OSError:
                    pass
                return engine
        except Exception:  # damaged, truncated, another program's file: export it again
            pass
    try:
        with stdout_to_stderr():
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
        # the name is computable from the bundle: a link planted there is replaced, never written through; the
        # export first, then its seal, so a seal never vouches for a file that is not yet there
        atomic_write(target, lambda fh: fh.write(data), follow_symlinks=False)
        atomic_write(seal_path(target), lambda fh: fh.write(seal(bundle_hash, data).encode() + b"\n"),
                     follow_symlinks=False)
        prune(target.parent, keep=target)
    except OSError:  # a read-only cache: this run uses the export it made all the same
        pass
    return engine
