"""Does a change to the ranking leave every offer as it was? hwime.ranking and hwime.script as they are at a git
revision, beside the working tree's, rank the same probabilities of every dev set under 12 options (each script, the
usage prior on and off, with and without a context) with and without taps; each row's candidates and scores must be
identical; so must the best frame's probabilities (hwime.readers) they are ranked from, for each batch and each sample
alone. In one process, so it takes minutes where training/same_behaviour.py's CLI runs take an hour.
With ``--time INKS …`` it then times the pad's sequence per ink (render, normalize, the pass, the best frame and the
ranking) with hwime.readers and hwime.ranking as at the revision and as now, alternated ink by ink, one thread.

    python training/same_ranking.py 1bdec83 ../shared/data/tegaki-online.jsonl ../shared/data/olhwdb-dev.jsonl \
        ../shared/data/casia-hwdb-dev ../shared/data/chinese-mnist-dev ../shared/data/tegaki-trad.jsonl \
        [--time ../shared/data/tegaki-online.jsonl ../shared/data/olhwdb-dev.jsonl]
"""
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hwime.bench import _inks
from hwime.model import head_of
from hwime.ranking import RankingOptions
from hwime.raster import ink_to_image, normalize
from hwime.recognizer import Recognizer
from hwime.training.realsets import load_any as load_real_set

ROOT = Path(__file__).resolve().parents[1]


def module_at(revision: str, name: str, folder: Path, replace: dict[str, str]):
    """hwime/<name>.py as it was at ``revision``, imported as old_<name> (its relative imports made absolute)."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:hwime/{name}.py"], check=True,
                          capture_output=True, text=True).stdout
    for a, b in replace.items():
        text = text.replace(a, b)
    path = folder / f"old_{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"old_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"old_{name}"] = module
    spec.loader.exec_module(module)
    return module


def main(revision: str, paths: list[str], timed: list[str]) -> int:
    torch.set_num_threads(2)
    rec = Recognizer.load(None, "cpu", script="simplified")
    with tempfile.TemporaryDirectory() as scratch:
        module_at(revision, "script", Path(scratch), {"from .": "from hwime."})
        old_ranking = module_at(revision, "ranking", Path(scratch),
                                {"from .script import": "from old_script import", "from .": "from hwime."})
        old_readers = module_at(revision, "readers", Path(scratch),
                                {"from .ranking import": "from old_ranking import",
                                 "from . import": "from hwime import", "from .": "from hwime."})
    old = old_ranking.Ranker(rec.codec, old_ranking.RankingValues(**vars(rec.ranker.values)))
    old.look_alikes = old_ranking.LookAlikes(head_of(rec.model).weight.detach().float().numpy()[rec.codec.offset:])
    options = [dict(script=s, prior=p, context=c) for s in ("simplified", "traditional", "both")
               for p in (True, False) for c in ("", "中")]
    old_reader = old_readers.CharacterReader(rec.network, rec.codec, rec.spec, old)
    total = differ = compared = unequal = 0
    for path in paths:
        data = load_real_set(path, rec.spec)
        t = time.time()
        for s in range(0, len(data.images), 256):
            logits, passed = rec.characters.logits(data.images[s : s + 256])
            probs, features = rec.characters.pass_probabilities(logits, passed)
            # the best frame's probabilities as the revision's reader made them: the batch, and each sample alone
            pairs = [(probs, logits, passed)] + [(probs[i : i + 1], logits[i : i + 1], passed[i : i + 1])
                                                 for i in range(len(probs))]
            for mine, lg, pf in pairs:
                compared += 1
                alone = mine if len(mine) == len(probs) else rec.characters.pass_probabilities(lg, pf)[0]
                unequal += not torch.equal(alone, old_reader.pass_probabilities(lg, pf)[0])
            taps = np.zeros(len(probs), bool)
            taps[::17] = True
            for o in options:
                for tapped in (None, taps):
                    new_rows = rec.ranker.rank(probs, 10, RankingOptions(**o), features, None, tapped)
                    old_rows = old.rank(probs, 10, old_ranking.RankingOptions(**o), features, None, tapped)
                    for a, b in zip(new_rows, old_rows):
                        total += 1
                        if [(c.char, c.score) for c in a] != [(c.char, c.score) for c in b]:
                            differ += 1
                            if differ <= 5:
                                print("differs:", o, [(c.char, c.score) for c in a][:4], [(c.char, c.score) for c in b][:4])
        print(f"{Path(path).name}: {total} rankings so far, {differ} differ; {compared} probabilities, {unequal} "
              f"unequal ({time.time() - t:.0f} s)", flush=True)
    if timed:
        time_own_work(rec, old_reader, old_ranking, timed)
    return 1 if differ or unequal else 0


def time_own_work(rec: Recognizer, old_reader, old_ranking, paths: list[str]) -> None:
    """Own work (everything but the pass) and the whole, p50, the revision's reader and ranking against today's."""
    torch.set_num_threads(1)
    readers = {"revision": (old_reader, old_ranking.RankingOptions("simplified")),
               "now": (rec.characters, RankingOptions("simplified"))}
    for path in paths:
        inks = _inks(Path(path), 300)[0]
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in readers}
        for i, ink in enumerate(inks[:10] + inks * 2):
            for name in (sorted(readers) if i % 2 else sorted(readers, reverse=True)):
                reader, options = readers[name]
                t0 = time.perf_counter()
                x = torch.from_numpy(normalize(ink_to_image(ink, rec.spec)[None], rec.spec))
                t1 = time.perf_counter()
                logits, features = reader.network(x, reader.frames)
                t2 = time.perf_counter()
                reader.ranker.rank(*reader.pass_probabilities(logits, features)[:1], 10, options)
                t3 = time.perf_counter()
                if i >= 10:
                    times[name].append(((t1 - t0) + (t3 - t2), t3 - t0))
        for name, v in times.items():
            own, whole = np.percentile(np.array(v) * 1000, 50, axis=0)
            print(f"{Path(path).name} {name}: own work {own:.3f} ms, whole {whole:.2f} ms p50", flush=True)


if __name__ == "__main__":
    args = sys.argv[2:]
    cut = args.index("--time") if "--time" in args else len(args)
    sys.exit(main(sys.argv[1], args[:cut], args[cut + 1 :]))
