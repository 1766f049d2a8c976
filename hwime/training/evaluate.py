"""`evaluate`: top-1/5/10, per-class accuracy, confusions, calibration and CPU latency -> report.md + PNG plots.

Every file of a report is written atomically (files.atomic_write): a full disk or a kill leaves the old file or the
new one whole, never a truncated calibration.png beside the previous report.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..files import atomic_write, atomic_write_text
from ..recognizer import Recognizer
from .realsets import LabelledSet

ECE_BINS = 15


def model_probabilities(rec: Recognizer, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The network's own softmax, (N, classes), before any prior."""
    return np.concatenate([rec.forward(images[i : i + batch_size]).cpu().numpy()
                           for i in range(0, len(images), batch_size)])


def hit_ranks(scores: np.ndarray, truth: np.ndarray, k: int = 10) -> np.ndarray:
    """Rank (0-based) of the truth among the top k per row; 99 when outside."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    return np.where(order == truth[:, None], np.arange(k)[None], 99).min(axis=1)


def usage_weighted(rec: Recognizer, truth: np.ndarray, hit: np.ndarray) -> float:
    """Each class's accuracy weighted by how often people write it: what a person writing ordinary text sees."""
    weights = np.exp(rec.usage_log_prior().astype(np.float64))
    per_class: dict[int, list[bool]] = {}
    for t, h in zip(truth.tolist(), hit.tolist()):
        per_class.setdefault(t, []).append(h)
    w = np.array([weights[c] for c in per_class])
    acc = np.array([np.mean(v) for v in per_class.values()])
    return float((w * acc).sum() / w.sum()) if len(w) else float("nan")


def score_set(rec: Recognizer, data: LabelledSet, worst: int = 10, pairs: int = 10, prior: bool | None = None) -> dict:
    """Metrics for one labelled set against the recognizer's full label set, ranked as the pad ranks
    (model ⊕ the bundle's usage prior unless ``prior=False``); the model alone is reported beside it."""
    index = {c: i for i, c in enumerate(rec.labels)}
    keep = [i for i, c in enumerate(data.labels) if c in index]
    outside = sorted(set(data.labels) - set(index))
    images = data.images[keep]
    truth = np.array([index[data.labels[i]] for i in keep])
    model_probs = model_probabilities(rec, images)
    probs = rec.scores(model_probs, prior=prior).numpy()
    ranked = np.argsort(-probs, axis=1)[:, :10]
    hit_rank = np.where(ranked == truth[:, None], np.arange(10)[None], 99).min(axis=1)
    shape_rank = hit_ranks(model_probs, truth)
    result: dict = {"name": data.name, "samples": len(keep), "left_out": len(data.labels) - len(keep),
                    "left_out_labels": "".join(outside), "prior_weight": rec.prior_weight if prior is not False else 0.0}
    for k in (1, 5, 10):
        result[f"top{k}"] = float((hit_rank < k).mean()) if len(keep) else float("nan")
    result["top1_model_alone"] = float((shape_rank < 1).mean()) if len(keep) else float("nan")
    result["top1_usage_weighted"] = usage_weighted(rec, truth, hit_rank < 1)
    result["top10_usage_weighted"] = usage_weighted(rec, truth, hit_rank < 10)
    result["top1_usage_weighted_model_alone"] = usage_weighted(rec, truth, shape_rank < 1)
    per_class: dict[str, list[int]] = {}
    for t, r in zip(truth, hit_rank):
        per_class.setdefault(rec.labels[t], []).append(int(r == 0))
    result["classes"] = len(per_class)
    result["worst_classes"] = sorted(((c, float(np.mean(v)), len(v)) for c, v in per_class.items()),
                                     key=lambda x: (x[1], -x[2]))[:worst]
    wrong = ranked[:, 0] != truth
    confusions = Counter((rec.labels[t], rec.labels[p]) for t, p in zip(truth[wrong], ranked[wrong, 0]))
    result["confused_pairs"] = [(a, b, n) for (a, b), n in confusions.most_common(pairs)]
    examples = {}
    for (a, b), _ in confusions.most_common(pairs):
        at = [i for i in np.flatnonzero(wrong) if rec.labels[truth[i]] == a and rec.labels[ranked[i, 0]] == b][:6]
        examples[f"{a}->{b}"] = images[at]
    result["_examples"] = examples
    # the calibration of what the first candidate reports (the bundle's temperature), and of the plain scores
    conf = first_confidences(rec, torch.from_numpy(probs), [rec.score_temperature, 1.0])
    result["ece"], result["_reliability"] = calibration_error(conf[:, 0], ~wrong)
    result["ece_temperature_1"] = calibration_error(conf[:, 1], ~wrong)[0]
    if data.groups:
        groups = np.array([data.groups[i] for i in keep])
        result["groups"] = {g: {"samples": int((groups == g).sum()),
                                "top1": float((hit_rank[groups == g] < 1).mean()),
                                "top10": float((hit_rank[groups == g] < 10).mean())} for g in sorted(set(groups))}
    return result


