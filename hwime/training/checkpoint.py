"""The training checkpoint format, in one place: what `train` writes, `--resume` and `export` read, tests forge.

checkpoint.pt (every `checkpoint_every` steps and at each epoch's end) holds everything to continue bit for bit:
    model, optimizer, scheduler (state dicts), state (epoch, step_in_epoch, global_step, best_top1, best_loss,
    bad_epochs, seconds), torch_rng, cuda_rng and scaler (CUDA runs only), recipe (JSON text), labels.
    Augmentation needs no state: each step's draws come from (seed, rank, step) (train.step_generator).
best.pt (the best validation epoch) holds model, epoch, val_top1, labels, recipe.
Both say ``fused`` when they hold a CTC recognizer's inference form (hwime.ppocrv6, as import-ppocr writes it);
an imported starting point also holds provenance, dictionary and class_rows (hwime.training.ppocr_import).
Both are written atomically and read with weights_only=True.
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
    return torch.load(path, map_location="cpu", weights_only=True)


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
