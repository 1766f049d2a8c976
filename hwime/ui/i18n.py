"""The pad's words in the user's language, through Qt's translation machinery: assets/hwime_zh_CN.qm (built with
pyside6-lrelease from assets/hwime_zh_CN.ts) is installed when the setting says so, or when it says "auto" and the
system locale is Chinese. English is the source text. Also the light or dark palette the system uses."""

from __future__ import annotations

from PySide6.QtCore import QLocale, QTranslator
from PySide6.QtGui import QGuiApplication, QPalette

from ..bundled import asset_path


def wants_chinese(language: str, locale: str | None = None) -> bool:
    if language == "auto":
        return (locale or QLocale.system().name()).lower().startswith("zh")
    return language == "zh"


def install_translation(app: QGuiApplication, language: str = "auto", locale: str | None = None) -> QTranslator | None:
    """Install the Chinese translation when ``language`` (a setting: auto, en, zh) asks for it; returns the
    translator (kept by the caller: Qt does not own it) or None for English."""
    if not wants_chinese(language, locale):
        return None
    translator = QTranslator(app)
    if not translator.load(str(asset_path("hwime_zh_CN.qm"))):
        return None  # a missing translation leaves the pad in English, never without words
    app.installTranslator(translator)
    return translator


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the system's palette is a dark one (its window colour darker than mid-grey)."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128
