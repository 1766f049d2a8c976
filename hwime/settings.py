"""User settings in the platform's config folder (platformdirs), as JSON.

Settings are never lost: a file that is not valid JSON is set aside as settings.json.bak (.bak.1, … for later
ones; never over an earlier backup) or, where the folder is read-only, left alone, and defaults are used with a
warning the pad keeps on screen; a value of the wrong kind falls back to its default and every good value is kept; a file that could not be read is never overwritten.
Saving writes a fresh temporary file in the same folder and renames it over the old one.

What JSON admits but Python balks at costs one value, never the file: a leading UTF-8 byte order mark is ignored;
an integer of more digits than Python converts (4,300) is no valid value for a setting of ours (reset) and, in a
key of a newer version, is written back digit for digit; text with a lone surrogate ("\\ud800", which UTF-8 cannot
encode) is no valid value for a setting of ours (reset) and, in a newer version's key, is written back as the
same \\u escape. So saving never fails on what loading accepted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from platformdirs import user_config_path

from .files import atomic_write_text, read_regular, set_aside

MAX_SETTINGS_BYTES = 1 << 20
LANGUAGES = ("auto", "en", "zh", "zh_TW")  # the pad's words: as the system, English, 简体中文, 繁體中文
SCRIPT_CHOICES = ("auto", "simplified", "traditional", "both")  # the writer's script; auto: from the locale

OUTPUT_MODES = ("copy", "type")
DEVICES = ("auto", "cpu", "cuda")
RECENT_KEPT = 50
PAUSE_CHOICES = (0, 0.5, 1, 2)  # seconds the pen rests before the best candidate is sent; 0: never


@dataclass
class Settings:
    output_mode: str = "copy"  # copy: clipboard; type: keystrokes into the window that had focus
    candidate_count: int = 10
    pen_width: float = 6.0  # pixels on screen; recognition does not depend on it
    device: str = "auto"
    model_path: str = ""  # empty: the bundled model
    geometry: str = ""  # Qt saveGeometry(), base64
    recent: list = field(default_factory=list)  # recently delivered characters, newest first
    use_prior: bool = True  # rank common characters first (the model's usage prior)
    use_context: bool = True  # rank by what was sent just before (bigrams)
    show_pinyin: bool = True  # readings under the candidates
    suggest: bool = True  # offer continuations (associated phrases) after a pick
    learn: bool = True  # learn from the user's picks (hwime.personal)
    line_mode: bool = False  # write a phrase in a wide line instead of one character in the square box
    overlap_mode: bool = False  # write characters one over another in the square box (line_mode wins if both)
    language: str = "auto"  # the pad's words: auto (Chinese on a Chinese system), en, zh or zh_TW
    script: str = "auto"  # the writer's script (hwime.script): auto (traditional on zh_TW/HK/MO), or one of SCRIPTS
    candidate_font: str = ""  # the candidates' face; "" chooses a clear one of the script (ui.candidates)
    send_after_pause: float = 0  # seconds (one of PAUSE_CHOICES): the pen rested that long sends the best; 0: off

    def writer_script(self, locale_name: str | None = None) -> str:
        """The script the pad ranks in: the setting, or for auto the one the locale uses."""
        from .script import default_script

        return default_script(locale_name) if self.script == "auto" else self.script

    def validate(self) -> list[str]:
        """Reset values that make no sense to their defaults; return what was reset. Good entries of a list are kept."""
        problems = []
        default = Settings()
        if isinstance(self.recent, list):
            good = [c for c in self.recent if isinstance(c, str) and 1 <= len(c) <= 16 and c.isprintable()]
            if len(good) != len(self.recent):
                problems.append(f"recent: dropped {len(self.recent) - len(good)} entries that are not text")
            self.recent = good[:RECENT_KEPT]

        def flag(v):
            return isinstance(v, bool)

        def text(v, longest: int | None = None):  # a lone surrogate cannot be saved as UTF-8 nor named to the OS
            return isinstance(v, str) and _encodable(v) and (longest is None or len(v) <= longest)

        checks = {
            "output_mode": lambda v: v in OUTPUT_MODES,
            "candidate_count": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 20,
            "pen_width": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v <= 40,
            "device": lambda v: v in DEVICES,
            "model_path": lambda v: text(v, 4096),
            "geometry": lambda v: text(v, 64 << 10) and v.isascii(),  # base64
            "recent": lambda v: isinstance(v, list),
            "use_prior": flag, "use_context": flag, "show_pinyin": flag, "suggest": flag, "learn": flag,
            "line_mode": flag, "overlap_mode": flag,
            "language": lambda v: v in LANGUAGES,
            "script": lambda v: v in SCRIPT_CHOICES,
            "candidate_font": lambda v: text(v, 200),
            # a bool is an int to Python (True == 1): not a number of seconds
            "send_after_pause": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
            and v in PAUSE_CHOICES,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not ok(value):
                problems.append(f"{name}={value!r:.60} is not valid, using {getattr(default, name)!r}")
                setattr(self, name, getattr(default, name))
        return problems


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


class _BigNumber(str):
    """An integer of more digits than Python converts (sys.get_int_max_str_digits): kept as its digits, so a newer
    version's key is written back unchanged, while no setting of ours takes it for a number."""


