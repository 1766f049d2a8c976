"""`hwime ibus install` / `uninstall`: what IBus and the desktop need to offer hwime.

Three files under a prefix (default /usr, which needs root):
- ``share/ibus/component/hwime.xml``: the component IBus reads (ibus-daemon reads only /usr/share/ibus/component by
  default; IBUS_COMPONENT_PATH replaces that folder, ~/.local/share/ibus is never read), naming the engine, its
  Chinese long name, its icon and the command IBus runs to start it: this Python with `-m hwime ibus engine`;
- ``share/icons/hicolor/scalable/apps/hwime.svg``: the pad's icon, for the input source and the launcher;
- ``share/applications/hwime.desktop``: the launcher that puts the pad in the application menu.
Then IBus's registry cache is written again (`ibus write-cache`), so the daemon's next start lists the engine.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from .bundled import asset_path
from .ibus_engine import COMPONENT_NAME, ENGINE_NAME

DEFAULT_PREFIX = Path("/usr")
LONG_NAME = "手写输入 (hwime)"
DESCRIPTION = "Handwriting pad for Chinese: write a character, pick it, it is committed. 手写汉字，点选即输入。"


@dataclass(frozen=True)
class Layout:
    """Where the files go under one prefix."""

    prefix: Path

    @property
    def component(self) -> Path:
        return self.prefix / "share" / "ibus" / "component" / "hwime.xml"

    @property
    def icon(self) -> Path:
        return self.prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / "hwime.svg"

    @property
    def desktop(self) -> Path:
        return self.prefix / "share" / "applications" / "hwime.desktop"


def engine_command(python: str = sys.executable, keep_shown: bool = False) -> list[str]:
    """The command IBus runs to start the engine: this very interpreter (the venv's), so its packages are found."""
    return [str(Path(python).absolute()), "-m", "hwime", "ibus", "engine"] + (["--keep-shown"] if keep_shown else [])


def component_xml(command: list[str], icon: Path, version: str) -> str:
    """IBus's component description (ibus-daemon reads <exec> with shell quoting rules)."""
    exec_line = " ".join(shlex.quote(part) for part in command)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!-- written by `hwime ibus install`; removed by `hwime ibus uninstall` -->
<component>
  <name>{COMPONENT_NAME}</name>
  <description>{escape(DESCRIPTION)}</description>
  <exec>{escape(exec_line)}</exec>
  <version>{escape(version)}</version>
  <author>hwime</author>
  <license>MIT</license>
  <textdomain>hwime</textdomain>
  <engines>
    <engine>
      <name>{ENGINE_NAME}</name>
      <language>zh</language>
      <license>MIT</license>
      <author>hwime</author>
      <icon>{escape(str(icon))}</icon>
      <layout>default</layout>
      <longname>{escape(LONG_NAME)}</longname>
      <description>{escape(DESCRIPTION)}</description>
      <symbol>写</symbol>
      <rank>0</rank>
    </engine>
  </engines>
</component>
"""


def _desktop_quote(arg: str) -> str:
    """An Exec argument as the Desktop Entry specification quotes it."""
    if arg and not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`%"):
        return arg
    return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg).replace("%", "%%") + '"'


def desktop_entry(command: list[str], icon: Path) -> str:
    """The launcher of the pad itself (not the engine): the application menu's *hwime*."""
    return f"""[Desktop Entry]
Type=Application
Name=hwime
Name[zh_CN]=手写输入
Name[zh_TW]=手寫輸入
GenericName=Handwriting input
Comment=Write Chinese characters by hand; the pick is copied, typed or sent through IBus
Comment[zh_CN]=手写汉字输入板
Exec={' '.join(_desktop_quote(a) for a in command)}
Icon={icon}
Terminal=false
Categories=Utility;
Keywords=handwriting;Chinese;input;IME;手写;
StartupNotify=false
"""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hwime")
    except Exception:  # a source checkout that was never installed has no metadata
        return "0"


def _refresh_cache(system: bool) -> str:
    """Write IBus's registry cache again; a line saying what happened."""
    ibus = shutil.which("ibus")
    if ibus is None:
        return "IBus is not installed here (sudo apt-get install ibus gir1.2-ibus-1.0): nothing to refresh"
    cmd = [ibus, "write-cache"] + (["--system"] if system else [])
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(cmd[1:])}` failed: {exc}"
    if r.returncode != 0:
        return f"`ibus {' '.join(cmd[1:])}` failed: {(r.stderr or r.stdout).strip()[:300]}"
    return f"IBus's registry cache was written again (ibus {' '.join(cmd[1:])})"


def _needs_root(layout: Layout) -> str:
    return (f"writing under {layout.prefix} needs root (ibus-daemon reads components only from "
            f"{DEFAULT_PREFIX}/share/ibus/component): run it with sudo, e.g. sudo {shlex.quote(sys.argv[0])} ibus install")


def install(prefix: Path = DEFAULT_PREFIX, keep_shown: bool = False, python: str = sys.executable,
            refresh: bool | None = None) -> tuple[int, list[str]]:
    """Write the component, the icon and the launcher under ``prefix``; (exit status, lines to print).
    ``refresh``: write IBus's cache again (default: when installing where ibus-daemon looks by default)."""
    from .ibus_engine import IBusUnavailable, load_ibus

    layout = Layout(Path(prefix))
    lines = []
    try:
        load_ibus()  # the engine must be able to start before it is offered
    except IBusUnavailable as exc:
        return 1, [f"not installed: {exc}"]
    try:
        for path in (layout.component, layout.icon, layout.desktop):
            path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset_path("hwime.svg"), layout.icon)
        layout.component.write_text(component_xml(engine_command(python, keep_shown), layout.icon, _version()),
                                    encoding="utf-8")
        layout.desktop.write_text(desktop_entry([str(Path(python).absolute()), "-m", "hwime"], layout.icon),
                                  encoding="utf-8")
    except PermissionError:
        return 1, [_needs_root(layout)]
    except OSError as exc:
        return 1, [f"could not write under {layout.prefix}: {exc}"]
    lines += [f"wrote {p}" for p in (layout.component, layout.icon, layout.desktop)]
    default = layout.prefix.resolve() == DEFAULT_PREFIX
    if refresh if refresh is not None else default:
        lines.append(_refresh_cache(system=os.geteuid() == 0 if hasattr(os, "geteuid") else False))
    if default:
        lines.append("now restart IBus as yourself (`ibus restart`, or log out and in) and add the input source "
                     f"{LONG_NAME}: GNOME Settings → Keyboard → Input Sources → + → Chinese; KDE: ibus-setup → "
                     "Input Method → Add → Chinese; or `ibus engine hwime`")
    else:
        lines.append(f"ibus-daemon reads this folder when started with IBUS_COMPONENT_PATH={layout.component.parent}")
    return 0, lines


def uninstall(prefix: Path = DEFAULT_PREFIX, refresh: bool | None = None) -> tuple[int, list[str]]:
    """Remove what install wrote (a file that is not there is fine); (exit status, lines to print)."""
    layout = Layout(Path(prefix))
    lines = []
    for path in (layout.component, layout.desktop, layout.icon):
        try:
            path.unlink()
            lines.append(f"removed {path}")
        except FileNotFoundError:
            pass
        except PermissionError:
            return 1, [_needs_root(layout).replace("ibus install", "ibus uninstall")]
        except OSError as exc:
            return 1, [f"could not remove {path}: {exc}"]
    if not lines:
        lines.append(f"nothing of hwime's was installed under {layout.prefix}")
    elif refresh if refresh is not None else layout.prefix.resolve() == DEFAULT_PREFIX:
        lines.append(_refresh_cache(system=os.geteuid() == 0 if hasattr(os, "geteuid") else False))
    return 0, lines