def choose_prior_weight(rec: Recognizer, sets: list[LabelledSet], grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0),
                        max_drop: float = 0.05) -> tuple[float, list[dict]]:
    """λ that maximizes the mean usage-weighted top-1 over the sets, among the λ that cost no set more than
    ``max_drop`` of its plain top-1 (someone writing a rare name must still find it); and every grid point's figures."""
    prepared = []
    for data in sets:
        index = {c: i for i, c in enumerate(rec.labels)}
        keep = [i for i, c in enumerate(data.labels) if c in index]
        truth = np.array([index[data.labels[i]] for i in keep])
        prepared.append((data.name, truth, model_probabilities(rec, data.images[keep])))
    table = []
    for lam in grid:
        row: dict = {"prior_weight": lam}
        for name, truth, probs in prepared:
            hit = hit_ranks(rec.scores(probs, prior=True, weight=lam).numpy(), truth)
            row[name] = {"top1": float((hit < 1).mean()), "top10": float((hit < 10).mean()),
                         "top1_usage_weighted": usage_weighted(rec, truth, hit < 1)}
        row["mean_top1_usage_weighted"] = float(np.mean([row[n]["top1_usage_weighted"] for n, _, _ in prepared]))
        table.append(row)
    base = table[0]
    names = [n for n, _, _ in prepared]
    fair = [r for r in table if all(r[n]["top1"] >= base[n]["top1"] - max_drop for n in names)] or [base]
    best = max(fair, key=lambda r: (r["mean_top1_usage_weighted"], -r["prior_weight"]))
    for r in table:
        r["allowed"] = r in fair
    return best["prior_weight"], table


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> tuple[float, list]:
    """(expected calibration error, reliability rows (bin, mean confidence, accuracy, samples)): how far the first
    candidates' scores are from how often they are right, bin by bin, weighted by the bin's share of the samples."""
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    ece, reliability = 0.0, []
    for b in range(bins):
        m = which == b
        if m.any():
            acc, c = float(correct[m].mean()), float(confidence[m].mean())
            ece += m.mean() * abs(acc - c)
            reliability.append((b, c, acc, int(m.sum())))
    return float(ece), reliability


def first_confidences(rec: Recognizer, scores: torch.Tensor, temperatures, chunk: int = 256) -> np.ndarray:
    """(N, temperatures): the score the first candidate reports (``Recognizer.calibrated``) at each temperature, for
    ranking scores (N, classes) from ``Recognizer.scores``; in chunks, as each temperature needs the whole row."""
    out = np.empty((len(scores), len(temperatures)), np.float64)
    for start in range(0, len(scores), chunk):
        part = scores[start : start + chunk]
        for j, t in enumerate(temperatures):
            out[start : start + chunk, j] = rec.calibrated(part, t).amax(dim=1).numpy()
    return out


# T from 0.5 to 8 in steps of 2^(1/8) (9%): finer than the ECE's own noise on a few thousand samples
TEMPERATURE_GRID = tuple(float(round(2 ** (k / 8), 4)) for k in range(-8, 25))