def _parse_int(digits: str) -> int | _BigNumber:
    try:
        return int(digits)
    except ValueError:
        return _BigNumber(digits)


def _dumps(data: dict) -> str:
    """The settings as JSON text that encodes as UTF-8, whatever loading kept: big numbers as their digits, text with
    a lone surrogate as \\u escapes (ensure_ascii), which read back as the same string."""
    marker = f"hwime-number-{os.urandom(8).hex()}:"
    big: list[_BigNumber] = []

    def mark(value):
        if isinstance(value, _BigNumber):
            big.append(value)
            return f"{marker}{len(big) - 1}"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    marked = mark(data)
    try:
        text = json.dumps(marked, ensure_ascii=False, indent=2)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(marked, ensure_ascii=True, indent=2)
    if big:
        text = re.sub(f'"{re.escape(marker)}(\\d+)"', lambda m: str(big[int(m.group(1))]), text)
    return text


def default_path() -> Path:
    return user_config_path("hwime", appauthor=False) / "settings.json"


# files that load_settings could not read: save_settings leaves them alone rather than overwrite them with defaults
_UNREADABLE: set[Path] = set()
_FOREIGN: dict[Path, dict] = {}  # per file: keys this version does not know, written back unchanged


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """(settings, warnings for the user). Never raises for a bad file or folder."""
    path = Path(path or default_path())
    _UNREADABLE.discard(path.absolute())
    try:
        raw = read_regular(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return Settings(), []
    except OSError as exc:
        _UNREADABLE.add(path.absolute())
        return Settings(), [f"Could not read settings {path} ({exc.strerror or exc}); using defaults, "
                            "and the file will not be overwritten."]
    try:
        # a byte order mark (Notepad writes one) is no reason to reset every setting
        data = json.loads(raw.decode("utf-8-sig"), parse_int=_parse_int)
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        try:
            kept = f"kept it as {set_aside(path).name}"
        except OSError as move_error:
            _UNREADABLE.add(path.absolute())
            kept = f"left it in place ({move_error.strerror or move_error}) and will not overwrite it"
        return Settings(), [f"Settings file {path} was not valid JSON ({str(exc)[:120]}); {kept}; using defaults."]
    known = {f.name for f in fields(Settings)}
    settings = Settings()
    for k, v in data.items():
        if k in known:
            setattr(settings, k, v)
    # keys of a newer version are kept as they are and written back on save (a downgrade must not drop them)
    _FOREIGN[path.absolute()] = {k: v for k, v in data.items() if k not in known}
    return settings, [f"Settings: {p}" for p in settings.validate()]


def save_settings(settings: Settings, path: Path | None = None) -> bool:
    """Write the settings atomically; False (nothing written) when the file on disk could not be read at load.
    Raises OSError only (a full disk, a read-only folder): a value that cannot be written as it is (text with a
    lone surrogate set after loading) is first reset by ``validate``, as loading would."""
    path = Path(path or default_path())
    if path.absolute() in _UNREADABLE:
        return False
    settings.validate()
    data = {**_FOREIGN.get(path.absolute(), {}), **asdict(settings)}
    atomic_write_text(path, _dumps(data))
    return True
