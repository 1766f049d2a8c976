"""hwime: an offline handwriting input pad for Chinese.

    import hwime
    rec = hwime.Recognizer.load()            # the bundled model, cuda when present
    rec.recognize_ink(hwime.Ink.load("zhong.json"), top=10)   # -> [Candidate(char="中", score=0.93), ...]

Names are imported on first use, so `import hwime` (and the pad's start-up) does not pay for torch.
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["Ink", "InkError", "Recognizer", "Candidate", "ModelError", "ModelNotFoundError", "Profile", "load_model",
           "__version__"]

_LAZY = {"Ink": "ink", "InkError": "ink", "Recognizer": "recognizer", "Candidate": "recognizer",
         "ModelError": "recognizer", "ModelNotFoundError": "recognizer", "Profile": "personal"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    if name == "__version__":  # one version source: pyproject.toml, through the installed metadata
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("hwime")
        except PackageNotFoundError:
            return "unknown"
    raise AttributeError(f"module 'hwime' has no attribute {name!r}")


def load_model(path: str | None = None, device: str = "auto", profile=None):
    """The bundled model (or the bundle at ``path``) ready to recognize; ``profile``: a folder of learned samples."""
    from .recognizer import Recognizer

    return Recognizer.load(path, device, profile=profile)
