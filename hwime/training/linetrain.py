"""Training a line recognizer on whole written lines with CTC: `python -m hwime.training train-lines RECIPE`.

Lines come from the recipe's [lines] section: real line sets (hwime.training.linesets.load_lines: ink .jsonl with
"text", .tsv, CASIA .dgrl / .ptts / .wptt pages, IAM-style folders) and lines composed by hwime.training.linecompose. Each
becomes the network's input exactly as the pad and `recognize --line` make it (hwime.raster.prepare_written_line),
its text the class indices. A batch holds lines of similar width, padded to the widest with zeros after
normalization (as the Recognizer pads); the loss is torch.nn.CTCLoss with the blank at 0, each line's frames its
own width / 8.

The loop keeps the torchvision reference's shape: train an epoch, evaluate (greedy CER on the validation lines),
save checkpoint.pt (model, optimizer, schedule, epoch and step; atomic) and best.pt at the lowest CER, the formats
`export` reads (hwime.training.checkpoint). ``--resume`` goes on from checkpoint.pt: a run stopped by --max-steps
inside an epoch at its next batch (each epoch's batches are fixed by the seed), otherwise at the next epoch.
"""

from __future__ import annotations

import glob
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import charset
from ..decode import edit_distance, greedy
from ..model import build_model, ctc_arch
from ..ppocrv6 import FRAME_STRIDE
from ..raster import RasterSpec, normalize, prepare_written_line
from . import checkpoint
from .recipe import Recipe
from .train import _recipe_changes, build_optimizer, build_schedule, start_from


class LineData:
    """Prepared lines (uint8 (size, width) each) and their targets (class indices)."""

    def __init__(self, images: list[np.ndarray], targets: list[np.ndarray], texts: list[str], skipped: int = 0):
        self.images, self.targets, self.texts, self.skipped = images, targets, texts, skipped

    def __len__(self) -> int:
        return len(self.images)


def encode(samples: list, texts: list[str], labels: list[str], spec: RasterSpec) -> LineData:
    """Lines whose every character is a class; the others are counted in ``skipped``. White space between words
    (IAM's texts) is the gap a recognizer reads as blank frames, never a class: it is left out of the targets."""
    index = {c: i for i, c in enumerate(labels)}
    images, targets, kept, skipped = [], [], [], 0
    for sample, text in zip(samples, texts):
        text = "".join(c for c in text if not c.isspace())
        if not text or any(c not in index for c in text):
            skipped += 1
            continue
        images.append(prepare_written_line(sample, spec))
        targets.append(np.array([index[c] + 1 for c in text], np.int64))  # output 0 is the blank
        kept.append(text)
    return LineData(images, targets, kept, skipped)


def line_sets(patterns: list[str], limit: int | None = None) -> tuple[list, list[str]]:
    from .linesets import load_lines

    samples, texts = [], []
    for pattern in patterns:
        paths = sorted(glob.glob(str(Path(pattern).expanduser()))) or [pattern]
        for path in paths:
            data = load_lines(path, limit)
            samples += data.samples
            texts += data.texts
    return samples, texts


def composed(recipe: Recipe, labels: list[str], count: int, seed: int) -> tuple[list, list[str]]:
    from .dataset import recipe_fonts
    from .linecompose import LineComposer

    if count <= 0:
        return [], []
    cfg = recipe.lines
    composer = LineComposer(labels, recipe_fonts(recipe), max_chars=cfg.max_chars, name_share=cfg.name_share,
                            rare_share=cfg.rare_share, symbol_share=cfg.symbol_share,
                            font_share=recipe.data.font_share)
    samples, texts = [], []
    for i in range(count):
        text, image = composer.sample(np.random.default_rng([seed, i]))
        if text:
            samples.append(image)
            texts.append(text)
    return samples, texts


def resolve_labels(recipe: Recipe, texts: list[str]) -> list[str]:
    classes = recipe.data.classes
    if classes == "found":  # what a bundle may answer: no space, tab or control character becomes a class
        return sorted({c for t in texts for c in t if charset.is_label_character(c)})
    return charset.class_set(classes)


