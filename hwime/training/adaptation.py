"""`adaptation`: how much learning from a writer's picks helps, measured on real writers (hwime.personal).

Protocols (each writer gets a fresh in-memory profile, so nothing touches the user's own):
- tegaki dense writers: learn their first k sessions (k samples per character), test on their evaluation session;
  the Tomoe templates (other characters, other hand) are recognized before and after, to see classes not learned.
- chinese-mnist-dev: per writer, learn sample 1 of every numeral, test sample 2.
- casia-hwdb-dev: learn the first k images of each character (some writers), test on the rest (other writers).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..ink import Ink, iter_jsonl_rows
from ..personal import Profile
from ..raster import load_image
from ..samples import char_folder
from ..recognizer import Recognizer


def _top1(rec: Recognizer, prepared: np.ndarray, labels: list[str]) -> float:
    if not len(labels):
        return float("nan")
    hits = [c[0].char == y if c else False for c, y in zip(rec.recognize_prepared(prepared, 1), labels)]
    return float(np.mean(hits))


def _fresh(rec: Recognizer) -> Recognizer:
    rec.detach_profile()
    rec.attach_profile(Profile(None))
    return rec


def tegaki_writers(rec: Recognizer, jsonl: Path, ks=(1, 2, 4)) -> dict:
    by_source: dict[str, list[tuple[str, Ink]]] = defaultdict(list)
    for _, ink, obj in iter_jsonl_rows(jsonl):
        if isinstance(ink, Ink) and obj is not None and isinstance(obj.get("char"), str):
            by_source[obj.get("source", "")].append((obj["char"], ink))
    templates = [(c, i) for s, rows in by_source.items() if "japanese" not in s for c, i in rows]
    t_prep = np.stack([rec.sample_image(i, None) for _, i in templates])
    t_labels = [c for c, _ in templates]
    out = {}
    for writer in ("japanese-native1", "japanese-learner1"):
        sessions = [by_source[f"tegaki/{writer}/train-s{k}"] for k in range(1, 5)]
        test = by_source[f"tegaki/{writer}/eval-s1"]
        prep = np.stack([rec.sample_image(i, None) for _, i in test])
        labels = [c for c, _ in test]
        _fresh(rec)
        row = {"samples": len(test), "before": _top1(rec, prep, labels), "templates_before": _top1(rec, t_prep, t_labels)}
        learned = 0
        for k in range(1, max(ks) + 1):
            for c, ink in sessions[k - 1]:
                if c in rec.codec:
                    rec.learn(ink, c)
                    learned += 1
            if k in ks:
                row[f"after_{k}"] = _top1(rec, prep, labels)
        row["templates_after"] = _top1(rec, t_prep, t_labels)  # other characters, other hand: not learned
        row["learned"] = learned
        out[writer] = row
    return out


def mnist_writers(rec: Recognizer, folder: Path) -> dict:
    samples: dict[str, dict[str, list[tuple[int, np.ndarray]]]] = defaultdict(lambda: defaultdict(list))
    for char, f in char_folder(folder):
        writer, _, n = f.stem.partition("-")
        samples[writer][char].append((int(n), load_image(f)))
    before, after = [], []
    for writer, chars in samples.items():
        _fresh(rec)
        tests = [(c, img) for c, rows in chars.items() for n, img in sorted(rows)[1:2]]
        prep = np.stack([rec.sample_image(None, img) for _, img in tests])
        labels = [c for c, _ in tests]
        before.append(_top1(rec, prep, labels))
        for c, rows in chars.items():
            rec.learn(sorted(rows)[0][1], c)
        after.append(_top1(rec, prep, labels))
    return {"writers": len(samples), "before": float(np.mean(before)), "after_1": float(np.mean(after))}


def casia_cross_writer(rec: Recognizer, folder: Path, ks=(1, 2, 4)) -> dict:
    classes: dict[str, list[Path]] = defaultdict(list)
    for char, f in char_folder(folder):
        if char in rec.codec:
            classes[char].append(f)
    classes = {c: sorted(files, key=lambda f: int(f.stem)) for c, files in classes.items()}
    test = [(c, f) for c, files in classes.items() for f in files[max(ks):]]
    prep = np.stack([rec.sample_image(None, load_image(f)) for _, f in test])
    labels = [c for c, _ in test]
    _fresh(rec)
    out = {"samples": len(test), "before": _top1(rec, prep, labels)}
    for k in range(1, max(ks) + 1):
        for c, files in classes.items():
            rec.learn(load_image(files[k - 1]), c)
        if k in ks:
            out[f"after_{k}"] = _top1(rec, prep, labels)
    return out


def latency(rec: Recognizer, profile_sizes=(0, 150, 4000), runs: int = 200) -> dict:
    """p50 ms per character (one thread) with profiles of these many samples."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ink = Ink.from_strokes([[[0, 50], [100, 52]], [[50, 0], [51, 100]]])
    out = {}
    rng = np.random.default_rng(0)
    try:
        for n in profile_sizes:
            _fresh(rec)
            if n:
                feats = rng.normal(size=(n, rec.embed([rec.sample_image(ink, None)]).shape[-1])).astype(np.float32)
                protos = rec.ensure_prototypes(feats.shape[1])
                for k, f in enumerate(feats):  # four samples per character, as a writer's store fills up
                    protos.add(k % max(1, n // 4), f)
            for _ in range(20):
                rec.recognize_ink(ink, 10)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                rec.recognize_ink(ink, 10)
                times.append((time.perf_counter() - t) * 1000)
            out[n] = {"learned_classes": len(rec.prototypes) if rec.prototypes is not None else 0,
                      "p50_ms": float(np.percentile(times, 50))}
    finally:
        torch.set_num_threads(threads)
        _fresh(rec)
    return out


def measure(model: str | None, data: Path) -> dict:
    rec = Recognizer.load(model, "cpu")
    result = {}
    if (data / "tegaki-online.jsonl").exists():
        result["tegaki"] = tegaki_writers(rec, data / "tegaki-online.jsonl")
    if (data / "chinese-mnist-dev").exists():
        result["chinese_mnist"] = mnist_writers(rec, data / "chinese-mnist-dev")
    if (data / "casia-hwdb-dev").exists():
        result["casia"] = casia_cross_writer(rec, data / "casia-hwdb-dev")
    result["latency"] = latency(rec)
    return result
