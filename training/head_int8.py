"""The head in int8 (issue 37's int8 lever): the cached onnxruntime export of the bundled model, its head's MatMul and
every MatMul quantized dynamically (onnxruntime.quantization), each read on the dev sets and timed beside the export
as shipped: top-1 / top-10 ranked as the pad ranks (simplified, 宬 left out), the pass p50 on one thread with the three
alternated square by square. Run the pad or `hwime recognize` once first, so the export is in the cache.

    python training/head_int8.py ../shared/data/tegaki-online.jsonl ../shared/data/casia-hwdb-dev \
        ../shared/data/chinese-mnist-dev ../shared/data/olhwdb-dev.jsonl
"""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from hwime import onnx_engine
from hwime.bundled import DEFAULT_MODEL, asset_path
from hwime.ranking import RankingOptions
from hwime.raster import normalize
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set

torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu", script="simplified")
spec, reader = rec.spec, rec.characters
export = onnx_engine.cache_path(asset_path(DEFAULT_MODEL))


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.execution_mode, options.log_severity_level = ort.ExecutionMode.ORT_SEQUENTIAL, 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


tmp = Path(tempfile.mkdtemp())
quantize_dynamic(export, tmp / "head.onnx", nodes_to_quantize=["/head/MatMul"], op_types_to_quantize=["MatMul"],
                 weight_type=QuantType.QInt8)
quantize_dynamic(export, tmp / "matmul.onnx", op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
variants = {"float32": session(export), "head int8": session(tmp / "head.onnx"),
            "every MatMul int8": session(tmp / "matmul.onnx")}
for path in sys.argv[1:]:
    data = load_real_set(path, spec)
    keep = [i for i, c in enumerate(data.labels) if c in rec.codec.index and c != "宬"]
    truth, squares = [data.labels[i] for i in keep], data.images[keep]
    read, times = {}, {name: [] for name in variants}
    for name, s in variants.items():
        top1 = top10 = 0
        for b in range(0, len(squares), 64):
            logits, features = s.run(None, {"image": normalize(squares[b : b + 64], spec)})
            probs, _ = reader.pass_probabilities(torch.from_numpy(logits), torch.from_numpy(features))
            for cands, want in zip(rec.ranker.rank(probs, 10, RankingOptions("simplified")), truth[b : b + 64]):
                chars = [c.char for c in cands]
                top1 += chars[:1] == [want]
                top10 += want in chars
        read[name] = f"{top1 / len(truth):.2%} / {top10 / len(truth):.2%}"
    for i in range(min(300, len(squares))):
        x = normalize(squares[i : i + 1], spec)
        for name, s in variants.items():
            t = time.perf_counter()
            s.run(None, {"image": x})
            times[name].append((time.perf_counter() - t) * 1000)
    print(path.split("/")[-1], len(truth),
          {name: f"{read[name]}, pass p50 {np.median(times[name]):.2f} ms" for name in variants}, flush=True)