def choose_temperature(rec: Recognizer, sets: list[LabelledSet],
                       grid: tuple[float, ...] = TEMPERATURE_GRID) -> tuple[float, list[dict]]:
    """The scores' temperature T with the lowest mean ECE over the sets (each kind of writing counts once), ranked as
    the pad ranks (the bundle's λ, no context); T nearer 1 on a tie; and every grid point's figures. The order of
    the candidates is the same at every T: only what they report changes."""
    if not sets:
        raise ValueError("choosing a temperature needs at least one labelled set")
    grid = tuple(sorted(set(grid) | {1.0}))
    measured = []
    for data in sets:
        index = {c: i for i, c in enumerate(rec.labels)}
        keep = [i for i, c in enumerate(data.labels) if c in index]
        if not keep:
            continue
        truth = np.array([index[data.labels[i]] for i in keep])
        scores = rec.scores(model_probabilities(rec, data.images[keep]))
        correct = scores.argmax(dim=1).numpy() == truth
        measured.append((data.name, correct, first_confidences(rec, scores, grid)))
    if not measured:
        raise ValueError("no set has a sample of this model's classes")
    # every sample of every set as one, beside them: what "a 0.9 is right 9 times in 10" means over all of them
    pooled = [("all", np.concatenate([c for _, c, _ in measured]), np.concatenate([f for _, _, f in measured]))] \
        if len(measured) > 1 else []
    table = []
    for j, t in enumerate(grid):
        row: dict = {"temperature": t}
        for name, correct, conf in measured + pooled:
            row[name] = {"ece": calibration_error(conf[:, j], correct)[0], "confidence": float(conf[:, j].mean()),
                         "top1": float(correct.mean()), "samples": len(correct)}
        row["mean_ece"] = float(np.mean([row[n]["ece"] for n, _, _ in measured]))
        table.append(row)
    best = min(table, key=lambda r: (round(r["mean_ece"], 6), abs(np.log(r["temperature"]))))
    return best["temperature"], table


