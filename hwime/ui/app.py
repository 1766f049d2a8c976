"""Start the pad: QApplication, settings, the window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from ..settings import default_path, load_settings
from .window import PadWindow


def run_pad(model: str | None = None, device: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("hwime")
    path = default_path()
    settings, warnings = load_settings(path)
    if model:
        settings.model_path = model
    if device:
        settings.device = device
    window = PadWindow(settings, path, warnings=warnings)
    window.closed.connect(app.quit)  # in type mode the pad is a tool window, which would not end the app
    window.show()
    return app.exec()
