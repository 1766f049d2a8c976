"""Top-1 / top-10 as the pad ranks them (Ranker.rank, simplified, 宬 left out) and the onnxruntime pass's time with a
lone character's 48x48 square padded to other input widths than the bundle's 96 (zeros after normalization, as
raster.normalize pads): the input-width lever of issue 37, without fine-tuning at the new width.

    python training/input_width.py 48,64,80,96 ../shared/data/tegaki-online.jsonl ../shared/data/casia-hwdb-dev \
        ../shared/data/chinese-mnist-dev ../shared/data/olhwdb-dev.jsonl
"""
import sys
import time

import numpy as np
import torch

from hwime.ranking import RankingOptions
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set

torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu", script="simplified")
spec, reader = rec.spec, rec.characters
widths = [int(w) for w in sys.argv[1].split(",")]


def padded(squares: np.ndarray, width: int) -> np.ndarray:
    x = (squares.astype(np.float32)[:, None] * (1 / 255.0) - spec.mean) / spec.std
    return np.pad(x, ((0, 0), (0, 0), (0, 0), (0, width - x.shape[-1])))


for path in sys.argv[2:]:
    data = load_real_set(path, spec)
    keep = [i for i, c in enumerate(data.labels) if c in rec.codec.index and c != "宬"]
    truth, squares = [data.labels[i] for i in keep], data.images[keep]
    out = {}
    for width in widths:
        top1 = top10 = 0
        for s in range(0, len(squares), 64):
            probs, _ = reader.pass_probabilities(*reader.network(torch.from_numpy(padded(squares[s : s + 64], width))))
            for cands, want in zip(rec.ranker.rank(probs, 10, RankingOptions("simplified")), truth[s : s + 64]):
                chars = [c.char for c in cands]
                top1 += chars[:1] == [want]
                top10 += want in chars
        times = []
        for i in range(min(200, len(squares))):  # one square at a time, as the pad reads
            x = torch.from_numpy(padded(squares[i : i + 1], width))
            t = time.perf_counter()
            reader.network(x)
            times.append((time.perf_counter() - t) * 1000)
        out[width] = f"{top1 / len(truth):.2%} / {top10 / len(truth):.2%}, pass p50 {np.median(times):.2f} ms"
    print(path.split("/")[-1], len(truth), out, flush=True)
