"""Training a line recognizer on whole written lines with CTC: `python -m hwime.training train-lines RECIPE`.

Lines come from the recipe's [lines] section: real line sets (hwime.training.linesets.load_lines: ink .jsonl with
"text", .tsv, CASIA .dgrl / .ptts / .wptt pages, IAM-style folders) and lines composed by hwime.training.linecompose. Each
becomes the network's input exactly as the pad and `recognize --line` make it (hwime.raster.prepare_written_line),
its text the class indices. A batch holds lines of similar width, padded to the widest with zeros after
normalization (as the Recognizer pads); the loss is torch.nn.CTCLoss with the blank at 0, each line's frames its
own width / 8.

Composed lines are drawn when a batch (or the validation) first needs them and then kept: line i of a seed is the
same whenever it is drawn, and a try of 50 steps composes 50 batches' lines (and the validation's), not the
recipe's 200,000 (about 45 ms a line on one core: the first 50 batches of 64 take two or three minutes, shown as
they go).

The loop keeps the torchvision reference's shape: train an epoch, evaluate (greedy CER on the validation lines),
save checkpoint.pt (model, optimizer, schedule, epoch and step; atomic) and best.pt at the lowest CER, the formats
`export` reads (hwime.training.checkpoint); what it shares with `train` (resume, signals, stale temporaries, output
checks) is hwime.training.runs. checkpoint.pt is also written every train.checkpoint_every steps and when Ctrl-C or
SIGTERM stops the run between steps. A run ``--max-steps`` stops inside an epoch validates there as well and keeps
best.pt when it is the best yet (a quick try has a best.pt to export). ``--resume`` goes on from it at the next batch (each epoch's batches are fixed
by the seed), and drops the log rows written after it, so each epoch is logged once however the run was stopped.
"""

from __future__ import annotations

import glob
import json
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .. import charset
from ..bundle import CTC_BLANK, LabelCodec
from ..decode import edit_distance, greedy
from ..model import build_model, ctc_arch
from ..raster import RasterSpec, normalize, prepare_written_line
from . import checkpoint
from .ppocr_import import ppocrv6_dictionary
from .progress import progress
from .recipe import Recipe
from .runs import clear_temporaries, output_folder, restore, stop_signals, trim_log
from .train import build_optimizer, build_schedule, default_threads, start_from

POOL_BATCHES = 50  # lines are sorted by width within pools of this many batches (less padding per batch)


class ComposedLines:
    """The recipe's composed lines by index, drawn on demand: line i comes from the generator seeded (seed, i), so
    the same lines come out in any order and a run draws only those its batches reach."""

    def __init__(self, recipe: Recipe, labels: list[str], count: int, seed: int):
        self.recipe, self.labels, self.count, self.seed = recipe, labels, count, seed
        self._composer = None

    def __len__(self) -> int:
        return self.count

    def composer(self):
        if self._composer is None:  # the language table and stroke data take seconds: only when a line is drawn
            from .dataset import recipe_fonts
            from .linecompose import LineComposer

            cfg = self.recipe.lines
            self._composer = LineComposer(self.labels, recipe_fonts(self.recipe), max_chars=cfg.max_chars,
                                          name_share=cfg.name_share, rare_share=cfg.rare_share,
                                          symbol_share=cfg.symbol_share, font_share=self.recipe.data.font_share)
        return self._composer

    def line(self, i: int) -> tuple[str, np.ndarray]:
        """(text, image) of line ``i``; a line none of whose characters could be drawn is drawn again from (seed, i,
        attempt), so every index is a line and a batch never holds an empty one."""
        for attempt in range(16):
            rng = np.random.default_rng([self.seed, i] if attempt == 0 else [self.seed, i, attempt])
            text, image = self.composer().sample(rng)
            text = "".join(c for c in text if not c.isspace())
            if text:
                return text, image
        raise ValueError(f"composed line {i}: none of its characters could be drawn in 16 attempts")


