"""The pointwise convolutions in int8 (issue 37): static quantization of the export's 1x1 convolutions (onnxruntime's
QDQ form, which it runs as QLinearConv: int8 weights per output channel, uint8 activations with fixed ranges), the
head in int8 as shipped, beside the export as shipped. Top-1 / top-10 ranked as the pad ranks (simplified, 宬 left
out), how many first candidates change, and the pass's p50 (one thread, the exports alternated in blocks).

The activations' ranges come from synthetic handwriting (the training side's strokes, drawn as the pad draws ink),
never from the dev sets. Variants: every pointwise convolution with min-max ranges; the same with the ranges averaged
over the samples, each layer's bias corrected for its weights' rounding (the rounding's effect at the mean input);
that plus per-channel smoothing of the inputs (a channel's scale moved into the weights, SmoothQuant's rule at
alpha 0.7); the expanding convolutions alone; those and the five compressing convolutions that mind it least (one
layer quantized at a time, the features' error on held-out synthetic ink).

    python training/conv_int8.py ../shared/data/tegaki-online.jsonl ../shared/data/casia-hwdb-dev \
        ../shared/data/chinese-mnist-dev ../shared/data/olhwdb-dev.jsonl
    python training/conv_int8.py --why  # the features' error of each variant, and the activations' ranges
"""
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from hwime.onnx_engine import Int8Head, UNFUSED, float_export_bytes, quantize_head
from hwime.ranking import RankingOptions
from hwime.raster import normalize, prepare_image, render_ink
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set
from hwime.training.strokedata import StrokeTable
from hwime.training.synthetic import synth_strokes

torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu", script="simplified")
spec, reader, options = rec.spec, rec.characters, RankingOptions("simplified")
assert rec.engine_name == "onnxruntime", "needs onnxruntime"
FRAMES = np.array([reader.frames], np.int64)
POINTWISE = r"stages.*/(expand|compress)/Conv"
LEAST_SENSITIVE_COMPRESS = ("stages.0.0", "stages.1.0", "stages.2.1", "stages.2.3", "stages.2.5")


def synthetic_squares(count: int, seed: int) -> np.ndarray:
    """Normalized inputs of ``count`` characters written by the synthetic writer, drawn with the pad's pen."""
    table, rng = StrokeTable(), np.random.default_rng(seed)
    chars = rng.choice([c for c in rec.labels if c in table], count, replace=False)
    return np.concatenate([normalize(prepare_image(render_ink(synth_strokes(table.medians(c), rng)[0]), spec,
                                                   crop=False)[None], spec) for c in chars])


CALIBRATION = synthetic_squares(300, seed=7)


def session(model: bytes | str, threads: int = 1) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = threads, 1, 3
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED)


def channel_stats(model: onnx.ModelProto, tensors: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(per-channel mean, per-channel largest magnitude) of each named tensor over the calibration squares. All are
    read in one run: with one intermediate output exposed alone, onnxruntime's fusions around it read it 2x off."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None) for t in tensors)
    run = session(probe.SerializeToString(), threads=2)
    sums, largest, count = [0.0] * len(tensors), [0.0] * len(tensors), 0
    for i in range(0, len(CALIBRATION), 50):
        got = run.run(tensors, {"image": CALIBRATION[i : i + 50], "frames": FRAMES})
        sums = [s + g.astype(np.float64).sum(axis=(0, 2, 3)) for s, g in zip(sums, got)]
        largest = [np.maximum(m, np.abs(g).max(axis=(0, 2, 3))) for m, g in zip(largest, got)]
        count += got[0].shape[0] * got[0].shape[2] * got[0].shape[3]
    return [(s / count, m) for s, m in zip(sums, largest)]


def rounded_weights(w: np.ndarray) -> np.ndarray:
    """Weights (out, ...) as int8 per output channel gives them back (symmetric, -127..127)."""
    flat = w.reshape(len(w), -1)
    scale = np.maximum(np.abs(flat).max(axis=1, keepdims=True), 1e-12) / 127
    return (np.round(flat / scale) * scale).reshape(w.shape).astype(np.float32)


def quantized(float_model: bytes, pattern: str, correct_bias: bool, average_ranges: bool,
              smooth: float | None, activations: QuantType = QuantType.QUInt8) -> bytes:
    model = onnx.load_from_string(float_model)
    convs = [n for n in model.graph.node if n.op_type == "Conv" and re.search(pattern, n.name) and "/se/" not in n.name]
    weights = {i.name: i for i in model.graph.initializer}
    if smooth is not None:  # x/s into the convolution, s into its weights' input columns
        for conv, (_, xmax) in zip(convs, channel_stats(model, [c.input[0] for c in convs])):
            w = numpy_helper.to_array(weights[conv.input[1]])
            s = np.maximum(xmax, 1e-5) ** smooth / np.maximum(np.abs(w).max(axis=(0, 2, 3)), 1e-5) ** (1 - smooth)
            s = (s / np.exp(np.log(s).mean())).astype(np.float32)
            weights[conv.input[1]].CopyFrom(numpy_helper.from_array(w * s[None, :, None, None], conv.input[1]))
            name = f"{conv.name}/smooth"
            model.graph.initializer.append(numpy_helper.from_array((1 / s).reshape(1, -1, 1, 1), f"{name}/inverse"))
            model.graph.node.insert(list(model.graph.node).index(conv),
                                    helper.make_node("Mul", [conv.input[0], f"{name}/inverse"], [name], name=name))
            conv.input[0] = name
    if correct_bias:  # the weights as int8 will hold them; the bias takes back their rounding at the mean input
        for conv, (mean, _) in zip(convs, channel_stats(model, [c.input[0] for c in convs])):
            w = numpy_helper.to_array(weights[conv.input[1]])
            q = rounded_weights(w)
            b = numpy_helper.to_array(weights[conv.input[2]])
            weights[conv.input[1]].CopyFrom(numpy_helper.from_array(q, conv.input[1]))
            shift = (w - q).reshape(len(w), -1) @ mean.astype(np.float32)
            weights[conv.input[2]].CopyFrom(numpy_helper.from_array((b + shift).astype(np.float32), conv.input[2]))

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.squares = iter(CALIBRATION)

        def get_next(self):
            x = next(self.squares, None)
            return None if x is None else {"image": x[None], "frames": FRAMES}

    extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
    if average_ranges:
        extra |= {"CalibMovingAverage": True, "CalibMovingAverageConstant": 0.01}
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp, "float.onnx"), Path(tmp, "int8.onnx")
        onnx.save(model, source)
        quantize_static(source, target, Calibration(), quant_format=QuantFormat.QDQ, per_channel=True,
                        nodes_to_quantize=[c.name for c in convs], op_types_to_quantize=["Conv"],
                        activation_type=activations, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, extra_options=extra)
        return quantize_head(target.read_bytes(), Int8Head(rec.network.model.head))


