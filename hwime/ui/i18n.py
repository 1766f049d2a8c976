"""The pad's words in the user's language, through Qt's translation machinery: assets/hwime_zh_CN.qm (简体) and
assets/hwime_zh_TW.qm (繁體), built with pyside6-lrelease from the .ts files beside them, are installed when the
setting says so, or when it says "auto" and the system locale is Chinese (zh_TW, zh_HK, zh_MO and zh_Hant read
traditional). Qt's own words (the dialog buttons) come from Qt's qtbase translations for the same language.
English is the source text. Also the light or dark palette the system uses."""

from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QGuiApplication, QPalette

from ..bundled import asset_path
from ..script import default_script


def translation_for(language: str, locale: str | None = None) -> str | None:
    """Which translation a language setting (auto, en, zh, zh_TW) asks for: "zh_CN", "zh_TW" or None (English)."""
    if language == "auto":
        name = locale or QLocale.system().name()
        if not name.lower().startswith("zh"):
            return None
        return "zh_TW" if default_script(name) == "traditional" else "zh_CN"
    return {"zh": "zh_CN", "zh_TW": "zh_TW"}.get(language)


def wants_chinese(language: str, locale: str | None = None) -> bool:
    return translation_for(language, locale) is not None


def install_translation(app: QGuiApplication, language: str = "auto",
                        locale: str | None = None) -> list[QTranslator] | None:
    """Install the pad's translation (and Qt's own for its buttons) when ``language`` asks for one; returns the
    translators (kept by the caller: Qt does not own them), or None for English or a missing translation."""
    code = translation_for(language, locale)
    if code is None:
        return None
    ours = QTranslator(app)
    if not ours.load(str(asset_path(f"hwime_{code}.qm"))):
        return None  # a missing translation leaves the pad in English, never without words
    app.installTranslator(ours)
    installed = [ours]
    qt = QTranslator(app)
    if qt.load(f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)  # Cancel, OK and the file dialog's words; without them Qt's stay English
        installed.append(qt)
    return installed


def remove_translation(app: QGuiApplication, translators: list[QTranslator] | None) -> None:
    for translator in translators or ():
        app.removeTranslator(translator)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the system's palette is a dark one (its window colour darker than mid-grey)."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128
