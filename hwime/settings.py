"""User settings in the platform's config folder (platformdirs), as JSON.

A file that is not valid JSON is set aside as settings.json.bak and defaults are used, with a warning
the pad shows; a value of the wrong kind falls back to its default, also with a warning. Nothing is lost.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from platformdirs import user_config_path

OUTPUT_MODES = ("copy", "type")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class Settings:
    output_mode: str = "copy"  # copy: clipboard; type: keystrokes into the window that had focus
    candidate_count: int = 10
    pen_width: float = 6.0  # pixels on screen; recognition does not depend on it
    device: str = "auto"
    model_path: str = ""  # empty: the bundled model
    geometry: str = ""  # Qt saveGeometry(), base64
    recent: list = field(default_factory=list)  # recently delivered characters, newest first

    def validate(self) -> list[str]:
        """Reset values that make no sense to their defaults; return what was reset."""
        problems = []
        default = Settings()
        checks = {
            "output_mode": lambda v: v in OUTPUT_MODES,
            "candidate_count": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 20,
            "pen_width": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v <= 40,
            "device": lambda v: v in DEVICES,
            "model_path": lambda v: isinstance(v, str),
            "geometry": lambda v: isinstance(v, str),
            "recent": lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not ok(value):
                problems.append(f"{name}={value!r} is not valid, using {getattr(default, name)!r}")
                setattr(self, name, getattr(default, name))
        return problems


def default_path() -> Path:
    return user_config_path("hwime", appauthor=False) / "settings.json"


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """(settings, warnings for the user). Never raises for a bad file."""
    path = path or default_path()
    if not path.exists():
        return Settings(), []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        backup = path.with_suffix(path.suffix + ".bak")
        os.replace(path, backup)
        return Settings(), [f"Settings file {path} was not valid JSON ({exc}); kept it as {backup.name} and used defaults."]
    except OSError as exc:
        return Settings(), [f"Could not read settings {path} ({exc}); using defaults."]
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in data.items() if k in known})
    warnings = [f"Settings: {p}" for p in settings.validate()]
    return settings, warnings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