float_model = float_export_bytes(rec.network.model, 48, spec.input_width)
compress_kept = "(" + "|".join(re.escape(b) for b in LEAST_SENSITIVE_COMPRESS) + ")/compress"
recipes = {
    "every pointwise, min-max": (POINTWISE, False, False, None),
    "every pointwise, averaged ranges + bias": (POINTWISE, True, True, None),
    "every pointwise, + smoothing 0.7": (POINTWISE, True, True, 0.7),
    "expanding only": (r"stages.*/expand/Conv", True, True, None),
    "expanding + 5 compressing": (rf"stages.*/expand/Conv|{compress_kept}", True, True, None),
}


def why(float_model: bytes) -> None:
    """Where the error comes from: the features' relative error on held-out synthetic ink (not the calibration's)
    with the weights alone in int8 (activations in 16 bits) and with each variant, and how a few channels set the
    compressing convolutions' input ranges."""
    held = synthetic_squares(300, seed=99)

    def features(model: bytes) -> np.ndarray:
        run = session(model, threads=2)
        return np.concatenate([run.run(None, {"image": held[i : i + 50], "frames": FRAMES})[1]
                               for i in range(0, len(held), 50)])

    reference = features(float_model)
    weights_only = {"weights int8, activations 16-bit": (POINTWISE, False, False, None, QuantType.QUInt16),
                    "the same, bias corrected": (POINTWISE, True, False, None, QuantType.QUInt16)}
    for name, recipe in (weights_only | recipes).items():
        error = features(quantized(float_model, *recipe)) - reference
        print(f"features' relative error, {name}: {np.linalg.norm(error) / np.linalg.norm(reference):.3f}")
    model = onnx.load_from_string(float_model)
    convs = [n for n in model.graph.node if n.op_type == "Conv" and n.name.endswith("/compress/Conv")]
    for conv, (_, largest) in zip(convs, channel_stats(model, [c.input[0] for c in convs])):
        print(f"{conv.name} input: largest {largest.max():.2f}, a channel's largest: median {np.median(largest):.2f}")


if sys.argv[1:] == ["--why"]:
    why(float_model)
    sys.exit(0)

variants = {"shipped (head int8)": rec.network.engine.session.session}
for name, recipe in recipes.items():
    variants[name] = session(quantized(float_model, *recipe))
    print("built", name, flush=True)


def firsts_and_hits(run, squares: np.ndarray, truth: list[str]) -> tuple[list[str], int, int]:
    firsts, top1, top10 = [], 0, 0
    for b in range(0, len(squares), 64):
        logits, features = run.run(None, {"image": normalize(squares[b : b + 64], spec), "frames": FRAMES})
        probs, features = reader.pass_probabilities(torch.from_numpy(logits), torch.from_numpy(features))
        for cands, want in zip(rec.ranker.rank(probs, 10, options, features, None), truth[b : b + 64]):
            chars = [c.char for c in cands]
            firsts.append(chars[0] if chars else "")
            top1 += chars[:1] == [want]
            top10 += want in chars
    return firsts, top1, top10


for path in sys.argv[1:]:
    data = load_real_set(path, spec)
    keep = [i for i, c in enumerate(data.labels) if c in rec.codec.index and c != "宬"]
    truth, squares = [data.labels[i] for i in keep], data.images[keep]
    shipped = None
    for name, run in variants.items():
        firsts, top1, top10 = firsts_and_hits(run, squares, truth)
        shipped = shipped or firsts
        changed = sum(a != b for a, b in zip(shipped, firsts))
        print(f"{Path(path).name} ({len(truth)}) {name}: {top1 / len(truth):.2%} / {top10 / len(truth):.2%}, "
              f"first changed {changed}", flush=True)

times: dict[str, list[float]] = {name: [] for name in variants}
for block in range(6):
    for name, run in (variants.items() if block % 2 else reversed(variants.items())):
        for i in range(100):
            t = time.perf_counter()
            run.run(None, {"image": CALIBRATION[i : i + 1], "frames": FRAMES})
            times[name].append((time.perf_counter() - t) * 1000)
for name, t in times.items():
    print(f"pass p50 {name}: {np.median(t):.2f} ms", flush=True)
