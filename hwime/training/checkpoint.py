"""The training checkpoint format, in one place: what `train` writes, `--resume` and `export` read, tests forge.

checkpoint.pt (every `checkpoint_every` steps and at each epoch's end) holds everything to continue bit for bit:
    model, optimizer, scheduler (state dicts), state (epoch, step_in_epoch, global_step, best_top1, best_loss,
    bad_epochs, seconds), torch_rng, cuda_rng and scaler (CUDA runs only), recipe (JSON text), labels.
    Augmentation needs no state: each step's draws come from (seed, rank, step) (train.step_generator).
    train-lines' state holds best_cer, and epoch_loss / epoch_lines (the epoch so far, for its log row) instead of
    the top-1 keys; hwime.training.runs.restore reads both for --resume.
best.pt (the best validation epoch) holds model, epoch, val_top1, labels, recipe.
Both say ``fused`` when they hold a CTC recognizer's inference form (hwime.ppocrv6, as import-ppocr writes it);
an imported starting point also holds provenance, dictionary and class_rows (hwime.training.ppocr_import).
Both are written atomically and read with weights_only=True. A recipe's model.init may also name a model bundle
(load_start reads it as a starting point); provenance follows model.init back to the imported weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..files import atomic_write
from ..model import build_model
from .recipe import Recipe


def save(obj: dict, path: str | Path) -> Path:
    return atomic_write(path, lambda fh: torch.save(obj, fh))


def load(path: str | Path) -> dict:
    """A training checkpoint or a bundle, read by the one checked reader (a ModelError naming the file otherwise)."""
    from ..recognizer import ModelError
    from ..bundle import read_weights_file

    obj = read_weights_file(path, "checkpoint or model bundle")
    if not isinstance(obj, dict) or not ("model" in obj or "state_dict" in obj):
        raise ModelError(f"{path}: not a hwime checkpoint or model bundle (no weights in it)")
    return obj


def load_start(path: str | Path) -> dict:
    """A starting point for fine-tuning in the checkpoint's terms (model, labels, fused, provenance, class_rows when
    imported): a checkpoint, or a model bundle (its fp16 weights back in fp32), so the shipped model can go on
    learning."""
    from ..bundle import BUNDLE_FORMAT, read_bundle

    probe = load(path)
    if not (isinstance(probe, dict) and probe.get("format") == BUNDLE_FORMAT):
        return probe
    bundle = read_bundle(path)
    state = {k: v.float() if v.is_floating_point() else v for k, v in bundle["state_dict"].items()}
    return {"model": state, "labels": list(bundle["labels"]), "fused": bool(bundle.get("model_options", {}).get("fused")),
            "provenance": bundle.get("provenance"), "recipe": bundle.get("recipe")}


def init_path(init: str) -> Path:
    """A recipe's model.init: "ppocrv6-<tier>" names what `import-ppocr` wrote; anything else is a path."""
    return Path("runs") / init / "imported.pt" if init in ("ppocrv6-tiny", "ppocrv6-small") else Path(init).expanduser()


def provenance(path: str | Path) -> dict | None:
    """Where a checkpoint's weights came from: its own provenance, else its recipe's model.init's, back to the import
    (a run fine-tuned from a run fine-tuned from import-ppocr still names PaddlePaddle's files)."""
    seen: set[Path] = set()
    path = Path(path)
    while path.exists() and path.resolve() not in seen:
        seen.add(path.resolve())
        ckpt = load_start(path)
        if ckpt.get("provenance"):
            return ckpt["provenance"]
        init = json.loads(ckpt["recipe"]).get("model", {}).get("init") if ckpt.get("recipe") else None
        if not init:
            return None
        path = init_path(init)
    return None


def save_best(path: str | Path, model_state: dict, labels: list[str], recipe: Recipe, epoch: int, val_top1: float,
              fused: bool = False) -> Path:
    return save({"model": model_state, "epoch": epoch, "val_top1": val_top1, "labels": list(labels),
                 "recipe": json.dumps(recipe.to_dict()), "fused": fused}, path)


def load_model(path: str | Path) -> tuple[torch.nn.Module, list[str], Recipe]:
    """(model in eval mode, labels, recipe) from checkpoint.pt or best.pt."""
    ckpt = load(path)
    recipe = Recipe.from_dict(json.loads(ckpt["recipe"]))
    labels = list(ckpt["labels"])
    model = build_model(recipe.model.arch, len(labels), **recipe.model.options(), fused=bool(ckpt.get("fused")))
    model.load_state_dict(ckpt["model"])
    return model.eval(), labels, recipe
