"""The head in int8 (issue 37), as shipped (hwime.onnx_engine.Int8Head: int8 weights, each sample's input in 8 bits
with its own scale) beside the same export with the head in float32: top-1 / top-10 ranked as the pad ranks
(simplified, 宬 left out) on each set, then the pad's sequence per ink (render, normalize, the pass, best frame,
ranking) timed with one export at a time as the pad runs one, blocks of 100 inks alternated, one thread.

    python training/head_int8.py ../shared/data/tegaki-online.jsonl ../shared/data/casia-hwdb-dev \
        ../shared/data/chinese-mnist-dev ../shared/data/olhwdb-dev.jsonl
"""
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hwime.bench import _inks
from hwime.onnx_engine import OnnxEngine, float_export_bytes
from hwime.ranking import RankingOptions
from hwime.raster import ink_to_image, normalize
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set

torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu", script="simplified")
spec, reader, options = rec.spec, rec.characters, RankingOptions("simplified")
assert rec.engine_name == "onnxruntime", "needs onnxruntime"
float_head = float_export_bytes(rec.network.model, 48, spec.input_width)  # the export before its head was quantized
variants = {"float32 head": OnnxEngine(float_head).session, "int8 head (shipped)": rec.network.engine.session.session}
frames = np.array([reader.frames], np.int64)


def read(session, squares: np.ndarray):
    logits, features = session.run(None, {"image": normalize(squares, spec), "frames": frames})
    probs, features = reader.pass_probabilities(torch.from_numpy(logits), torch.from_numpy(features))
    return rec.ranker.rank(probs, 10, options, features, None)


sets = [p for p in sys.argv[1:]]
for path in sets:
    data = load_real_set(path, spec)
    keep = [i for i, c in enumerate(data.labels) if c in rec.codec.index and c != "宬"]
    truth, squares = [data.labels[i] for i in keep], data.images[keep]
    out = {}
    for name, session in variants.items():
        top1 = top10 = 0
        for b in range(0, len(squares), 64):
            for cands, want in zip(read(session, squares[b : b + 64]), truth[b : b + 64]):
                chars = [c.char for c in cands]
                top1 += chars[:1] == [want]
                top10 += want in chars
        out[name] = f"{top1 / len(truth):.2%} / {top10 / len(truth):.2%}"
    print(Path(path).name, len(truth), out, flush=True)

for path in [p for p in sets if p.endswith(".jsonl")]:
    inks = _inks(Path(path), 300)[0]
    times = {name: [] for name in variants}
    for block in range(6):
        for name in (sorted(variants) if block % 2 else sorted(variants, reverse=True)):
            for i, ink in enumerate(inks[(block % 3) * 100 : (block % 3) * 100 + 100]):
                t0 = time.perf_counter()
                x = normalize(ink_to_image(ink, spec)[None], spec)
                t1 = time.perf_counter()
                logits, features = variants[name].run(None, {"image": x, "frames": frames})
                t2 = time.perf_counter()
                probs, f = reader.pass_probabilities(torch.from_numpy(logits), torch.from_numpy(features))
                rec.ranker.rank(probs, 10, options, f, None)
                t3 = time.perf_counter()
                if i >= 5:
                    times[name].append((t2 - t1, (t1 - t0) + (t3 - t2), t3 - t0))
    for name, v in times.items():
        p50 = np.percentile(np.array(v) * 1000, 50, axis=0)
        print(f"{Path(path).name} {name}: pass {p50[0]:.2f}  own work {p50[1]:.2f}  whole {p50[2]:.2f} ms p50", flush=True)
