"""hwime: an offline handwriting input pad for Chinese.

    import hwime
    rec = hwime.Recognizer.load()            # the bundled model, cuda when present
    rec.recognize_ink(hwime.Ink.load("zhong.json"), top=10)   # -> [Candidate(char="中", score=0.93), ...]
"""

from .ink import Ink, InkError
from .recognizer import Candidate, ModelError, ModelNotFoundError, Recognizer

__all__ = ["Ink", "InkError", "Recognizer", "Candidate", "ModelError", "ModelNotFoundError", "load_model"]
__version__ = "0.1.0"


def load_model(path: str | None = None, device: str = "auto") -> Recognizer:
    """The bundled model (or the bundle at ``path``) ready to recognize."""
    return Recognizer.load(path, device)
