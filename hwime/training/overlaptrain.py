"""Overlapped writing (叠写): synthesize sequences, train the segmenter (hwime.segmenter), evaluate the reader.

Training data comes only from the project's own stroke synthesizer (Make Me a Hanzi medians written like a hand,
hwime.training.synthetic), laid one character over another as the dev sets are (each character's longer side
scaled to the box ×0.85–1.12, centred with a wander of ±8% of the box, strokes in writing order), with careful and
cursive writers (strokes joined), and pen timing on half the sequences. The real dev traces are read only by
``evaluate``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..ink import Ink
from ..segmenter import StrokeGeometry, Segmenter
from .strokedata import StrokeTable
from .synthetic import StrokeStyle, synth_strokes

BOX = 100.0
COMMON = 3500  # the table's first level: everyday characters


@dataclass
class Sequence:
    text: str
    strokes: list[np.ndarray]  # (n, 4): x, y, t ms (NaN without timing), pressure
    starts: np.ndarray  # (strokes,) 1 where a character begins


def char_pool(table: StrokeTable) -> tuple[list[str], list[str], np.ndarray]:
    """(everyday characters, every character, every character's share of usage) that the stroke data can write."""
    from ..bundled import asset_path
    from ..language import load_language

    chars = [c for line in asset_path("general-standard-chars.txt").read_text(encoding="utf-8").splitlines()
             if not line.startswith("#") for c in line.strip()]
    every = [c for c in chars if c in table]
    language = load_language(script="simplified")
    usage = np.array([language.probability(c) for c in every])
    return [c for c in chars[:COMMON] if c in table], every, usage / usage.sum()


@dataclass(frozen=True)
class Recipe:
    """What the synthetic writers are like; the defaults are the recipe of the shipped segmenter before 2026-12-07."""
    cursive: float = 0.5  # share of cursive writers
    link_gap: float = 0.0  # synthetic.StrokeStyle.link_gap of the cursive writers (0: joins anywhere alike)


def synth_sequence(table: StrokeTable, pool: tuple[list[str], list[str]], rng: np.random.Generator,
                   length: int | None = None, recipe: Recipe = Recipe()) -> Sequence:
    """One overlapped sequence of 2–6 characters, as the dev sets lay real traces (make_overlap.py), by one
    writer: careful (few joins) or cursive (strokes run together, often)."""
    common, every, usage = pool

    def pick() -> str:
        # by usage half the time: 一 (one stroke) is the most written character, and a segmenter that never saw a
        # one-stroke character start a sequence would never cut after it (lines-dev overlap: 一代 read as 代)
        r = rng.random()
        return str(rng.choice(every, p=usage) if r < 0.5 else rng.choice(common if r < 0.85 else every))

    n = int(length or rng.integers(2, 7))
    text = "".join(pick() for _ in range(n))
    cursive = rng.random() < recipe.cursive
    # synth_strokes joins a stroke to the last with probability link_max × speed^1.5 (speed drawn per character)
    style = StrokeStyle(link_max=float(rng.uniform(0.8, 2.5)) if cursive else float(rng.uniform(0.0, 0.4)),
                        cursive_components=0.6 if cursive else 0.0, link_gap=recipe.link_gap if cursive else 0.0)
    timed = rng.random() < 0.5
    wander = 8.0 if rng.random() < 0.8 else 14.0
    strokes, starts, clock = [], [], 0.0
    pace = rng.uniform(0.5, 2.0)  # units per ms: how fast this writer moves the pen
    for ch in text:
        ink, _ = synth_strokes(table.medians(ch), rng, style, table.component(ch))
        pts = np.concatenate([s[:, :2] for s in ink.strokes])
        low, high = pts.min(axis=0), pts.max(axis=0)
        k = BOX * rng.uniform(0.85, 1.12) / max(float((high - low).max()), 1e-6)
        centre = BOX / 2 + rng.uniform(-wander, wander, 2)
        for i, s in enumerate(ink.strokes):
            xy = (s[:, :2].astype(np.float64) - (low + high) / 2) * k + centre
            arr = np.full((len(xy), 4), np.nan)
            arr[:, :2] = xy
            if timed:
                # pauses between characters are longer than inside one, but overlap (a writer may pause mid-way)
                clock += rng.lognormal(math.log(380 if i == 0 else 160), 0.55) if strokes else 0.0
                steps = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
                arr[:, 2] = clock + np.concatenate([[0.0], np.cumsum(steps)]) / pace
                clock = float(arr[-1, 2])
            strokes.append(arr)
            starts.append(1 if i == 0 else 0)
    return Sequence(text, strokes, np.array(starts, np.int64))


def sequence_rows(strokes: list[np.ndarray], max_span: int, rng: np.random.Generator | None = None,
                  starts: np.ndarray | None = None, negatives: int = 4):
    """Stroke features (T, F) and, with ``starts``, span features and labels: for every stroke k, the true span
    ending there (if k ends a character) and ``negatives`` other spans ending at k, drawn at random."""
    geo = StrokeGeometry()
    rows = np.stack([geo.add(s) for s in strokes])
    if starts is None:
        return rows, None, None
    begin = np.maximum.accumulate(np.where(starts == 1, np.arange(len(starts)), 0))  # each stroke's char start
    ends = np.append(starts[1:] == 1, True)  # stroke k is the last of its character
    span_x, span_y = [], []
    for k in range(len(strokes)):
        choices = np.arange(max(0, k - max_span + 1), k + 1)
        good = begin[k] if ends[k] else -1
        others = choices[choices != good]
        picked = list(rng.choice(others, min(negatives, len(others)), replace=False)) if len(others) else []
        js = ([good] if good >= 0 and k - good < max_span else []) + picked
        if js:
            span_x.append(geo.span_rows(k, np.array(js)))
            span_y += [1.0 if j == good else 0.0 for j in js]
    return rows, np.concatenate(span_x), np.array(span_y, np.float32)


def make_data(count: int, seed: int, max_span: int, cache: Path | None = None, recipe: Recipe = Recipe()) -> dict:
    """``count`` synthetic sequences' features; ``cache`` (.npz) keeps them for the next run with the same values."""
    key = [count, seed, max_span] + ([recipe.cursive, recipe.link_gap] if recipe != Recipe() else [])
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            if z["key"].tolist() == key:
                ends = np.cumsum(z["lengths"])
                rows, starts = np.split(z["rows"], ends[:-1]), np.split(z["starts"], ends[:-1])
                return {"seqs": list(zip(rows, starts)), "span_x": z["span_x"], "span_y": z["span_y"]}
    data = _make_data(count, seed, max_span, recipe)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=np.array(key), lengths=np.array([len(r) for r, _ in data["seqs"]]),
                 rows=np.concatenate([r for r, _ in data["seqs"]]), starts=np.concatenate([s for _, s in data["seqs"]]),
                 span_x=data["span_x"], span_y=data["span_y"])
    return data


