"""What the two training loops (`train` and `train-lines`) share about a run, in one place, as torchvision's
references share train_one_epoch / evaluate: output locations checked before any work, the temporaries a killed
save left cleared, Ctrl-C / SIGTERM turned into a checkpoint between steps, and ``--resume`` from checkpoint.pt
(hwime.training.checkpoint has the format).
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from ..files import atomic_write_text
from . import checkpoint
from .recipe import DEFAULTS, Recipe

RUN_FILES = ("checkpoint.pt", "best.pt")  # written with atomic_write, whose temporaries are .<name>-*.tmp
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "state", "torch_rng", "recipe")


class OutputError(ValueError):
    """An output location that cannot be written (a file where a folder goes, a folder under a file, read-only):
    found before hours of work are spent, said in one line."""


def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` (or ``path`` itself) that is not a folder."""
    for p in [path, *path.parents]:
        if p.exists():
            return None if p.is_dir() else p
    return None


def output_folder(path: str | Path, what: str) -> Path:
    """``path`` made (with its parents) and written to once, or an OutputError naming ``what`` (e.g. "--out")."""
    path = Path(path)
    blocking = _file_above(path)
    if blocking is not None:
        where = "is a file" if blocking == path else f"is under {blocking}, a file"
        raise OutputError(f"{what} {path} {where}, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        # a folder may exist and still refuse files (read-only, another owner): try, rather than guess from modes
        fd, probe = tempfile.mkstemp(prefix=".hwime-write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{what} {path} cannot be written ({exc.strerror or exc})") from None
    return path


def output_file(path: str | Path, what: str) -> Path:
    """A file ``path`` can be written: not a folder, its folder made and writable (OutputError otherwise)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder, not a file")
    output_folder(path.parent, f"{what} {path}: its folder")
    return path


def clear_temporaries(run_dir: Path) -> list[Path]:
    """Remove the half-written saves a killed run left (SIGKILL or power loss inside atomic_write): nothing else
    removes them, and a run killed each night would pile them up."""
    removed = []
    for name in RUN_FILES:
        for tmp in run_dir.glob(f".{name}-*.tmp"):
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:  # another user's file, say: it is not in the way of this run's saves
                pass
    return removed


@contextmanager
def stop_signals() -> Iterator[dict]:
    """While inside, SIGINT (Ctrl-C) and SIGTERM set ``stop["signal"]`` (its name) instead of stopping the process:
    the loop checks it between steps, writes a checkpoint and returns, so nothing since the last one is lost.
    Outside the main thread (a test's worker) signals cannot be caught and the flag stays None."""
    stop: dict = {"signal": None}
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda number, frame: stop.update(signal=signal.Signals(number).name))
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def recipe_changes(stored: dict, current: dict, where: str = "", defaults: dict | None = None) -> list[str]:
    """What differs between the checkpoint's recipe and this one; a key added to hwime since, at its default, is
    not a change, nor how many cores a run uses (not what it learns)."""
    defaults = DEFAULTS if defaults is None else defaults
    out = []
    for key in sorted(set(stored) | set(current)):
        a, b = stored.get(key), current.get(key)
        d = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(a, dict) and isinstance(b, dict):
            out += recipe_changes(a, b, f"{where}{key}.", d if isinstance(d, dict) else {})
        elif key not in stored and b == d:
            continue
        elif f"{where}{key}" in ("train.threads", "train.workers"):
            continue
        elif a != b:
            out.append(f"{where}{key}: {a!r} then, {b!r} now")
    return out


def restore(path: Path, recipe: Recipe, model: torch.nn.Module, opt: torch.optim.Optimizer, schedule,
            state: dict) -> dict:
    """``--resume``: model, optimizer, schedule, ``state`` and the torch RNG as checkpoint.pt left them; returns the
    checkpoint for what one loop keeps beside (CUDA RNG, GradScaler, labels). A missing, damaged or foreign file,
    or one trained with another recipe, is an error naming it."""
    from ..recognizer import ModelError

    if not path.exists():
        raise FileNotFoundError(f"nothing to resume: {path} does not exist (run without --resume to start)")
    ckpt = checkpoint.load(path)
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
    if missing:
        raise ModelError(f"{path}: not a training checkpoint to resume (it lacks {', '.join(missing)}; best.pt is "
                         "for export)")
    changes = recipe_changes(json.loads(ckpt["recipe"]), recipe.to_dict())
    if changes:
        raise ValueError(f"{path} was trained with another recipe: {'; '.join(changes[:6])}; resume with the same "
                         "recipe and --set values, or start a new run folder")
    try:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        schedule.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["torch_rng"])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: does not fit this run ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    state.update(ckpt["state"])
    return ckpt


def trim_log(path: Path, step: int) -> None:
    """A JSON-lines log as the checkpoint at ``step`` saw it: rows written after it (an epoch logged, then the run
    killed before its checkpoint) will be written again by the resumed run, so they go."""
    if not path.exists():
        return
    rows = [r for r in path.read_text(encoding="utf-8").splitlines() if r.strip()]
    kept = [r for r in rows if _row_step(r) <= step]
    if len(kept) != len(rows):
        atomic_write_text(path, "".join(r + "\n" for r in kept))


def _row_step(row: str) -> float:
    try:
        return float(json.loads(row).get("step", 0))
    except (ValueError, AttributeError):  # a row cut short by the kill: not a record
        return float("inf")