class LineData:
    """Prepared lines (uint8 (size, width) each) and their targets (class indices). Composed lines (``composed``)
    follow the real ones and are prepared when ``ready`` is first asked for them."""

    def __init__(self, images: list[np.ndarray], targets: list[np.ndarray], texts: list[str], skipped: int = 0,
                 composed: ComposedLines | None = None, spec: RasterSpec | None = None):
        self.images, self.targets, self.texts, self.skipped = list(images), list(targets), list(texts), skipped
        self.composed, self.spec, self.real = composed, spec, len(self.images)
        if composed is not None:
            for store in (self.images, self.targets, self.texts):
                store += [None] * len(composed)
            self.codec = LabelCodec(composed.labels, blank=True)

    def __len__(self) -> int:
        return len(self.images)

    def ready(self, idx, stop: dict | None = None, desc: str = "composing lines") -> bool:
        """Compose and prepare the lines of ``idx`` not made yet (a progress bar while it lasts); False when a signal
        stopped it first."""
        missing = [int(i) for i in idx if self.images[i] is None]
        if not missing:
            return True
        bar = progress(total=len(missing), desc=desc, unit="line", leave=False)
        try:
            for i in missing:
                if stop is not None and stop["signal"]:
                    return False
                text, image = self.composed.line(i - self.real)
                self.images[i] = prepare_written_line(image, self.spec)
                self.targets[i] = np.array(self.codec.encode(text), np.int64)
                self.texts[i] = text
                bar.update(1)
        finally:
            bar.close()
        return True


def encode(samples: list, texts: list[str], labels: list[str], spec: RasterSpec) -> LineData:
    """Lines whose every character is a class; the others are counted in ``skipped``. White space between words
    (IAM's texts) is the gap a recognizer reads as blank frames, never a class: it is left out of the targets."""
    codec = LabelCodec(labels, blank=True)
    images, targets, kept, skipped = [], [], [], 0
    for sample, text in zip(samples, texts):
        text = "".join(c for c in text if not c.isspace())
        if not text or any(c not in codec for c in text):
            skipped += 1
            continue
        images.append(prepare_written_line(sample, spec))
        targets.append(np.array(codec.encode(text), np.int64))
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
    """``count`` composed lines (images, texts), drawn now, with a progress bar (compose-lines)."""
    lines = ComposedLines(recipe, labels, max(0, count), seed)
    samples, texts = [], []
    for i in progress(range(len(lines)), desc="composing lines", unit="line"):
        text, image = lines.line(i)
        samples.append(image)
        texts.append(text)
    return samples, texts


def resolve_labels(recipe: Recipe, texts: list[str]) -> list[str]:
    classes = recipe.data.classes
    if classes == "found":  # what a bundle may answer: no space, tab or control character becomes a class
        return sorted({c for t in texts for c in t if charset.is_label_character(c)})
    return charset.class_set(classes, ppocrv6_dictionary)


