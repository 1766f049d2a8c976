"""Where tiny's ink -> top 10 spends its time (the report's "parts" figures): one thread, 100 olhwdb-dev inks, each
part's time the least of 3 runs; then a tight loop on one ink (timeit, best of 5 × 20).

    nice .venv/bin/python training/reports/cascade/tiny_path_parts.py
"""
import time
import timeit

import numpy as np
import torch

from hwime.raster import ink_to_image
from hwime.recognizer import Recognizer
from hwime.training.cascade import TinyReader, timing_inks

torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu", script="simplified")
tiny = TinyReader(rec.labels, rec.spec, 96)
inks = timing_inks(["../shared/data/olhwdb-dev.jsonl"], 100)


def whole(ink):
    return rec.rank(tiny.probabilities(ink_to_image(ink, rec.spec)[None]), 10, script="simplified")[0]


def parts(ink):
    ts = [time.perf_counter()]
    p = ink_to_image(ink, rec.spec)[None]
    ts.append(time.perf_counter())
    x = tiny.inputs(p)
    ts.append(time.perf_counter())
    f = tiny.session.run(None, {tiny.feed: x})[0]
    ts.append(time.perf_counter())
    best = f.max(axis=1)[:, tiny.columns]
    out = np.zeros((1, tiny.classes), np.float32)
    out[:, tiny.where] = best / best.sum(1, keepdims=True)
    ts.append(time.perf_counter())
    rec.rank(out, 10, script="simplified")
    ts.append(time.perf_counter())
    return np.diff(ts) * 1000


for ink in inks[:10]:  # warm-up
    whole(ink)
W, P = [], []
for ink in inks:
    w, pp = [], []
    for _ in range(3):
        t = time.perf_counter()
        whole(ink)
        w.append((time.perf_counter() - t) * 1000)
        pp.append(parts(ink))
    W.append(min(w))
    P.append(np.min(pp, axis=0))
names = ["raster", "normalize + 3 channels", "tiny 48x96 pass", "best frame + gather", "Ranker"]
p50 = np.percentile(P, 50, axis=0)
print(f"whole ink -> top 10, p50 of least-of-3: {np.percentile(W, 50):.2f} ms")
print("parts, p50 of least-of-3: " + ", ".join(f"{n} {v:.2f}" for n, v in zip(names, p50)) + f"; sum {p50.sum():.2f} ms")
ink = inks[5]
p = ink_to_image(ink, rec.spec)[None]
probs = tiny.probabilities(p)
for name, fn in [("whole", lambda: whole(ink)), ("raster", lambda: ink_to_image(ink, rec.spec)),
                 ("probabilities (normalize, pass, gather)", lambda: tiny.probabilities(p)),
                 ("Ranker", lambda: rec.rank(probs, 10, script="simplified"))]:
    print(f"tight loop, one ink, {name}: {min(timeit.repeat(fn, number=20, repeat=5)) / 20 * 1000:.2f} ms")
