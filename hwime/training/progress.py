"""Progress bars (tqdm when installed, otherwise quiet) and warnings on stderr."""

from __future__ import annotations

import sys

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - tqdm is in the training extra
    _tqdm = None


class _Quiet:
    def __init__(self, iterable=None, **_):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *a, **k) -> None:
        pass

    def close(self) -> None:
        pass


def progress(iterable=None, **kwargs):
    kwargs.setdefault("mininterval", 2.0)
    kwargs.setdefault("file", sys.stderr)
    return _tqdm(iterable, **kwargs) if _tqdm else _Quiet(iterable, **kwargs)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
