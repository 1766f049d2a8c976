"""Top-1 / top-10 as the pad offers them (Ranker.rank, simplified, 宬 left out) with the look-alike gate
(hwime.ranking.LOOK_ALIKE_GATE) at several values: the model's probabilities are computed once per set, then ranked
at each gate.

    python training/look_alike_gate.py 0.3,0.4,0.5,0.6 ../shared/data/casia-hwdb-dev ../shared/data/tegaki-online.jsonl \
        ../shared/data/chinese-mnist-dev ../shared/data/olhwdb-dev.jsonl
"""
import sys, time, numpy as np, torch
from hwime import ranking
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set
from hwime.training.evaluate import model_probabilities
from hwime.ranking import RankingOptions
torch.set_num_threads(1)
rec = Recognizer.load(None, "cpu", script="simplified")
gates = [float(g) for g in sys.argv[1].split(",")]
for path in sys.argv[2:]:
    data = load_real_set(path, rec.spec)
    index = {c: i for i, c in enumerate(rec.labels)}
    keep = [i for i, c in enumerate(data.labels) if c in index and c != "宬"]
    truth = [data.labels[i] for i in keep]
    t = time.time()
    probs = torch.from_numpy(np.asarray(model_probabilities(rec, data.images[keep])))
    out = {}
    for g in gates:
        ranking.lend_to_look_alikes.__defaults__ = (ranking.LOOK_ALIKE_WEIGHT, ranking.LOOK_ALIKE_SOURCES, g, None)
        top1 = top10 = 0
        for s in range(0, len(probs), 256):
            for cands, want in zip(rec.ranker.rank(probs[s:s+256], 10, RankingOptions("simplified")), truth[s:s+256]):
                chars = [c.char for c in cands]
                top1 += chars[:1] == [want]; top10 += want in chars
        out[g] = (top1 / len(truth), top10 / len(truth))
    print(path.split("/")[-1], len(truth), {g: f"{a:.2%} / {b:.2%}" for g, (a, b) in out.items()}, f"{time.time()-t:.0f}s", flush=True)