def cpu_latency(rec: Recognizer, runs: int = 300, warmup: int = 30) -> dict:
    """Per-character model time on one CPU thread (normalize + forward + top-10), batch of one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cpu = Recognizer(rec.model.to("cpu"), rec.labels, rec.spec, torch.device("cpu"), rec.path, rec.metadata)
    image = np.full((1, rec.spec.size, rec.spec.size), 255, np.uint8)
    image[0, 20:44, 30:34] = 0
    times = []
    try:
        for i in range(warmup + runs):
            t = time.perf_counter()
            cpu.recognize_prepared(image, 10)
            if i >= warmup:
                times.append((time.perf_counter() - t) * 1000)
    finally:
        torch.set_num_threads(threads)
        rec.model.to(rec.device)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)), "runs": runs}


def _sheet(images: np.ndarray) -> Image.Image:
    return Image.fromarray(np.concatenate(list(images), axis=1))


def _save_png(path: Path, save) -> None:
    """``save(file)`` writes a PNG (a figure's savefig, an image's save): drawn in memory, then written atomically."""
    buf = io.BytesIO()
    save(buf)
    atomic_write(path, lambda fh: fh.write(buf.getvalue()))


def _plots(run_log: Path | None, results: list[dict], out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots are optional: the numbers are in the report either way
        return []
    made = []
    if run_log and run_log.exists():
        with open(run_log, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        train = [r for r in rows if r["train_loss"]]
        val = [r for r in rows if r["val_top1"]]
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
        ax[0].plot([int(r["step"]) for r in train], [float(r["train_loss"]) for r in train])
        ax[0].set(title="training loss", xlabel="step")
        ax[1].plot([int(r["step"]) for r in train], [float(r["train_top1"]) for r in train], label="train top-1 (augmented)")
        ax[1].plot([int(r["step"]) for r in val], [float(r["val_top1"]) for r in val], "o-", label="val top-1 (the recipe's validation split)")
        ax[1].set(title="accuracy", xlabel="step")
        ax[1].legend()
        fig.tight_layout()
        _save_png(out / "curves.png", lambda fh: fig.savefig(fh, dpi=90, format="png"))
        plt.close(fig)
        made.append("curves.png")
    fig, ax = plt.subplots(figsize=(4, 4))
    for r in results:
        rel = r["_reliability"]
        ax.plot([c for _, c, _, _ in rel], [a for _, _, a, _ in rel], "o-", label=r["name"])
    ax.plot([0, 1], [0, 1], "k:")
    ax.set(title="calibration", xlabel="confidence", ylabel="accuracy")
    ax.legend()
    fig.tight_layout()
    _save_png(out / "calibration.png", lambda fh: fig.savefig(fh, dpi=90, format="png"))
    plt.close(fig)
    made.append("calibration.png")
    return made


def write_report(rec: Recognizer, results: list[dict], latency: dict, out: str | Path, title: str,
                 run_log: Path | None = None, extra_md: str = "") -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plots = _plots(run_log, results, out)
    lines = [f"# {title}", "", f"Model: `{rec.path}` ({rec.metadata.get('arch', '?')}, {len(rec.labels)} classes, "
             f"input {rec.spec.size}x{rec.spec.input_width})", "", extra_md, "",
             "## Accuracy (classifying against the full label set)", "",
             f"Ranked as the pad ranks: the model's probabilities with the usage prior, λ = {rec.prior_weight:g}. "
             "*Usage-weighted* weighs each class's accuracy by how often people write it (what someone writing "
             "ordinary text experiences); *model alone* is the network's own ranking.", "",
             "| set | samples | top-1 | top-5 | top-10 | top-1 usage-weighted | top-10 usage-weighted "
             "| top-1 model alone | top-1 usage-weighted, model alone | ECE |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['samples']} | {r['top1']:.1%} | {r['top5']:.1%} | {r['top10']:.1%} "
                     f"| {r['top1_usage_weighted']:.1%} | {r['top10_usage_weighted']:.1%} | {r['top1_model_alone']:.1%} "
                     f"| {r['top1_usage_weighted_model_alone']:.1%} | {r['ece']:.3f} |")
        for g, m in r.get("groups", {}).items():
            lines.append(f"| {r['name']}: {g} | {m['samples']} | {m['top1']:.1%} | | {m['top10']:.1%} | | | | | |")
    for r in results:
        if r["left_out"]:
            lines += ["", f"{r['name']}: {r['left_out']} samples left out, their labels ({r['left_out_labels']}) are not in the model's label set."]
    lines += ["", "## CPU latency, one thread, batch of one", "",
              f"p50 {latency['p50_ms']:.2f} ms, p95 {latency['p95_ms']:.2f} ms over {latency['runs']} runs (normalize + forward + top-10)."]
    for r in results:
        lines += ["", f"## {r['name']}: worst classes", "", "| class | top-1 | samples |", "|---|---|---|"]
        lines += [f"| {c} | {a:.0%} | {n} |" for c, a, n in r["worst_classes"]]
        lines += ["", f"## {r['name']}: most confused (truth -> top-1)", "", "| truth | predicted | count | examples |", "|---|---|---|---|"]
        safe = "".join(ch for ch in r["name"] if ch.isalnum() or ch in "-_")
        for a, b, n in r["confused_pairs"]:
            examples = r["_examples"][f"{a}->{b}"]
            if len(examples) == 0:  # --no-examples: data that must not be copied into a report
                lines.append(f"| {a} | {b} | {n} | |")
                continue
            name = f"confused-{safe}-{ord(a):x}-{ord(b):x}.png"
            _save_png(out / name, lambda fh, sheet=_sheet(examples): sheet.save(fh, format="PNG"))
            lines.append(f"| {a} | {b} | {n} | ![]({name}) |")
    for p in plots:
        lines += ["", f"![{p}]({p})"]
    report = out / "report.md"
    public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]
    atomic_write_text(out / "metrics.json", json.dumps({"sets": public, "latency": latency}, indent=2,
                                                       ensure_ascii=False))
    atomic_write_text(report, "\n".join(lines) + "\n")  # last: a report.md that is there describes its files
    return report
