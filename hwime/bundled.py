"""Where the bundled assets live: inside the installed package (hwime.assets), or assets/ in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_MODEL = "hwime-all.pt"


class AssetGoneError(FileNotFoundError):
    """A file hwime reads on first use is no longer where this process found hwime: the package was reinstalled or
    removed under a running pad (pip install -e over an installed copy takes the old files away). Its message is one
    line that says what to do."""


def asset_gone(name: str) -> AssetGoneError:
    """The one-line error for a bundled file (or a table hwime reads from a dependency) that vanished."""
    return AssetGoneError(f"{name} was removed or replaced (hwime reinstalled?): restart the pad")


def asset_path(name: str) -> Path:
    try:
        installed = Path(str(resources.files("hwime.assets").joinpath(name)))
        if installed.exists():
            return installed
    except ModuleNotFoundError:
        pass  # running from a source checkout without installing
    return Path(__file__).resolve().parent.parent / "assets" / name
