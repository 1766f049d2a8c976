"""Start the pad: check that Qt can open a window here, then QApplication, settings, the window."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # Qt is imported only once the checks below have passed
    from .window import PadWindow

# What Qt itself loads from the system on Linux, whatever the platform (ldd on PySide6's libQt6Core on a bare
# Debian 12): without it `import PySide6.QtWidgets` fails with an ImportError that names one file, not the package.
QT_LIBRARIES = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}
# What Qt's xcb platform plugin loads beyond Qt itself (found with QT_DEBUG_PLUGINS=1 and ldd), by Debian package.
# A fresh Debian/Ubuntu desktop lacks some of them, and Qt then aborts with a message that names only one.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def missing_qt_packages(env: dict | None = None, platform: str = sys.platform,
                        loads: Callable[[str], bool] = _loads) -> list[str]:
    """Debian packages Qt (and its X11 plugin, where xcb is what Qt will use) needs and this machine lacks."""
    if not platform.startswith("linux"):
        return []
    env = os.environ if env is None else env
    wanted = env.get("QT_QPA_PLATFORM", "")
    wayland_only = bool(env.get("WAYLAND_DISPLAY")) and not env.get("DISPLAY")
    uses_xcb = wanted.startswith("xcb") if wanted else not wayland_only
    libraries = {**QT_LIBRARIES, **(XCB_LIBRARIES if uses_xcb else {})}
    return sorted({pkg for lib, pkg in libraries.items() if not loads(lib)})


def no_display(env: dict | None = None, platform: str = sys.platform) -> bool:
    """On Linux, no X or Wayland display to open a window on (a console, ssh without -X, a CI machine)."""
    env = os.environ if env is None else env
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal",
                                                                                               "vnc", "eglfs", "linuxfb"):
        return False
    return not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY")


def pad_application(argv: list[str]):
    """The QApplication the pad runs in, with every pointer sample delivered: Qt's X11 plugin drops mouse moves
    that queued up while the GUI thread was busy (painting, a slow machine), keeping the last, and a fast writer's
    corners came out as chords (口 read as something else). A handwriting pad wants each sample."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv)
    # after the application exists: its construction turns compression on whatever was set before
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_CompressHighFrequencyEvents, False)
    return app


ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def pad_icon():
    """The pad's icon (the launcher's and the input source's), drawn from the SVG's bytes once at start: an icon that
    reads its file whenever it is drawn went blank, and Qt logged a line at every new window and mode, once a
    reinstall (pip install -e over an installed copy) took the file away. An unreadable file is no icon."""
    from PySide6.QtCore import QBuffer, QByteArray, QSize
    from PySide6.QtGui import QIcon, QImageReader, QPixmap

    from ..bundled import asset_path

    icon = QIcon()
    try:
        data = QByteArray(asset_path("hwime.svg").read_bytes())
    except OSError:
        return icon
    for size in ICON_SIZES:
        buffer = QBuffer(data)
        reader = QImageReader(buffer, QByteArray(b"svg"))
        reader.setScaledSize(QSize(size, size))
        image = reader.read()
        if not image.isNull():
            icon.addPixmap(QPixmap.fromImage(image))
    return icon


def run_pad(model: str | None = None, device: str | None = None,
            typer: tuple[str, Callable[[str], None]] | None = None,
            attach: Callable[[PadWindow], None] | None = None) -> int:
    """Open the pad and run until it closes. ``typer`` (name, send): *Mode: type* sends through it alone and the pad
    starts in type mode (the IBus engine's commit); ``attach(window)`` runs before the loop instead of showing the
    window, and decides when it shows (the engine shows it while it is the active input method)."""
    if no_display():  # Qt would abort (rc 134) with a message about xcb plugins that misleads
        print("hwime: no display to open the pad on (neither DISPLAY nor WAYLAND_DISPLAY is set); start it in a "
              "desktop session, or use `hwime recognize` here", file=sys.stderr)
        return 1
    missing = missing_qt_packages()
    if missing:
        print(f"hwime: Qt cannot open a window without these system libraries; install them with: "
              f"sudo apt-get install {' '.join(missing)}", file=sys.stderr)
        return 1
    from ..personal import default_profile_dir
    from ..settings import default_path, load_settings
    from .window import PadWindow

    app = pad_application(sys.argv[:1])
    app.setApplicationName("hwime")
    path = default_path()
    settings, warnings = load_settings(path)
    if model:
        settings.model_path = model
    if device:
        settings.device = device
    from .i18n import install_translation

    translators = install_translation(app, settings.language)  # noqa: F841 (Qt does not own them: keep them alive)
    deliverer = None
    if typer is not None:
        from PySide6.QtGui import QGuiApplication

        from ..output import Deliverer

        settings.output_mode = "type"  # an input method types: a pick is committed where the writer works
        deliverer = Deliverer(QGuiApplication.clipboard().setText, "type", backends=[typer])
    app.setWindowIcon(pad_icon())
    window = PadWindow(settings, path, warnings=warnings, profile_dir=default_profile_dir(), deliverer=deliverer)
    window.closed.connect(app.quit)  # in type mode the pad is a tool window, which would not end the app
    if attach is not None:
        attach(window)
    else:
        window.show()
    return app.exec()
