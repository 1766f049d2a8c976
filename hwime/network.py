"""One pass of the network: a normalized batch in, ``(logits, features)`` out, whichever engine runs it.

The engines: onnxruntime (a CTC recognizer on the CPU: the bundle's export, cached by hwime.onnx_engine), torch's
frozen, traced network (hwime.ppocrv6.frozen_for_cpu, where onnxruntime is not used), and the eager network (CUDA,
the tests' reference, classifiers). ``features`` are the head's input (the writer's samples are compared in that
space, hwime.personal): (N, D) for a classifier, (N, frames, D) for a CTC network. The network says what it is
(``ctc``, ``frame_stride``, ``input_height``, its head: hwime.model.head_of); nothing here guesses it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .model import head_of

ENGINES = ("auto", "onnx", "torch")


class Engine(Protocol):
    name: str

    def __call__(self, x: torch.Tensor, frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]: ...


def pick_device(device: str = "auto") -> tuple[torch.device, str | None]:
    """(device, a note when the wish could not be met)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cpu":
        return torch.device("cpu"), None
    if torch.cuda.is_available():
        return torch.device("cuda"), None
    return torch.device("cpu"), "CUDA is not available here; running on the CPU" if device == "cuda" else None


def check_engine(engine: str | None) -> str:
    """The CPU runtime asked for (``engine``, else HWIME_ENGINE, else auto); ValueError for another."""
    value = engine if engine is not None else (os.environ.get("HWIME_ENGINE") or "auto")
    if value not in ENGINES:
        raise ValueError(f"engine must be auto, onnx or torch, not {value!r}")
    return value


class OnnxruntimeEngine:
    name = "onnxruntime"

    def __init__(self, session) -> None:
        self.session = session  # hwime.onnx_engine.OnnxEngine

    def __call__(self, x: torch.Tensor, frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.session(x.numpy(), frames)  # the head reads only those frames
        return torch.from_numpy(logits), torch.from_numpy(features)


class TracedEngine:
    """torch on the CPU where onnxruntime is not used: the traced network's features, then the head in int8 as the
    export runs it (hwime.onnx_engine.Int8Head), so either CPU engine offers the same candidates."""

    name = "torch"

    def __init__(self, traced, head) -> None:
        self.traced, self.head = traced, head

    def __call__(self, x: torch.Tensor, frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.traced(x)
        return self.head(features[:, :frames].float()), features


class EagerEngine:
    """The network as built. Its head's input is caught by a hook that lives only for the pass (a model shared by
    several recognizers, or trained on afterwards, keeps no hook of ours)."""

    name = "torch"

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.head = head_of(model)

    def __call__(self, x: torch.Tensor, frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        caught: list[torch.Tensor] = []
        hook = self.head.register_forward_pre_hook(lambda module, args: caught.append(args[0]))
        try:
            logits = self.model(x).float()
        finally:
            hook.remove()
        return (logits[:, :frames] if logits.ndim == 3 else logits), caught[-1]


class Network:
    """The bundle's network on ``device`` behind the fastest engine that gives its answers."""

    def __init__(self, model: torch.nn.Module, device: torch.device, input_width: int, path: Path | None = None,
                 engine: str | None = None, notes: list[str] | None = None):
        self.model = model.eval().to(device)
        self.device = device
        self.ctc = bool(getattr(model, "ctc", False))  # per-frame logits, the blank first (hwime.bundle.LabelCodec)
        self.frame_stride: int | None = getattr(model, "frame_stride", None)
        self.input_height: int | None = getattr(model, "input_height", None)
        self.engine: Engine = EagerEngine(self.model)
        # a fused CTC recognizer on the CPU runs under onnxruntime, else traced; ``engine`` (or HWIME_ENGINE): auto |
        # onnx | torch — torch is the reference the tests compare with
        wanted = check_engine(engine)
        if self.ctc and device.type == "cpu" and getattr(model, "fused", False):
            session = None
            if wanted != "torch" and path is not None and Path(path).is_file():
                from .onnx_engine import load_engine

                session = load_engine(path, self.model, self.input_height, input_width, notes)
            if session is not None:
                self.engine = OnnxruntimeEngine(session)
            else:
                from .onnx_engine import Int8Head
                from .ppocrv6 import frozen_for_cpu

                traced = frozen_for_cpu(self.model, input_width)
                if traced is not None:
                    self.engine = TracedEngine(traced, Int8Head(self.model.head))

    @property
    def engine_name(self) -> str:
        return self.engine.name

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor | np.ndarray, frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized input (N, 1, H, W) -> (logits, the head's input features) of one pass. A CTC network's logits
        cover its first ``frames`` frames only (all where None; onnxruntime's head reads no others); the features
        cover every frame."""
        return self.engine(torch.as_tensor(x).to(self.device), frames)
