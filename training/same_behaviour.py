"""Does a change leave what users see byte for byte as it was? Record the CLI's answers on every dev set, before
and after, and compare (issue 34: the recognizer and the window split along their concerns, nothing a user sees
changed).

    python training/same_behaviour.py record before/    # on the commit before the change
    python training/same_behaviour.py record after/     # on the change
    python training/same_behaviour.py compare before/ after/

``record`` runs the installed ``hwime`` (this interpreter's ``-m hwime``) on ../shared/data (or --data): every
character set in every script (simplified, traditional, both), with and without the usage prior, with a context,
after learning samples; ``--line --json`` on all of lines-dev in both scripts, greedy and with a context; and
``hwime suggest --json`` on a few hundred contexts taken from lines-dev's texts. Each run's stdout, stderr and
exit status go to one file per run. ``compare`` names every run whose files differ and the first differing line;
exit status 1 when any does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SCRIPTS = ("simplified", "traditional", "both")
CHARACTER_SETS = ("casia-hwdb-dev", "chinese-mnist-dev", "tegaki-online.jsonl", "tegaki-trad.jsonl",
                  "olhwdb-dev.jsonl")
LINE_SETS = ("lines-dev/online.jsonl", "lines-dev/casia", "lines-dev/names", "lines-dev/overlap.jsonl")
CONTEXTS = 200  # per script


def runs(data: Path, scratch: Path) -> dict[str, list[str]]:
    """name -> the hwime arguments of that run."""
    out: dict[str, list[str]] = {}
    for script in SCRIPTS:
        for name in CHARACTER_SETS:
            out[f"chars-{script}-{name}"] = ["recognize", "--json", "--script", script, str(data / name)]
    tegaki = str(data / "tegaki-online.jsonl")
    out["chars-no-prior"] = ["recognize", "--json", "--no-prior", "--script", "simplified", tegaki]
    out["chars-context"] = ["recognize", "--json", "--context", "中", "--script", "simplified", "--top", "20",
                            str(data / "casia-hwdb-dev")]
    # what the writer taught: the first 300 traces of one set learned, another set read
    learn = scratch / "learn.jsonl"
    with open(data / "olhwdb-dev.jsonl", encoding="utf-8") as src:
        learn.write_text("".join(line for _, line in zip(range(300), src)), encoding="utf-8")
    out["chars-learned"] = ["recognize", "--json", "--script", "simplified", "--learn", str(learn), tegaki]
    for script in ("simplified", "traditional"):
        for name in LINE_SETS:
            out[f"lines-{script}-{Path(name).name}"] = ["recognize", "--line", "--json", "--script", script,
                                                        str(data / name)]
    out["lines-greedy"] = ["recognize", "--line", "--json", "--decode", "greedy", "--script", "simplified",
                           str(data / "lines-dev/online.jsonl")]
    out["lines-context"] = ["recognize", "--line", "--json", "--context", "我们", "--top", "8", "--script",
                            "simplified", str(data / "lines-dev/names")]
    return out


def contexts(data: Path) -> list[str]:
    """Distinct prefixes and suffixes of lines-dev's texts, in file order."""
    texts = []
    with open(data / "lines-dev/online.jsonl", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in fh if line.strip()]
    for tsv in ("lines-dev/names.tsv", "lines-dev/casia.tsv"):
        texts += [line.split("\t", 1)[1].strip() for line in (data / tsv).read_text(encoding="utf-8").splitlines()
                  if "\t" in line]
    seen: dict[str, None] = {}
    for text in texts:
        for piece in (text[:1], text[:2], text[-2:]):
            if piece:
                seen.setdefault(piece, None)
    return list(seen)[:CONTEXTS]


def run_one(args: list[str], target: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    done = subprocess.run([sys.executable, "-m", "hwime", *args], capture_output=True, env=env)
    target.write_bytes(b"exit %d\n--- stdout\n" % done.returncode + done.stdout + b"--- stderr\n" + done.stderr)


def record(out: Path, data: Path, only: str = "", contexts_per_script: int = CONTEXTS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name, args in runs(data, Path(scratch)).items():
            if only and only not in name:
                continue
            print(name, flush=True)
            run_one(args, out / f"{name}.txt")
            # the learned profile's path and the temp folder must not make two records differ
            text = (out / f"{name}.txt").read_bytes().replace(scratch.encode(), b"<scratch>")
            (out / f"{name}.txt").write_bytes(text)
    jobs = [(script, text) for script in ("simplified", "traditional")
            for text in contexts(data)[:contexts_per_script]]
    suggest = out / "suggest"
    suggest.mkdir(exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: run_one(["suggest", "--json", "--script", job[0], job[1]],
                                          suggest / f"{job[0]}-{job[1].encode().hex()}.txt"), jobs))
    print(f"{len(jobs)} suggest contexts", flush=True)


def compare(a: Path, b: Path, common: bool = False) -> int:
    names = sorted({p.relative_to(a) for p in a.rglob("*.txt")} | {p.relative_to(b) for p in b.rglob("*.txt")})
    if common:  # a quick record (--only) against a whole one: the runs both have
        names = [n for n in names if (a / n).is_file() and (b / n).is_file()]
    differ = 0
    for name in names:
        pa, pb = a / name, b / name
        if not (pa.is_file() and pb.is_file()):
            print(f"{name}: only in {a if pa.is_file() else b}")
            differ += 1
            continue
        la, lb = pa.read_bytes().splitlines(), pb.read_bytes().splitlines()
        if la != lb:
            differ += 1
            first = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
            print(f"{name}: differs at line {first + 1}\n  {la[first:first + 1]!r}\n  {lb[first:first + 1]!r}")
    lines = sum(len((a / n).read_bytes().splitlines()) for n in names if (a / n).is_file())
    print(f"{len(names)} runs, {lines:,} lines: {'all identical' if not differ else f'{differ} differ'}")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("record", help="run the CLI on every dev set, one file per run in OUT")
    p.add_argument("out", type=Path)
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--only", default="", metavar="TEXT", help="only the runs whose name holds TEXT (a quick check)")
    p.add_argument("--contexts", type=int, default=CONTEXTS, help=f"suggest contexts per script (default {CONTEXTS})")
    p = sub.add_parser("compare", help="name the runs whose answers differ")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--common", action="store_true", help="compare only the runs both records hold")
    args = parser.parse_args(argv)
    if args.command == "record":
        if not (args.data / "lines-dev").is_dir():
            print(f"same_behaviour: no dev sets at {args.data} (--data)", file=sys.stderr)
            return 2
        record(args.out, args.data, args.only, args.contexts)
        return 0
    return compare(args.a, args.b, args.common)


if __name__ == "__main__":
    sys.exit(main())
