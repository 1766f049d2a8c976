"""Handwriting fonts for synthesis: fetched at training time from the package registries, never bundled.

A recipe names its fonts (``data.fonts``); a name resolves to a file here:
- Debian packages (``apt-get install fonts-lxgw-wenkai fonts-arphic-ukai fonts-arphic-gkai00mp``) by their paths;
- npm ``@fontsource/<name>`` packages, which ship a font as ~90 unicode-range ``.woff`` subsets: ``fetch`` runs
  ``npm pack``, drops the layout tables (GSUB/GPOS/GDEF, which differ per subset and are useless for single glyphs)
  and merges the subsets with fontTools into ``<fonts dir>/<name>.ttf``, with the package's licence beside it.

The fonts folder is ``$HWIME_FONTS`` or the user cache (``~/.cache/hwime/fonts`` on Linux).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from ..files import atomic_write

# name -> path of a Debian font package's file, and the package that installs it
DEBIAN_FONTS: dict[str, tuple[str, str]] = {
    "lxgw-wenkai-regular": ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", "fonts-lxgw-wenkai"),
    "lxgw-wenkai-light": ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Light.ttf", "fonts-lxgw-wenkai"),
    "lxgw-wenkai-bold": ("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Bold.ttf", "fonts-lxgw-wenkai"),
    "arphic-ukai": ("/usr/share/fonts/truetype/arphic/ukai.ttc", "fonts-arphic-ukai"),
    "arphic-gkai00mp": ("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", "fonts-arphic-gkai00mp"),
}

# npm @fontsource families (SIL OFL 1.1): Chinese running and cursive hands, and Japanese handwriting fonts,
# whose kanji share most code points and shapes with GB2312 (characters a font lacks are skipped per glyph)
NPM_FONTS: dict[str, str] = {
    "zhi-mang-xing": "Chinese running hand (行书), brush",
    "long-cang": "Chinese running hand, pen",
    "liu-jian-mao-cao": "Chinese cursive (草书), brush",
    "ma-shan-zheng": "Chinese regular brush hand (楷书)",
    "klee-one": "Japanese pencil handwriting",
    "yomogi": "Japanese casual pen handwriting",
    "zen-kurenaido": "Japanese felt-pen handwriting",
}

# what recipes that name no fonts use: the Kai fonts the first bundled model was trained with
DEFAULT_FONTS = ["lxgw-wenkai-regular", "lxgw-wenkai-light", "lxgw-wenkai-bold", "arphic-ukai"]


class FontError(RuntimeError):
    """A font a recipe names is not installed or cannot be fetched."""


def fonts_dir() -> Path:
    env = os.environ.get("HWIME_FONTS")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("hwime")) / "fonts"


def font_path(name: str) -> Path:
    """Where the font called ``name`` lives (it may not exist yet); a path is taken as given."""
    if name in DEBIAN_FONTS:
        return Path(DEBIAN_FONTS[name][0])
    if name in NPM_FONTS:
        return fonts_dir() / f"{name}.ttf"
    if "/" in name or name.endswith((".ttf", ".otf", ".ttc")):
        return Path(name).expanduser()
    raise FontError(f"unknown font {name!r}; known: {', '.join([*DEBIAN_FONTS, *NPM_FONTS])}, or a font file path")


def resolve(names: list[str]) -> list[str]:
    """Paths of the named fonts; raises FontError naming every missing one and how to get it."""
    paths, missing = [], []
    for name in names:
        p = font_path(name)
        (paths if p.exists() else missing).append(str(p) if p.exists() else name)
    if missing:
        debs = sorted({DEBIAN_FONTS[n][1] for n in missing if n in DEBIAN_FONTS})
        npm = [n for n in missing if n in NPM_FONTS]
        how = []
        if debs:
            how.append(f"apt-get install {' '.join(debs)}")
        if npm:
            how.append(f"python -m hwime.training fonts {' '.join(npm)}")
        other = [n for n in missing if n not in DEBIAN_FONTS and n not in NPM_FONTS]
        if other:
            how.append(f"check the path{'s' if len(other) > 1 else ''} {', '.join(other)}")
        raise FontError(f"missing fonts {', '.join(missing)}: {'; '.join(how)}")
    return paths


def merge_subsets(files: list[str | Path], out: str | Path) -> int:
    """Merge unicode-range subsets of one font into a single TrueType file; returns the code points it maps."""
    from fontTools.merge import Merger, Options
    from fontTools.ttLib import TTFont

    with tempfile.TemporaryDirectory() as tmp:
        plain = []
        for i, f in enumerate(files):
            font = TTFont(str(f))
            for tag in ("GSUB", "GPOS", "GDEF"):
                if tag in font:
                    del font[tag]
            font.flavor = None
            p = Path(tmp) / f"{i}.ttf"
            font.save(str(p))
            plain.append(str(p))
        merged = Merger(options=Options(drop_tables=["GSUB", "GPOS", "GDEF"])).merge(plain)
        atomic_write(out, merged.save)
        return len(merged.getBestCmap())


def fetch(name: str, weight: int = 400, npm: str = "npm") -> Path:
    """``npm pack @fontsource/<name>`` and merge its ``weight`` subsets into ``<fonts dir>/<name>.ttf``."""
    if name not in NPM_FONTS:
        raise FontError(f"{name!r} is not an npm font this project knows; known: {', '.join(NPM_FONTS)}")
    if shutil.which(npm) is None:
        raise FontError("npm is not installed; install Node.js (e.g. apt-get install npm) to fetch fonts")
    out = font_path(name)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", f"@fontsource/{name}", "--silent"], cwd=tmp, capture_output=True, text=True)
        tarballs = glob.glob(os.path.join(tmp, "*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise FontError(f"npm pack @fontsource/{name} failed: {done.stderr.strip()[-300:]}")
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(tmp, filter="data")
        files = sorted(glob.glob(os.path.join(tmp, "package", "files", f"{name}-*-{weight}-normal.woff")))
        files = [f for f in files if not f.endswith(".woff2")]
        if not files:
            raise FontError(f"@fontsource/{name} has no weight-{weight} .woff files")
        merge_subsets(files, out)
        licence = Path(tmp, "package", "LICENSE")
        if licence.exists():
            shutil.copyfile(licence, out.with_suffix(".LICENSE.txt"))
    return out