def batches(widths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of lines of similar width (sorted by width within shuffled pools of 50 batches)."""
    order = rng.permutation(len(widths))
    pool = batch_size * 50
    out = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort([widths[i] for i in chunk], kind="stable")]
        out += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


def collate(data: LineData, idx: np.ndarray, spec: RasterSpec) -> tuple[torch.Tensor, ...]:
    """(input (N, 1, size, widest), targets concatenated, frames per line, target lengths)."""
    # padded after normalization with zeros to the widest line and to at least spec.width, as the Recognizer pads
    own = [max(data.images[i].shape[1], spec.width) for i in idx]
    x = torch.zeros((len(idx), 1, spec.size, max(own)))
    for row, i in enumerate(idx):
        image = torch.from_numpy(normalize(data.images[i][None], spec))
        x[row, :, :, : image.shape[-1]] = image[0]
    frames = torch.tensor([-(-w // FRAME_STRIDE) for w in own], dtype=torch.long)
    targets = torch.from_numpy(np.concatenate([data.targets[i] for i in idx]))
    lengths = torch.tensor([len(data.targets[i]) for i in idx], dtype=torch.long)
    return x, targets, frames, lengths


def line_loss(logits: torch.Tensor, targets: torch.Tensor, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    log_probs = logits.float().log_softmax(2).transpose(0, 1)  # (T, N, classes + 1)
    return F.ctc_loss(log_probs, targets, frames.clamp(max=log_probs.shape[0]), lengths, blank=0, zero_infinity=True)


@torch.inference_mode()
def greedy_cer(model: torch.nn.Module, data: LineData, spec: RasterSpec, device: torch.device,
               labels: list[str], batch_size: int = 32) -> float:
    """Character error rate of greedy decoding over ``data`` (edit distance / reference characters)."""
    model.eval()
    errors = chars = 0
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        x, _, frames, _ = collate(data, idx, spec)
        log_probs = model(x.to(device)).float().log_softmax(2).cpu().numpy()
        for row, i in enumerate(idx):
            found = greedy(log_probs[row, : int(frames[row])])
            errors += edit_distance("".join(labels[c] for c in found.labels), data.texts[i])
            chars += len(data.texts[i])
    return errors / max(1, chars)


def train_lines(recipe: Recipe, run_dir: str | Path, resume: bool = False, max_steps: int | None = None,
                device: str = "auto") -> dict:
    """Train (or go on training) the recipe's line recognizer; returns the run's summary."""
    from ..recognizer import pick_device

    if not ctc_arch(recipe.model.arch):
        raise ValueError(f"model.arch {recipe.model.arch!r} classifies one character; line training needs a CTC "
                         "recognizer (crnn, ppocrv6-tiny, ppocrv6-small)")
    if recipe.data.raster.layout != "line":
        raise ValueError('line training needs data.layout = "line" (the lines are read as the pad reads them)')
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev, _ = pick_device(device)
    torch.manual_seed(recipe.train.seed)
    if recipe.train.threads:
        torch.set_num_threads(recipe.train.threads)
    cfg, spec = recipe.lines, recipe.data.raster
    real_train, real_train_texts = line_sets(cfg.train)
    real_val, real_val_texts = line_sets(cfg.val)
    labels = resolve_labels(recipe, real_train_texts + real_val_texts)
    seed = recipe.data.seed
    syn_train, syn_train_texts = composed(recipe, labels, cfg.synthetic, seed)
    syn_val, syn_val_texts = composed(recipe, labels, cfg.synthetic_val, seed + 1_000_003)
    train_data = encode(real_train + syn_train, real_train_texts + syn_train_texts, labels, spec)
    val_data = encode(real_val + syn_val, real_val_texts + syn_val_texts, labels, spec)
    if not len(train_data):
        raise ValueError("no training lines: set lines.train (line sets) or lines.synthetic (composed lines)")
    fused = False  # an imported network is in its inference form; checkpoints say so, export builds the same
    if recipe.model.init:
        model, fused = start_from(recipe.model.arch, labels, recipe.model.init, recipe.model.trainable)
    else:
        model = build_model(recipe.model.arch, len(labels))
    model.to(dev)
    opt = build_optimizer(model, recipe.train)
    steps_per_epoch = -(-len(train_data) // recipe.train.batch_size)
    if recipe.train.schedule not in ("onecycle", "cosine"):
        raise ValueError("line training steps its schedule every batch: train.schedule = onecycle or cosine")
    schedule = build_schedule(opt, recipe.train, steps_per_epoch * recipe.train.epochs, steps_per_epoch)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_cer": float("inf"), "seconds": 0.0}
    ckpt_path, log_path = run_dir / "checkpoint.pt", run_dir / "log.jsonl"
    if resume and ckpt_path.exists():
        ckpt = checkpoint.load(ckpt_path)
        changes = _recipe_changes(json.loads(ckpt["recipe"]), recipe.to_dict())
        if changes:
            raise ValueError(f"{ckpt_path} was trained with another recipe: " + "; ".join(changes))
        if list(ckpt["labels"]) != labels:
            raise ValueError(f"{ckpt_path} has {len(ckpt['labels'])} classes, the data {len(labels)}")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        schedule.load_state_dict(ckpt["scheduler"])
        state = dict(ckpt["state"])
        torch.set_rng_state(ckpt["torch_rng"])
    summary = {"lines": len(train_data), "val_lines": len(val_data), "skipped": train_data.skipped + val_data.skipped,
               "classes": len(labels), "run_dir": str(run_dir)}
    widths = [im.shape[1] for im in train_data.images]
    while state["epoch"] < recipe.train.epochs:
        epoch = state["epoch"]
        model.train()
        started, total, seen = time.time(), 0.0, 0
        order = batches(widths, recipe.train.batch_size, np.random.default_rng([recipe.train.seed, epoch]))
        stopped = False
        for idx in order[state["step_in_epoch"]:]:  # a run stopped inside an epoch goes on from its next batch
            x, targets, frames, lengths = collate(train_data, idx, spec)
            loss = line_loss(model(x.to(dev)), targets.to(dev), frames.to(dev), lengths.to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            schedule.step()
            state["global_step"] += 1
            state["step_in_epoch"] += 1
            total += loss.item() * len(idx)
            seen += len(idx)
            if max_steps and state["global_step"] >= max_steps and state["step_in_epoch"] < len(order):
                stopped = True
                break
        state["seconds"] += time.time() - started
        if stopped:
            save_run_state(ckpt_path, model, opt, schedule, state, recipe, labels, fused)
            break
        cer = greedy_cer(model, val_data if len(val_data) else train_data, spec, dev, labels)
        state["epoch"], state["step_in_epoch"] = epoch + 1, 0
        record = {"epoch": epoch + 1, "step": state["global_step"], "train_loss": total / max(1, seen),
                  "val_cer": cer, "lr": opt.param_groups[0]["lr"], "seconds": round(state["seconds"], 1)}
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)
        if cer < state["best_cer"]:
            state["best_cer"] = cer
            checkpoint.save_best(run_dir / "best.pt", model.state_dict(), labels, recipe, epoch + 1, 1.0 - cer, fused)
        save_run_state(ckpt_path, model, opt, schedule, state, recipe, labels, fused)
        if max_steps and state["global_step"] >= max_steps:
            break
    return {**summary, **state}


def save_run_state(path: Path, model: torch.nn.Module, opt, schedule, state: dict, recipe: Recipe,
                   labels: list[str], fused: bool) -> None:
    checkpoint.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": schedule.state_dict(),
                     "state": state, "torch_rng": torch.get_rng_state(), "recipe": json.dumps(recipe.to_dict()),
                     "labels": labels, "fused": fused}, path)
