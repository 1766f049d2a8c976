"""`ablation`: one change at a time at a small fixed budget, each scored on the real dev sets -> a markdown table.

An ablation file (e.g. training/ablations/v2.toml) names a base recipe, a budget (``--set`` overrides every variant
shares) and the variants, each a list of further overrides. The classes are a fixed subset: every class of the
dev sets that are small enough to keep whole, filled with the other sets' classes to ``classes`` (drawn with
``class_seed``); a set is scored on its samples whose class is in the subset, among the subset's classes only.
Each variant prepares, trains and is scored in its own folder under ``--work``; a variant with a result is not
run again, and an interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from .. import charset
from .realsets import LabelledSet, load_any
from .recipe import RecipeError, load_recipe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ABLATION_KEYS = {"base", "classes", "class_seed", "keep_whole", "budget", "variant", "prior_weight"}


def read_ablation(path: str | Path) -> dict:
    """The ablation file, checked: a base recipe, ``variant`` tables with a name and a ``set`` list."""
    path = Path(path)
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(spec) - ABLATION_KEYS
    if unknown:
        raise RecipeError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; an ablation has {', '.join(sorted(ABLATION_KEYS))}")
    if "base" not in spec or not spec.get("variant"):
        raise RecipeError(f"{path}: needs base = \"RECIPE.toml\" and at least one [[variant]]")
    for v in spec["variant"]:
        if set(v) - {"name", "set"} or "name" not in v:
            raise RecipeError(f"{path}: each [[variant]] has a name and a set list, got {sorted(v)}")
    spec["base"] = str((path.parent / spec["base"]).resolve())
    spec.setdefault("classes", 700)
    spec.setdefault("class_seed", 0)
    spec.setdefault("keep_whole", 100)  # dev sets with at most this many classes are kept whole
    spec.setdefault("budget", [])
    spec.setdefault("prior_weight", 0.5)
    return spec


def choose_classes(sets: list[LabelledSet], count: int, seed: int, keep_whole: int) -> list[str]:
    """Every class of the small sets, then the large sets' GB2312 classes drawn at random, ``count`` in all."""
    gb = set(charset.named_set("gb2312"))
    chosen: dict[str, None] = {}
    for s in sets:
        if len(set(s.labels)) <= keep_whole:
            chosen.update(dict.fromkeys(sorted(set(s.labels))))
    pool = sorted({c for s in sets for c in s.labels if c in gb} - set(chosen))
    fill = np.random.default_rng(seed).permutation(len(pool))[: max(0, count - len(chosen))]
    chosen.update(dict.fromkeys(pool[i] for i in sorted(fill)))
    return list(chosen)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:48] or "variant"


def score_variant(best: Path, sets: list[LabelledSet], prior_weight: float) -> dict:
    from .evaluate import score_set
    from .export import recognizer_from_file

    rec = recognizer_from_file(best, device="cpu")
    out = {}
    for data in sets:
        alone = score_set(rec, data, prior=False)
        rec.set_ranking_values(prior_weight=prior_weight)
        ranked = score_set(rec, data, prior=True)
        out[data.name] = {"samples": alone["samples"], "top1": alone["top1"], "top10": alone["top10"],
                          "top1_prior": ranked["top1"], "top1_usage_weighted_prior": ranked["top1_usage_weighted"]}
    return out


def run_ablation(spec: dict, work: str | Path, dev_sets: list[str], workers: int | None = None,
                 only: list[str] | None = None) -> list[dict]:
    """Prepare, train and score each variant (skipping those already scored); the results in the file's order."""
    from .dataset import prepare
    from .train import train

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    base = load_recipe(spec["base"], spec["budget"])
    raster = base.data.raster
    sets = [load_any(p, raster) for p in dev_sets if Path(p).exists()]
    if not sets:
        raise FileNotFoundError(f"none of the dev sets exist: {', '.join(dev_sets)}")
    classes_file = work / "classes.txt"
    classes = choose_classes(sets, spec["classes"], spec["class_seed"], spec["keep_whole"])
    charset.write_labels(classes_file, classes)
    results = []
    for variant in spec["variant"]:
        folder = work / slug(variant["name"])
        result_path = folder / "result.json"
        if only and variant["name"] not in only and slug(variant["name"]) not in only:
            continue
        if result_path.exists():
            results.append(json.loads(result_path.read_text(encoding="utf-8")))
            continue
        recipe = load_recipe(spec["base"], [*spec["budget"], *variant.get("set", []),
                                            f'data.classes="{classes_file}"', f'name="{slug(variant["name"])}"'])
        if recipe.data.raster != raster:
            sets_here = [load_any(p, recipe.data.raster) for p in dev_sets if Path(p).exists()]
        else:
            sets_here = sets
        data, run = folder / "data", folder / "run"
        started = time.time()
        if not (data / "stats.json").exists():
            prepare(recipe, data, workers=workers)
        prepared = time.time()
        summary = train(recipe, data, run, resume=(run / "checkpoint.pt").exists(), device="cpu")
        if "interrupted_at" in summary:
            raise KeyboardInterrupt(f"{variant['name']}: stopped at step {summary['interrupted_at']}; run again to resume")
        result = {"name": variant["name"], "set": variant.get("set", []), "classes": len(classes),
                  "train_samples": json.loads((data / "stats.json").read_text())["splits"]["train"]["samples"],
                  "synthetic_val_top1": summary["best_val_top1"] if summary["best_val_top1"] >= 0 else None, "epochs": summary["epochs"],
                  "prepare_seconds": round(prepared - started, 1), "train_seconds": summary["seconds"],
                  "prior_weight": spec["prior_weight"], "sets": score_variant(run / "best.pt", sets_here, spec["prior_weight"])}
        result_path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        results.append(result)
    return results


def ablation_table(results: list[dict]) -> str:
    """Markdown: one row per variant, top-1 / top-10 of the model alone per set, and the usage-weighted top-1 with
    the usage prior (each class's accuracy weighted by how often people write it)."""
    if not results:
        return "(no results)\n"
    names = list(results[0]["sets"])
    lam = results[0]["prior_weight"]
    head = ["variant", "synthetic val top-1"] + [f"{n}: top-1 / top-10" for n in names] + \
           [f"{n}: usage-weighted top-1, prior λ = {lam}" for n in names] + ["train minutes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        val = r["synthetic_val_top1"]
        cells = [r["name"], "—" if val is None else f"{100 * val:.1f}%"]
        cells += [f"{100 * r['sets'][n]['top1']:.1f} / {100 * r['sets'][n]['top10']:.1f}" for n in names]
        cells += [f"{100 * r['sets'][n]['top1_usage_weighted_prior']:.1f}" for n in names]
        cells.append(f"{r['train_seconds'] / 60:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    samples = ", ".join(f"{n} {results[0]['sets'][n]['samples']}" for n in names)
    lines.append("")
    lines.append(f"{results[0]['classes']} classes; samples scored: {samples}.")
    return "\n".join(lines) + "\n"
