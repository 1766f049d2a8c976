"""What a recognizer says about itself once loaded, typed: a front end words each kind in its own language (the
pad's zh_CN/zh_TW translations), the CLI prints the English ``text``."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class NoteKind(enum.Enum):
    """Something about the model just loaded that the writer should know."""

    NO_CUDA = "no cuda"  # the GPU was asked for and there is none: it runs on the CPU
    SAMPLES_UNKNOWN = "samples unknown"  # ``count`` learned samples are of characters this model lacks
    OTHER = "other"  # ``text`` says it (in English)


@dataclass(frozen=True)
class ModelNote:
    kind: NoteKind
    count: int = 0
    text: str = ""  # in English, for the CLI and the log

    def __str__(self) -> str:
        return self.text
