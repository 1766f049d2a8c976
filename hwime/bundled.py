"""Where the bundled assets live: inside the installed package (hwime.assets), or assets/ in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_MODEL = "hwime-all.pt"


def asset_path(name: str) -> Path:
    try:
        installed = Path(str(resources.files("hwime.assets").joinpath(name)))
        if installed.exists():
            return installed
    except ModuleNotFoundError:
        pass  # running from a source checkout without installing
    return Path(__file__).resolve().parent.parent / "assets" / name
