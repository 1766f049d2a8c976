"""Top-1 / top-10 as the pad ranks them (Ranker.rank, simplified, 宬 left out), each class by its best frame among
a slice of the pass's frames only (a lone character's square covers frames 0-5 of its 12), and how many lists
differ from all twelve's (issue 37: the head reads the square's frames alone).

    python training/head_frames.py ../shared/data/tegaki-online.jsonl ../shared/data/olhwdb-dev.jsonl \
        ../shared/data/casia-hwdb-dev ../shared/data/chinese-mnist-dev
"""
import sys, time, torch
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set
from hwime.raster import normalize
from hwime.ranking import RankingOptions
torch.set_num_threads(2)
rec = Recognizer.load(None, "cpu", script="simplified")
reader = rec.characters
variants = {"full": slice(0, 12), "0:6": slice(0, 6), "0:7": slice(0, 7), "1:6": slice(1, 6), "0:5": slice(0,5)}
for path in sys.argv[1:]:
    data = load_real_set(path, rec.spec)
    index = {c: i for i, c in enumerate(rec.labels)}
    keep = [i for i, c in enumerate(data.labels) if c in index and c != "宬"]
    truth = [data.labels[i] for i in keep]
    images = data.images[keep]
    res = {k: [0, 0] for k in variants}; lists_differ = {k: 0 for k in variants}
    t = time.time()
    for s in range(0, len(images), 128):
        logits, feats = reader.network(torch.from_numpy(normalize(images[s:s+128], rec.spec)))  # all 12
        base = None
        for name, sl in variants.items():
            probs, f = reader.pass_probabilities(logits[:, sl], feats)
            cands = rec.ranker.rank(probs, 10, RankingOptions("simplified"), f, None)
            chars = [[c.char for c in row] for row in cands]
            if base is None: base = chars
            lists_differ[name] += sum(a != b for a, b in zip(chars, base))
            for row, want in zip(chars, truth[s:s+128]):
                res[name][0] += row[:1] == [want]; res[name][1] += want in row
    print(path.split("/")[-1], len(truth), {k: f"{a/len(truth):.2%} / {b/len(truth):.2%} (lists differ {lists_differ[k]})" for k, (a, b) in res.items()}, f"{time.time()-t:.0f}s", flush=True)