def steps_in_epoch(lines: int, batch_size: int) -> int:
    return -(-lines // batch_size)


def epoch_batches(data: LineData, batch_size: int, seed: int, epoch: int, first: int = 0,
                  stop: dict | None = None) -> Iterator[np.ndarray]:
    """The epoch's batches from step ``first`` on: the lines shuffled by (seed, epoch), cut into pools of
    POOL_BATCHES batches, each pool sorted by width, cut into batches and those shuffled by (seed, epoch, pool).
    A pool's lines are composed when its first batch is due (a pool before ``first`` never), so a run waits for
    one pool, not the whole set, and a resumed run makes the same batches. Ends early when a signal stops it."""
    order = np.random.default_rng([seed, epoch]).permutation(len(data))
    pool, step = batch_size * POOL_BATCHES, 0
    for number, start in enumerate(range(0, len(order), pool)):
        chunk = order[start : start + pool]
        count = steps_in_epoch(len(chunk), batch_size)
        if step + count <= first:
            step += count
            continue
        if not data.ready(chunk, stop):
            return
        chunk = chunk[np.argsort([data.images[i].shape[1] for i in chunk], kind="stable")]
        cut = [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
        shuffled = np.random.default_rng([seed, epoch, number]).permutation(len(cut))
        yield from (cut[i] for i in shuffled[max(0, first - step):])
        step += count


def collate(data: LineData, idx: np.ndarray, spec: RasterSpec, frame_stride: int) -> tuple[torch.Tensor, ...]:
    """(input (N, 1, size, widest), targets concatenated, frames per line, target lengths); ``frame_stride``: the
    network's input columns per output frame (what it declares)."""
    # each line normalized as the Recognizer does it (its own padding included), then padded with zeros to the widest
    images = [torch.from_numpy(normalize(data.images[i][None], spec))[0] for i in idx]
    own = [image.shape[-1] for image in images]
    x = torch.zeros((len(idx), 1, spec.size, max(own)))
    for row, image in enumerate(images):
        x[row, :, :, : image.shape[-1]] = image
    frames = torch.tensor([-(-w // frame_stride) for w in own], dtype=torch.long)
    targets = torch.from_numpy(np.concatenate([data.targets[i] for i in idx]))
    lengths = torch.tensor([len(data.targets[i]) for i in idx], dtype=torch.long)
    return x, targets, frames, lengths


def line_loss(logits: torch.Tensor, targets: torch.Tensor, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    log_probs = logits.float().log_softmax(2).transpose(0, 1)  # (T, N, classes + 1)
    return F.ctc_loss(log_probs, targets, frames.clamp(max=log_probs.shape[0]), lengths, blank=CTC_BLANK,
                      zero_infinity=True)


@torch.inference_mode()
def greedy_cer(model: torch.nn.Module, data: LineData, spec: RasterSpec, device: torch.device,
               labels: list[str], batch_size: int = 32, stop: dict | None = None) -> float | None:
    """Character error rate of greedy decoding over ``data`` (edit distance / reference characters); None when a
    signal stopped it while the lines were composed."""
    if not data.ready(range(len(data)), stop, desc="composing validation lines"):
        return None
    model.eval()
    errors = chars = 0
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        x, _, frames, _ = collate(data, idx, spec, model.frame_stride)
        log_probs = model(x.to(device)).float().log_softmax(2).cpu().numpy()
        for row, i in enumerate(idx):
            found = greedy(log_probs[row, : int(frames[row])])
            errors += edit_distance("".join(labels[c] for c in found.labels), data.texts[i])
            chars += len(data.texts[i])
    return errors / max(1, chars)


def check_line_recipe(recipe: Recipe) -> None:
    """What line training needs of a recipe, before any line is read."""
    if not ctc_arch(recipe.model.arch):
        raise ValueError(f"model.arch {recipe.model.arch!r} classifies one character; line training needs a CTC "
                         "recognizer (crnn, ppocrv6-tiny, ppocrv6-small)")
    if recipe.data.raster.layout != "line":
        raise ValueError('line training needs data.layout = "line" (the lines are read as the pad reads them)')
    if recipe.train.schedule not in ("onecycle", "cosine"):
        raise ValueError("line training steps its schedule every batch: train.schedule = onecycle or cosine")


def load_line_data(recipe: Recipe) -> tuple[list[str], LineData, LineData]:
    """(labels, training lines, validation lines): the real sets read and prepared, the composed ones to come."""
    cfg, spec, seed = recipe.lines, recipe.data.raster, recipe.data.seed
    real_train, real_train_texts = line_sets(cfg.train)
    real_val, real_val_texts = line_sets(cfg.val)
    labels = resolve_labels(recipe, real_train_texts + real_val_texts)
    train = encode(real_train, real_train_texts, labels, spec)
    val = encode(real_val, real_val_texts, labels, spec)
    train = LineData(train.images, train.targets, train.texts, train.skipped,
                     ComposedLines(recipe, labels, cfg.synthetic, seed), spec)
    val = LineData(val.images, val.targets, val.texts, val.skipped,
                   ComposedLines(recipe, labels, cfg.synthetic_val, seed + 1_000_003), spec)
    if not len(train):
        raise ValueError("no training lines: set lines.train (line sets) or lines.synthetic (composed lines)")
    return labels, train, val


def line_model(recipe: Recipe, labels: list[str]) -> tuple[torch.nn.Module, bool]:
    """(the network, whether it is the fused inference form an import holds), checked on an empty line of the
    recipe's height: a height the network cannot read (data.size = 8) is a recipe error, not a failure at step 1."""
    if recipe.model.init:
        model, fused = start_from(recipe.model.arch, labels, recipe.model.init, recipe.model.trainable)
    else:
        model, fused = build_model(recipe.model.arch, len(labels)), False
    spec = recipe.data.raster
    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(1, 1, spec.size, max(spec.width, spec.size)))
        if out.ndim != 3 or out.shape[1] < 1:
            raise RuntimeError(f"output of shape {tuple(out.shape)}")
    except RuntimeError as exc:
        raise ValueError(f"data.size = {spec.size}: {recipe.model.arch} cannot read lines that high "
                         f"({str(exc).splitlines()[0][:120]}); the line recipes use 48") from None
    return model, fused


def train_lines(recipe: Recipe, run_dir: str | Path, resume: bool = False, max_steps: int | None = None,
                device: str = "auto") -> dict:
    """Train (or go on training) the recipe's line recognizer; returns the run's summary (with ``signal`` and
    ``interrupted_at`` when Ctrl-C or SIGTERM stopped it, a checkpoint written)."""
    from ..network import pick_device

    check_line_recipe(recipe)
    run_dir = output_folder(run_dir, "--run-dir")
    clear_temporaries(run_dir)
    dev, unmet = pick_device(device)
    if unmet:  # a run asked for a GPU: days on the CPU instead would be a silent surprise
        raise ValueError(f"--device {device}: CUDA is not available here; train with --device cpu or auto")
    torch.manual_seed(recipe.train.seed)
    torch.set_num_threads(int(recipe.train.threads) or default_threads())
    labels, train_data, val_data = load_line_data(recipe)
    model, fused = line_model(recipe, labels)
    model.to(dev)
    opt = build_optimizer(model, recipe.train)
    steps = steps_in_epoch(len(train_data), recipe.train.batch_size)
    schedule = build_schedule(opt, recipe.train, steps * recipe.train.epochs, steps)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_cer": float("inf"), "seconds": 0.0,
             "epoch_loss": 0.0, "epoch_lines": 0}
    run = LineRun(recipe, run_dir, model, opt, schedule, state, labels, fused, dev, train_data, val_data, steps)
    if resume:
        ckpt = restore(run.ckpt_path, recipe, model, opt, schedule, state)
        if list(ckpt["labels"]) != labels:
            raise ValueError(f"{run.ckpt_path} has {len(ckpt['labels'])} classes, the data {len(labels)}")
        trim_log(run.log_path, state["global_step"])
        print(f"resumed {run.ckpt_path} at epoch {state['epoch'] + 1} step {state['step_in_epoch']}", file=sys.stderr,
              flush=True)
    print(f"{len(train_data)} training lines ({train_data.real} read, {len(train_data) - train_data.real} composed as "
          f"batches first need them), {len(val_data)} validation lines; {steps} steps an epoch", file=sys.stderr,
          flush=True)
    summary = {"lines": len(train_data), "val_lines": len(val_data), "skipped": train_data.skipped + val_data.skipped,
               "classes": len(labels), "run_dir": str(run_dir)}
    with stop_signals() as stop:
        while state["epoch"] < recipe.train.epochs:
            interrupted = train_line_epoch(run, stop, max_steps)
            if interrupted and not interrupted.get("signal"):  # --max-steps inside an epoch
                interrupted = {**interrupted, **validate_at_stop(run, stop)}
            if interrupted or not end_line_epoch(run, stop):
                run.save()
                return {**summary, **state, **(interrupted or {"interrupted_at": state["global_step"],
                                                              "signal": stop["signal"]})}
            if max_steps and state["global_step"] >= max_steps:
                break
    return {**summary, **state}


class LineRun:
    """What one train-lines run holds between its epochs."""

    def __init__(self, recipe: Recipe, run_dir: Path, model: torch.nn.Module, opt, schedule, state: dict,
                 labels: list[str], fused: bool, device: torch.device, train: LineData, val: LineData, steps: int):
        self.recipe, self.run_dir, self.model, self.opt, self.schedule = recipe, run_dir, model, opt, schedule
        self.state, self.labels, self.fused, self.device = state, labels, fused, device
        self.train, self.val, self.steps = train, val, steps
        self.ckpt_path, self.log_path = run_dir / "checkpoint.pt", run_dir / "log.jsonl"
        self.clock = time.time()

    def tick(self) -> None:
        """Add the time since the last tick to the run's seconds (kept in the checkpoint)."""
        now = time.time()
        self.state["seconds"] += now - self.clock
        self.clock = now

    def save(self) -> None:
        self.tick()
        save_run_state(self.ckpt_path, self.model, self.opt, self.schedule, self.state, self.recipe, self.labels,
                       self.fused)


def train_line_epoch(run: LineRun, stop: dict, max_steps: int | None) -> dict | None:
    """Train to the end of the epoch; an interruption summary when a signal or max_steps stops it first (the caller
    writes the checkpoint), else None. checkpoint.pt is written every train.checkpoint_every steps."""
    cfg, state, spec, dev = run.recipe.train, run.state, run.recipe.data.raster, run.device
    run.model.train()
    bar = progress(total=run.steps, initial=state["step_in_epoch"], desc=f"epoch {state['epoch'] + 1}/{cfg.epochs}",
                   unit="step")
    try:
        for idx in epoch_batches(run.train, cfg.batch_size, cfg.seed, state["epoch"], state["step_in_epoch"], stop):
            x, targets, frames, lengths = collate(run.train, idx, spec, run.model.frame_stride)
            loss = line_loss(run.model(x.to(dev)), targets.to(dev), frames.to(dev), lengths.to(dev))
            run.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), 5.0)
            run.opt.step()
            run.schedule.step()
            state["global_step"] += 1
            state["step_in_epoch"] += 1
            state["epoch_loss"] += loss.item() * len(idx)  # in the checkpoint: a resumed epoch logs the whole mean
            state["epoch_lines"] += len(idx)
            bar.update(1)
            bar.set_postfix(loss=f"{state['epoch_loss'] / state['epoch_lines']:.3f}", refresh=False)
            if stop["signal"]:
                return {"interrupted_at": state["global_step"], "signal": stop["signal"]}
            if max_steps and state["global_step"] >= max_steps and state["step_in_epoch"] < run.steps:
                return {"interrupted_at": state["global_step"]}
            if state["global_step"] % cfg.checkpoint_every == 0 and state["step_in_epoch"] < run.steps:
                run.save()  # (at the epoch's last step the epoch's end saves)
    finally:
        bar.close()
    if stop["signal"]:  # while a pool of lines was composed
        return {"interrupted_at": state["global_step"], "signal": stop["signal"]}
    return None


def validate_at_stop(run: LineRun, stop: dict) -> dict:
    """A run that --max-steps stopped inside an epoch is validated there too, and best.pt kept when it is the best
    yet: a quick try (``train-lines … --max-steps 50``) then has the best.pt its next step exports. The epoch itself
    goes on at --resume as before (no log row here: log.jsonl stays one row per whole epoch), and the torch random
    state is put back, so a stopped and resumed run still trains exactly as one in a go. Returns ``val_cer`` (and
    ``signal`` when one came while the validation lines were composed)."""
    state = run.state
    rng = torch.get_rng_state()
    data = run.val if len(run.val) else run.train
    try:
        cer = greedy_cer(run.model, data, run.recipe.data.raster, run.device, run.labels, stop=stop)
    finally:
        torch.set_rng_state(rng)
    if cer is None:
        return {"signal": stop["signal"]}
    print(json.dumps({"stopped_at": state["global_step"], "epoch": state["epoch"] + 1, "val_cer": cer}), flush=True)
    if cer < state["best_cer"]:
        state["best_cer"] = cer
        checkpoint.save_best(run.run_dir / "best.pt", run.model.state_dict(), run.labels, run.recipe,
                             state["epoch"] + 1, 1.0 - cer, run.fused)
    return {"val_cer": cer}


def end_line_epoch(run: LineRun, stop: dict) -> bool:
    """Validate, log the epoch, keep best.pt, write checkpoint.pt; False when a signal came first (the epoch's
    steps are all in the checkpoint the caller writes, and the resumed run validates)."""
    state = run.state
    data = run.val if len(run.val) else run.train
    cer = greedy_cer(run.model, data, run.recipe.data.raster, run.device, run.labels, stop=stop)
    if cer is None:
        return False
    run.tick()
    epoch = state["epoch"] + 1
    record = {"epoch": epoch, "step": state["global_step"], "train_loss": state["epoch_loss"] / max(1, state["epoch_lines"]),
              "val_cer": cer, "lr": run.opt.param_groups[0]["lr"], "seconds": round(state["seconds"], 1)}
    state.update(epoch=epoch, step_in_epoch=0, epoch_loss=0.0, epoch_lines=0)
    # the row goes first: a run killed before the checkpoint below repeats the epoch, and --resume drops the row
    with open(run.log_path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)
    if cer < state["best_cer"]:
        state["best_cer"] = cer
        checkpoint.save_best(run.run_dir / "best.pt", run.model.state_dict(), run.labels, run.recipe, epoch, 1.0 - cer,
                             run.fused)
    run.save()
    return True


def save_run_state(path: Path, model: torch.nn.Module, opt, schedule, state: dict, recipe: Recipe,
                   labels: list[str], fused: bool) -> None:
    checkpoint.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": schedule.state_dict(),
                     "state": state, "torch_rng": torch.get_rng_state(), "recipe": json.dumps(recipe.to_dict()),
                     "labels": labels, "fused": fused}, path)
