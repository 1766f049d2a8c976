"""Reinstalling hwime under a running pad (issue 38 item 7): pip install -e over an installed copy takes the old
package's files away, and every later stroke failed with FileNotFoundError on a table read on first use. The pad's
worker now reads those tables with the language table, right after its model loads (after Ready: the start-up bar
is not paid for it); a file that is gone anyway fails in one line that says to restart the pad."""

import shutil
from pathlib import Path

import pytest

from conftest import ink_kou, ink_shi
from hwime import language, overlap, script
from hwime.bundled import AssetGoneError, asset_path
from hwime.recognizer import Recognizer
from hwime.ui.worker import RecognitionWorker

COPIED = (script.GENERAL_STANDARD_FILE, language.WORDS_FILE, "mmah-medians.npz")


def clear_caches() -> None:
    for cached in (script.general_standard, script.character_table, script.japanese_forms, script._converter,
                   language.load_language, overlap._stroke_counts):
        cached.cache_clear()


@pytest.fixture
def installed(tmp_path, monkeypatch) -> Path:
    """A throwaway 'installed copy': the assets and OpenCC's character tables copied to tmp_path, and the lookups
    pointed there, so the test can delete them as a reinstall does."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in COPIED:
        shutil.copyfile(asset_path(name), assets / name)
    opencc = tmp_path / "opencc"
    shutil.copytree(script._opencc_dir() / "dictionary", opencc / "dictionary")
    lookup = lambda name: assets / name  # noqa: E731
    monkeypatch.setattr(script, "asset_path", lookup)
    monkeypatch.setattr(language, "asset_path", lookup)
    monkeypatch.setattr("hwime.bundled.asset_path", lookup)  # overlap imports it at first use
    monkeypatch.setattr(script, "_opencc_dir", lambda: opencc)
    clear_caches()  # what earlier tests read from the real files must not hide a read from the copy
    yield tmp_path
    clear_caches()  # later tests read the real files again


def loaded_pad(tiny_bundle: Path, script_name: str = "simplified") -> Recognizer:
    """What the pad's worker does at start: load the model, then warm up (the slots themselves: no thread)."""
    rec = Recognizer.load(tiny_bundle, "cpu")
    worker = RecognitionWorker(10, recognizer_factory=lambda path, device: rec)
    worker.script = script_name
    failed = []
    worker.jobFailed.connect(failed.append)
    worker._load("", "cpu")
    assert worker._recognizer is rec and not failed
    return rec


def test_strokes_after_the_files_went_away_read_as_before(installed, tiny_bundle):
    rec = loaded_pad(tiny_bundle)
    shutil.rmtree(installed / "assets")
    shutil.rmtree(installed / "opencc")
    for which in ("simplified", "traditional", "both"):
        for ink in (ink_shi(), ink_kou()):
            got = rec.recognize_ink(ink, top=5, context="中", script=which)
            assert got and all(c.char in rec.labels or script.is_han(c.char) for c in got), which
    assert overlap._stroke_counts().get("中") == 4  # 叠写's stroke counts, read at start (were read at first use)
    # and the continuations the pad offers after a pick, in both scripts
    assert language.load_language(script="traditional").continuations("中", 3) is not None
    assert language.load_language(script="simplified").continuations("中", 3) is not None


def test_a_table_gone_before_its_first_use_says_restart_in_one_line(installed):
    shutil.rmtree(installed / "assets")
    shutil.rmtree(installed / "opencc" / "dictionary")
    (installed / "opencc" / "dictionary").mkdir()  # the folder check passes, the file read does not
    for first_use in (script.general_standard, lambda: script.character_table("STCharacters"),
                      lambda: language.load_language(script="simplified"), overlap._stroke_counts):
        with pytest.raises(AssetGoneError) as caught:
            first_use()
        message = str(caught.value)
        assert "\n" not in message and message.endswith("(hwime reinstalled?): restart the pad"), message
        assert isinstance(caught.value, FileNotFoundError)  # callers that caught FileNotFoundError still do


@pytest.mark.parametrize("script_name", ["simplified", "traditional"])
def test_the_pads_start_reads_the_tables_so_a_later_stroke_reads_no_file(installed, tiny_bundle, script_name):
    loaded_pad(tiny_bundle, script_name)
    for cached in (script.general_standard, script.character_table, script.japanese_forms, script._converter,
                   language._table):  # load_language's cache
        assert cached.cache_info().currsize > 0, cached
    assert script.character_table.cache_info().currsize == len(script.WARM_TABLE_NAMES)
    assert script._converter.cache_info().currsize == 2  # s2tw and t2s: the pad's two scripts


def test_the_pads_start_imports_and_loads_what_overlapped_writing_reads_with(tiny_bundle):
    """A newcomer reinstalled hwime (pip install -e) with the pad open: 叠写 then failed at every stroke with
    ModuleNotFoundError: hwime.overlap, imported on the mode's first use. The worker imports it, and loads the
    segmenter, as the model loads; a module gone anyway is said in one line that says to restart."""
    import os
    import subprocess
    import sys

    probe = f"""
import sys
from hwime.recognizer import Recognizer
from hwime.ui.worker import RecognitionWorker
rec = Recognizer.load({str(tiny_bundle)!r}, "cpu")
lazy = ("hwime.overlap", "hwime.segmenter")
before = [m for m in lazy if m in sys.modules]
worker = RecognitionWorker(10, recognizer_factory=lambda path, device: rec)
worker._load("", "cpu")
print(before, [m for m in lazy if m in sys.modules], worker._segmenter is not None)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "[] ['hwime.overlap', 'hwime.segmenter'] True"


def test_a_module_gone_under_the_running_pad_says_restart_in_one_line():
    from hwime.ui.worker import failure_text

    gone = ModuleNotFoundError("No module named 'hwime.overlap'", name="hwime.overlap")
    assert failure_text(gone) == "hwime.overlap is gone (hwime reinstalled?): restart the pad"
    assert failure_text(ModuleNotFoundError("No module named 'scipy'", name="scipy")) == \
        "ModuleNotFoundError: No module named 'scipy'"
    assert failure_text(ValueError("bad ink")) == "ValueError: bad ink"


def test_the_pads_icon_still_draws_after_its_file_went_away(tmp_path, monkeypatch, qapp):
    from hwime.ui.app import pad_icon

    svg = tmp_path / "hwime.svg"
    shutil.copyfile(asset_path("hwime.svg"), svg)
    monkeypatch.setattr("hwime.bundled.asset_path", lambda name: tmp_path / name)
    icon = pad_icon()
    svg.unlink()  # pip install -e over an installed copy
    for size in (16, 40, 64):  # 40: drawn now, from what was read at start
        pixmap = icon.pixmap(size)
        assert not pixmap.isNull() and pixmap.toImage().pixelColor(size // 2, size // 2).alpha() > 0, size
    assert pad_icon().isNull()  # read after it went away: no icon, no error
