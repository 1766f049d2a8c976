"""`language-bench`: what context and continuations are worth, measured.

1. Continuations on a held-out slice of the word list: a table is built from the other 90% of jieba's words;
   for each held-out word, does its second character start one of the top 5 continuations after its first?
2. Context in ranking on real dev traces: each sample is recognized with no context, with a plausible previous
   character (the one that most often precedes it in the table) and with an unrelated one (a control); top-1 each,
   for several context mixes β.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np

from .. import charset
from ..language import Language, build_table
from ..recognizer import Recognizer
from .evaluate import model_probabilities
from .realsets import LabelledSet


def _held_out(word: str) -> bool:
    return hashlib.sha1(word.encode("utf-8")).digest()[0] < 26  # about 10%, the same every run


def continuation_quality(dict_lines: list[str], top: int = 5, tests: int = 20_000) -> dict:
    alphabet = set(charset.named_set("gb2312+punct"))
    train = [line for line in dict_lines if line.split() and not _held_out(line.split()[0])]
    held = []
    for line in dict_lines:
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) >= 2 and _held_out(parts[0]) and all(c in alphabet for c in parts[0]):
            held.append((parts[0], float(parts[1])))
    held = sorted(held, key=lambda x: -x[1])[:tests]
    with tempfile.TemporaryDirectory() as tmp:
        build_table(train, Path(tmp) / "t.tsv.gz", alphabet)
        lang = Language.read(Path(tmp) / "t.tsv.gz")
    hits, weights = [], []
    for word, freq in held:
        offered = {s.text[0] for s in lang.continuations(word[0], top)}
        hits.append(word[1] in offered)
        weights.append(freq)
    hits_a, w = np.array(hits), np.array(weights)
    return {"held_out_words": len(held), f"next_char_in_top{top}": float(hits_a.mean()),
            f"next_char_in_top{top}_frequency_weighted": float((hits_a * w).sum() / w.sum())}


def context_effect(rec: Recognizer, data: LabelledSet, mixes=(0.1, 0.3, 0.5), seed: int = 0) -> dict:
    lang = rec.language()
    index = {c: i for i, c in enumerate(rec.labels)}
    keep = [i for i, c in enumerate(data.labels) if c in index]
    truth = np.array([index[data.labels[i]] for i in keep])
    probs = model_probabilities(rec, data.images[keep])
    preceding: dict[str, str] = {}
    for prev, row in lang._following.items():
        for nxt, weight in row.items():
            if weight > lang._following.get(preceding.get(nxt, ""), {}).get(nxt, 0.0):
                preceding[nxt] = prev
    rng = np.random.default_rng(seed)
    common = [c for c in rec.labels if lang.probability(c) > 1e-5]
    out = {"samples": len(keep), "with_plausible_context": int(sum(rec.labels[t] in preceding for t in truth))}
    base = rec.scores(probs).numpy().argmax(1) == truth
    out["top1_no_context"] = float(base.mean())
    saved = rec.context_mix
    try:
        for mix in mixes:
            rec.context_mix = mix
            plaus, control = [], []
            for row, t in zip(probs, truth):
                prev = preceding.get(rec.labels[t], "")
                plaus.append(rec.scores(row[None], context=prev).numpy().argmax() == t)
                control.append(rec.scores(row[None], context=str(rng.choice(common))).numpy().argmax() == t)
            out[f"mix_{mix:g}"] = {"top1_plausible_previous": float(np.mean(plaus)),
                                   "top1_unrelated_previous": float(np.mean(control))}
    finally:
        rec.context_mix = saved
    return out