def _make_data(count: int, seed: int, max_span: int, recipe: Recipe = Recipe()) -> dict:
    table = StrokeTable()
    pool = char_pool(table)
    rng = np.random.default_rng(seed)
    seqs, span_x, span_y = [], [], []
    for _ in range(count):
        seq = synth_sequence(table, pool, rng, recipe=recipe)
        rows, sx, sy = sequence_rows(seq.strokes, max_span, rng, seq.starts)
        seqs.append((rows, seq.starts))
        span_x.append(sx)
        span_y.append(sy)
    return {"seqs": seqs, "span_x": np.concatenate(span_x), "span_y": np.concatenate(span_y)}


def _padded(seqs: list, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    t = max(len(seqs[i][0]) for i in idx)
    x = torch.zeros(len(idx), t, seqs[0][0].shape[1])
    y = torch.zeros(len(idx), t)
    mask = torch.zeros(len(idx), t, dtype=torch.bool)
    for b, i in enumerate(idx):
        rows, starts = seqs[i]
        x[b, : len(rows)] = torch.from_numpy(rows)
        y[b, : len(rows)] = torch.from_numpy(starts.astype(np.float32))
        mask[b, 1 : len(rows)] = True  # stroke 0 always starts a character: nothing to learn there
    return x, y, mask


def boundary_metrics(seg: Segmenter, data: dict) -> dict:
    """On held-out synthetic sequences: boundary precision / recall at p = 0.5, span AUC-like accuracy."""
    out = {}
    for ahead in (False, True):
        tp = fp = fn = 0
        for rows, starts in data["seqs"]:
            p = np.exp(seg.log_start_all(rows, ahead))[1:] > 0.5
            s = starts[1:] == 1
            tp += int((p & s).sum()); fp += int((p & ~s).sum()); fn += int((~p & s).sum())
        name = "ahead_" if ahead else ""
        out.update({f"{name}precision": tp / max(tp + fp, 1), f"{name}recall": tp / max(tp + fn, 1)})
    whole = np.exp(seg.log_whole(data["span_x"])) > 0.5
    truth = data["span_y"] > 0.5
    return {**out, "span_accuracy": float((whole == truth).mean()), "span_recall": float(whole[truth].mean())}


def train_segmenter(out: str | Path, sequences: int = 6000, epochs: int = 8, seed: int = 0, hidden: int = 32,
                    max_span: int = 20, log=print, cache_dir: str | Path | None = None,
                    recipe: Recipe = Recipe()) -> dict:
    """Synthesize, train both models with Adam, save the segmenter; returns its held-out synthetic metrics."""
    torch.manual_seed(seed)
    started = time.time()
    cache = Path(cache_dir) if cache_dir else None
    train = make_data(sequences, seed, max_span, cache / "train.npz" if cache else None, recipe)
    held = make_data(max(200, sequences // 10), seed + 1, max_span, cache / "held.npz" if cache else None, recipe)
    log(f"synthesized {sequences} + {len(held['seqs'])} sequences, {sum(len(r) for r, _ in train['seqs'])} strokes, "
        f"{len(train['span_y'])} spans in {time.time() - started:.0f} s")
    seg = Segmenter.new(hidden, {"max_span": max_span})
    bnet, snet = seg.boundary.train(), seg.span.train()
    opt = torch.optim.Adam(list(bnet.parameters()) + list(snet.parameters()), lr=3e-3)
    order_rng = np.random.default_rng(seed)
    span_x, span_y = torch.from_numpy(train["span_x"]), torch.from_numpy(train["span_y"])
    batches = max(1, len(train["seqs"]) // 64)
    for epoch in range(epochs):
        order = order_rng.permutation(len(train["seqs"]))
        span_order = torch.from_numpy(order_rng.permutation(len(span_y)))
        span_batch = math.ceil(len(span_y) / batches)
        total = 0.0
        for b in range(batches):
            x, y, mask = _padded(train["seqs"], order[b * 64 : (b + 1) * 64])
            logits, h, _ = bnet(x)
            loss_b = torch.nn.functional.binary_cross_entropy_with_logits(logits[mask], y[mask])
            # the second opinion, stroke i seen with stroke i+1: where both are written
            both = mask[:, :-1] & (torch.arange(1, x.shape[1])[None] < (mask.sum(1, keepdim=True) + 1))
            ahead = bnet.ahead(h, x)
            loss_b = loss_b + torch.nn.functional.binary_cross_entropy_with_logits(ahead[both], y[:, :-1][both])
            pick = span_order[b * span_batch : (b + 1) * span_batch]
            loss_s = torch.nn.functional.binary_cross_entropy_with_logits(snet(span_x[pick]), span_y[pick])
            opt.zero_grad()
            (loss_b + loss_s).backward()
            opt.step()
            total += float((loss_b + loss_s).detach())
        for group in opt.param_groups:
            group["lr"] *= 0.7
        seg.boundary.eval(); seg.span.eval()
        metrics = boundary_metrics(seg, held)
        seg.boundary.train(); seg.span.train()
        log(f"epoch {epoch + 1}: loss {total / batches:.4f}; held-out synthetic: " +
            ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    seg.boundary.eval(); seg.span.eval()
    seg.config.update({"sequences": sequences, "epochs": epochs, "seed": seed,
                       "data": "hwime.training.overlaptrain.synth_sequence over Make Me a Hanzi medians "
                               "(assets/mmah-medians.npz), 2-6 characters, half timed",
                       "recipe": {"cursive": recipe.cursive, "link_gap": recipe.link_gap},
                       "synthetic_metrics": {k: round(v, 4) for k, v in metrics.items()}})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    seg.save(out)
    log(f"wrote {out} ({Path(out).stat().st_size} bytes) in {time.time() - started:.0f} s")
    return metrics


# --- evaluation on the real dev sets --------------------------------------------------------------------------


def load_overlap_set(path: str | Path, limit: int | None = None) -> list[tuple[str, Ink]]:
    """(text, ink) rows; ``limit``: that many spread evenly over the set (its rows are sorted by text, so the first
    ones all start with 一 and 丁)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                rows.append((obj["text"], Ink.from_strokes(obj["strokes"])))
    if limit and limit < len(rows):
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, limit).round().astype(int)]
    return rows


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """(character error rate, share of strings read exactly) over (truth, read) pairs."""
    errors = sum(edit_distance(t, r) for t, r in pairs)
    return errors / max(1, sum(len(t) for t, _ in pairs)), sum(t == r for t, r in pairs) / max(1, len(pairs))


def true_spans(text: str, ink: Ink, traces: dict[str, list[list[np.ndarray]]]) -> list[tuple[int, int]] | None:
    """Where each character of a dev row lies (first, last stroke), found by matching its strokes to the source
    traces it was made from (make_overlap.py scales and shifts a trace, keeping every point): for the oracle only.
    None where some character matches no trace."""
    def shape(strokes):
        pts = np.concatenate(strokes)
        low, high = pts.min(axis=0), pts.max(axis=0)
        return [(s - (low + high) / 2) / max(float((high - low).max()), 1e-6) for s in strokes]

    spans, pos = [], 0
    written = [s[:, :2].astype(np.float64) for s in ink.strokes]
    for ch in text:
        found = None
        for trace in traces.get(ch, []):
            n = len(trace)
            part = written[pos : pos + n]
            if len(part) != n or any(len(a) != len(b) for a, b in zip(part, trace)):
                continue
            if all(np.abs(a - b).max() < 0.01 for a, b in zip(shape(part), shape(trace))):
                found = n
                break
        if found is None:
            return None
        spans.append((pos, pos + found - 1))
        pos += found
    return spans if pos == len(written) else None


def load_traces(path: str | Path) -> dict[str, list[list[np.ndarray]]]:
    traces: dict[str, list] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if len(obj.get("char", "")) == 1 and obj.get("strokes"):
                traces.setdefault(obj["char"], []).append([np.asarray(s, np.float64)[:, :2] for s in obj["strokes"]])
    return traces


def read_set(rec, seg: Segmenter, rows: list[tuple[str, Ink]], weights, caches: list[dict] | None = None,
             progress=None, **options) -> list[tuple[str, str]]:
    """(truth, best reading) per row; ``caches`` (one dict per row) keep span readings across calls; ``progress``
    is called with the pairs so far every 50 rows."""
    from ..overlap import read_overlapped

    out = []
    for i, (text, ink) in enumerate(rows):
        found = read_overlapped(rec, ink, 1, segmenter=seg, weights=weights,
                                cache=caches[i] if caches is not None else None, **options)
        out.append((text, found[0].text if found else ""))
        if progress is not None and len(out) % 50 == 0:
            progress(out)
    return out


def oracle_set(rec, rows: list[tuple[str, Ink]], traces: dict) -> list[tuple[str, str]] | None:
    """(truth, each character read alone on its true strokes, top 1, as the single box reads it)."""
    out = []
    for text, ink in rows:
        spans = true_spans(text, ink, traces)
        if spans is None:
            return None
        cands = rec.recognize_inks([Ink(ink.strokes[a : b + 1]) for a, b in spans], top=1)
        out.append((text, "".join(c[0].char if c else "" for c in cands)))
    return out


def tune(rec, seg: Segmenter, sets: dict[str, list], grid: dict[str, list[float]], log=print, **options):
    """Every combination of ``grid`` (OverlapWeights fields -> values) on every set; rows of figures, and the
    combination with the lowest mean CER."""
    import itertools

    from ..overlap import OverlapWeights

    caches = {name: [{} for _ in rows] for name, rows in sets.items()}
    keys = list(grid)
    table = []
    for values in itertools.product(*(grid[k] for k in keys)):
        weights = OverlapWeights.of({"weights": dict(zip(keys, values))})  # as a file holding only these
        row = {"weights": weights._asdict()}
        for name, rows in sets.items():
            row[name] = cer(read_set(rec, seg, rows, weights, caches[name], **options))
        row["mean_cer"] = float(np.mean([row[n][0] for n in sets]))
        log(" ".join(f"{k}={v:g}" for k, v in zip(keys, values)) + "  " +
            "  ".join(f"{n} CER {row[n][0]:.2%} strings {row[n][1]:.1%}" for n in sets))
        table.append(row)
    return min(table, key=lambda r: r["mean_cer"]), table


def pen_up_latency(rec, seg: Segmenter, rows: list[tuple[str, Ink]], strokes: int = 60, runs: int = 5,
                   weights=None, **options) -> dict:
    """Milliseconds from a pen-up to the candidates (add + candidates) on one thread, writing dev rows one after
    another in one box until ``strokes`` strokes; p50/p95 over the strokes from 40 on (≈ 6 characters written),
    and over all strokes."""
    from ..overlap import OverlapReader

    torch.set_num_threads(1)
    late, every, single, reads = [], [], [], []
    pool = [s for _, ink in rows for s in ink.strokes]
    for run in range(runs):
        reader = OverlapReader(rec, seg, weights, **options)
        for k in range(strokes):
            before = reader.spans_read
            t0 = time.perf_counter()
            reader.add(pool[(run * strokes + k) % len(pool)])
            reader.candidates(5)
            ms = (time.perf_counter() - t0) * 1000
            reads.append(reader.spans_read - before)
            every.append(ms)
            if k >= 40:
                late.append(ms)
            # the yardstick, in the same moment: one character read as the single box reads it (the last 7 strokes)
            t0 = time.perf_counter()
            rec.recognize_ink(Ink(tuple(reader.strokes[-7:])), 10)
            single.append((time.perf_counter() - t0) * 1000)
    return {"p50_from_40": float(np.percentile(late, 50)), "p95_from_40": float(np.percentile(late, 95)),
            "p50_all": float(np.percentile(every, 50)), "p95_all": float(np.percentile(every, 95)),
            "one_char_p50": float(np.percentile(single, 50)), "reads_per_stroke": float(np.mean(reads)),
            "strokes": strokes, "runs": runs}
