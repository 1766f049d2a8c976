"""`hwime` starts the pad; `hwime recognize [--top K] [--json] [--line] PATH...` reads images and ink files.

A thin layer over hwime.Recognizer: one process, the model loaded once, samples batched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from .ink import MAX_JSON_BYTES, Ink, InkError, iter_jsonl, parse_json
from .raster import IMAGE_SUFFIXES, RasterError, load_image
from .samples import char_folder, is_regular

INK_SUFFIXES = {".json", ".jsonl"}
# inputs read per pass: each holds (frames x classes) logits and their softmax (2 x 0.9 MB at 18,768 classes), so 256
# at once peaked at 1.9 GB on tegaki-online.jsonl; 32 reads as fast on a CPU
BATCH = 32


def score_text(score: float) -> str:
    """Three significant digits (0.912, 0.0412, 3.10e-05): a runner-up never reads as 0.00 beside the first."""
    return f"{score:#.3g}"


def score_value(score: float) -> float:
    """A score for JSON: four significant digits, so a small runner-up keeps its size instead of rounding to 0."""
    return float(f"{score:.4g}")


def display_name(path: Path | str) -> str:
    """A file name that can always be printed: bytes that are not UTF-8 are shown as \\xNN escapes."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def valid_text(text: str) -> str:
    """Text that encodes as UTF-8 (a lone surrogate from JSON or an undecodable argument becomes an escape)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def text_cell(text: str) -> str:
    """For text-mode output: valid UTF-8 with control characters (newline, tab, ESC …) escaped, so a file name or
    label can neither forge a result line nor reach the terminal as a command."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in valid_text(text))


def say(message: str) -> None:
    """One line on stderr, with control characters escaped as stdout escapes them (text_cell): a file name holding
    ESC or BEL must not reach the terminal raw."""
    print(text_cell(message), file=sys.stderr)


def _expand(paths: list[str]) -> Iterator[Path | str]:
    """Files to read, in order; a string is an error message for a path that cannot be used."""
    wanted = IMAGE_SUFFIXES | INK_SUFFIXES
    for p in map(Path, paths):
        try:
            if p.is_dir():
                found = sorted((f for f in p.rglob("*") if f.suffix.lower() in wanted and not f.is_dir()),
                               key=natural_key)
                if not found:
                    yield f"{display_name(p)}: no images or ink files in this folder"
                for f in found:
                    yield f if is_regular(f) else f"{display_name(f)}: not a regular file, skipped"
            elif not p.exists():
                yield f"{display_name(p)}: " + ("a symbolic link that leads nowhere (a loop, or its target is gone)"
                                                if p.is_symlink() else "no such file")
            elif not is_regular(p):
                yield f"{display_name(p)}: not a regular file (a FIFO, device or socket), skipped"
            elif p.suffix.lower() not in wanted:
                yield f"{display_name(p)}: not an image (png/jpg/bmp) or ink (.json/.jsonl) file"
            else:
                yield p
        except OSError as exc:
            yield f"{display_name(p)}: {exc.strerror or exc}"


def natural_key(path: Path) -> list:
    """Sort key that puts 2.png before 10.png (numbers in a name compare as numbers)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", str(path))]


def folder_label(path: Path, roots: list[str]) -> str | None:
    """The label of an image in a <char>/ folder under a folder given on the command line, as --learn and
    evaluate read that layout; None elsewhere."""
    parent = path.parent.name
    if len(parent) == 1 and parent.isprintable() and not parent.isspace() and any(
            path.parent.parent == Path(r) for r in roots if Path(r).is_dir()):
        return parent
    return None


Sample = tuple[str, "np.ndarray | None", "str | None", "str | None"]


def _samples(paths: list[str], spec, line: bool = False) -> Iterator[Sample]:
    """(input name, the sample, label, error message); one bad input costs only itself. The sample is the image
    prepared for the model, or with ``line`` the Ink or grayscale image of a written line (labelled by "text")."""
    from .raster import ink_to_image, prepare_image

    def from_ink(ink: Ink):
        return None if ink.is_empty else ink if line else ink_to_image(ink, spec)

    key = "text" if line else "char"
    for f in _expand(paths):
        if isinstance(f, str):
            yield f, None, None, f
            continue
        name = display_name(f)
        suffix = f.suffix.lower()
        try:
            if suffix in IMAGE_SUFFIXES:
                image = load_image(f)
                yield name, image if line else prepare_image(image, spec), folder_label(f, paths), None
            elif suffix == ".json":
                if f.stat().st_size > MAX_JSON_BYTES:
                    raise InkError(f"larger than {MAX_JSON_BYTES >> 20} MB")
                data = f.read_bytes()
                if not data.strip():
                    raise InkError("an empty file (ink JSON is {\"strokes\": [[[x, y], ...], ...]})")
                obj = parse_json(data)
                label = obj.get(key) if isinstance(obj, dict) else None
                yield name, from_ink(Ink.from_json(obj)), _label(label), None
            else:
                read = 0
                for number, ink, label in iter_jsonl(f, key):
                    read += 1
                    where = f"{name}:{number}"
                    if isinstance(ink, InkError):
                        yield where, None, None, str(ink).replace(str(f), name, 1)
                        continue
                    try:
                        yield where, from_ink(ink), _label(label), None
                    except (RasterError, InkError, MemoryError, ValueError) as exc:
                        yield where, None, None, f"{where}: {type(exc).__name__}: {exc}"
                if not read:
                    yield name, None, None, f"{name}: no ink in it (a .jsonl holds one ink JSON object per line)"
        except (InkError, RasterError) as exc:
            message = str(exc)
            yield name, None, None, message if message.startswith(name) else f"{name}: {message}"
        except (OSError, MemoryError, ValueError, RecursionError) as exc:
            yield name, None, None, f"{name}: {type(exc).__name__}: {str(exc)[:200]}"


def _label(label: object) -> str | None:
    return valid_text(label) if isinstance(label, str) else None


def _learn_from(rec, paths: list[str]) -> int:
    """Learn labelled samples in order: .jsonl lines with "char", or folders of <char>/ image folders.
    Returns how many could not be learned (each reported on stderr)."""
    from .personal import ProfileError

    failures = 0
    for p in map(Path, paths):
        if p.is_dir():
            items = [(char, f) for char, f in char_folder(p) if is_regular(f)]
            if not items:
                say(f"hwime: --learn {display_name(p)}: no <char>/ image folders")
                failures += 1
            for char, f in items:
                try:
                    rec.learn(load_image(f), char)
                except (RasterError, ProfileError) as exc:
                    say(f"hwime: --learn {display_name(f)}: {exc}")
                    failures += 1
        elif p.suffix.lower() == ".jsonl" and is_regular(p):
            for number, ink, label in iter_jsonl(p):
                where = f"{display_name(p)}:{number}"
                try:
                    if isinstance(ink, InkError):
                        raise ink
                    if not label:
                        raise ProfileError('the line has no "char" label')
                    rec.learn(ink, label)
                except (InkError, ProfileError) as exc:
                    say(f"hwime: --learn {where}: {str(exc).replace(str(p), display_name(p))}")
                    failures += 1
        else:
            say(f"hwime: --learn {display_name(p)}: not a labelled .jsonl or a folder of <char>/ images")
            failures += 1
    return failures


def cmd_recognize(args: argparse.Namespace) -> int:
    from .personal import Profile
    from .recognizer import ModelError, Recognizer, RecognitionError

    script = _script(args.script, "recognize")
    if script is None:
        return 2
    from .network import check_engine

    try:  # HWIME_ENGINE=bogus: one line, as the pad says it, not a traceback from deep in the load
        check_engine(None)
    except ValueError as exc:
        say(f"hwime: HWIME_ENGINE: {exc}")
        return 2
    try:
        # --learn without --profile learns into a throwaway profile: the user's own is never touched
        profile = Profile(args.profile) if args.profile else Profile(None)
        rec = Recognizer.load(args.model, args.device, profile=profile, script=script)
    except ModelError as exc:
        say(f"hwime: {exc}")
        return 2
    for warning in profile.warnings:
        say(f"hwime: {warning}")
    if not 1 <= args.top <= len(rec.labels):
        print(f"hwime recognize: --top must be from 1 to {len(rec.labels)} (the model's classes), got {args.top}",
              file=sys.stderr)
        return 2
    for note in rec.notes:  # e.g. --device cuda on a machine without CUDA
        say(f"hwime: {note}")
    shown = len(profile.warnings)
    not_learned = _learn_from(rec, args.learn)
    if not_learned:
        say(f"hwime: {not_learned} sample(s) given to --learn could not be learned")
    failures = 0
    for warning in profile.warnings[shown:]:  # e.g. a profile folder that cannot be written: learned in memory
        say(f"hwime: {warning}")
    prior = not args.no_prior
    if args.line and not rec.ctc:
        say(f"hwime recognize --line: {display_name(rec.path or 'the model')} reads one character at a time; "
            "line mode needs a line recognizer (the bundled v3 model)")
        return 2
    if args.line or args.overlapped:
        return 1 if _recognize_lines(rec, args, prior) or not_learned else 0
    batch: list[tuple[str, np.ndarray | None, str | None]] = []

    def emit(name: str, label: str | None, cands: list) -> None:
        if args.json:
            print(json.dumps({"input": name, "label": label,
                              "candidates": [{"char": c.char, "score": score_value(c.score)} for c in cands]},
                             ensure_ascii=False), flush=False)
        else:
            shown = "  ".join(f"{c.char} {score_text(c.score)}" for c in cands) or "(empty)"
            print(f"{text_cell(name)}\t{shown}" + (f"\t[label {text_cell(label)}]" if label else ""))

    def flush() -> None:
        nonlocal failures
        images = [s for _, s, _ in batch if s is not None]
        try:
            results = iter(rec.recognize_prepared(np.stack(images), args.top, context=args.context,
                                                         prior=prior) if images else [])
        except (RecognitionError, RuntimeError, MemoryError) as exc:  # the model failed on this batch: say so per input
            for name, _, _ in batch:
                say(f"hwime: {name}: recognition failed ({type(exc).__name__}: {str(exc)[:200]})")
            failures += len(batch)
            batch.clear()
            return
        for name, sample, label in batch:
            emit(name, label, next(results) if sample is not None else [])
        sys.stdout.flush()
        batch.clear()

    for name, sample, label, error in _samples(args.paths, rec.spec):
        if error:
            failures += 1
            say(f"hwime: {error}")
            continue
        batch.append((name, sample, label))
        if len(batch) >= BATCH:
            flush()
    flush()
    if failures:
        say(f"hwime: {failures} input(s) could not be recognized")
    return 1 if failures or not_learned else 0


def _recognize_lines(rec, args: argparse.Namespace, prior: bool) -> int:
    """--line: each input is a written line (ink, or an image of one); prints its best strings. Returns how many
    inputs could not be read."""
    from .recognizer import ModelError, RecognitionError

    import torch

    # one line at a time, each a small pass: a second thread costs more than it gives (lines-dev names, 2 cores:
    # 53 lines/s on one thread, 37 on two)
    torch.set_num_threads(1)
    failures = 0
    segmenter = None
    if args.overlapped:  # --overlapped: characters written one on top of another (hwime.overlap)
        from .overlap import read_overlapped
        from .segmenter import Segmenter, SegmenterError

        try:
            segmenter = Segmenter.load()
        except SegmenterError as exc:
            print(f"hwime: {exc}", file=sys.stderr)
            return 1
    for name, sample, label, error in _samples(args.paths, rec.spec, line=True):
        if error:
            failures += 1
            say(f"hwime: {error}")
            continue
        if segmenter is not None and sample is not None and not isinstance(sample, Ink):
            failures += 1
            say(f"hwime: {name}: --overlapped reads pen strokes (.json, .jsonl), not images")
            continue
        try:
            if sample is None:
                found = []
            elif segmenter is not None:
                found = read_overlapped(rec, sample, args.top, args.context, segmenter, language=prior)
            else:
                found = rec.recognize_line(sample, args.top, args.context, args.decode, language=prior)
        except (RecognitionError, ModelError, RasterError, RuntimeError, MemoryError, ValueError) as exc:
            say(f"hwime: {name}: recognition failed ({type(exc).__name__}: {str(exc)[:200]})")
            failures += 1
            continue
        if args.json:
            best = found[0] if found else None
            print(json.dumps({"input": name, "label": label, "text": best.text if best else "",
                              "candidates": [{"text": c.text, "score": score_value(c.score)} for c in found],
                              "chars": [[{"char": a.char, "score": score_value(a.score)} for a in alts]
                                        for alts in (best.chars if best else ())]}, ensure_ascii=False), flush=True)
        else:
            shown = "  ".join(f"{c.text} {score_text(c.score)}" for c in found) or "(empty)"
            print(f"{text_cell(name)}\t{shown}" + (f"\t[label {text_cell(label)}]" if label else ""), flush=True)
    if failures:
        say(f"hwime: {failures} input(s) could not be recognized")
    return failures


def _script(value: str | None, command: str) -> str | None:
    """--script checked (default: from the locale); None after one line on stderr for an unknown value."""
    from .script import ScriptError, check_script, default_script

    try:
        return check_script(value) if value is not None else default_script()
    except ScriptError as exc:
        say(f"hwime {command}: --script: {exc}")
        return None


def cmd_suggest(args: argparse.Namespace) -> int:
    from .language import LanguageError, load_language

    if args.top < 1:
        say("hwime suggest: --top must be at least 1")
        return 2
    script = _script(args.script, "suggest")
    if script is None:
        return 2
    try:
        suggestions = load_language(script=script).continuations(
            args.text, args.top)
    except LanguageError as exc:
        say(f"hwime: {exc}")
        return 2
    if args.json:
        print(json.dumps({"context": valid_text(args.text), "suggestions": [{"text": s.text, "score": score_value(s.score)}
                                                                 for s in suggestions]}, ensure_ascii=False))
    else:  # three significant digits, as recognize prints: a 0.0121 runner-up is not 0.01, nor 0.00
        print("  ".join(f"{s.text} {score_text(s.score)}" for s in suggestions) or "(no continuations)")
    return 0


def cmd_pad(args: argparse.Namespace) -> int:
    from .ui.app import run_pad

    return run_pad(model=args.model, device=args.device)


def cmd_ibus(args: argparse.Namespace) -> int:
    """`hwime ibus install|uninstall|engine`: hwime as an IBus input method (hwime/ibus_install.py, ibus_engine.py)."""
    if args.ibus_command == "engine":
        from .ibus_engine import run_engine

        return run_engine(model=args.model, device=args.device, keep_shown=args.keep_shown)
    from .ibus_install import install, uninstall

    if args.ibus_command == "install":
        status, lines = install(Path(args.prefix), keep_shown=args.keep_shown)
    else:
        status, lines = uninstall(Path(args.prefix))
    for line in lines:
        print(f"hwime ibus {args.ibus_command}: {line}", file=sys.stderr if status else sys.stdout)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwime", description="Handwriting input pad for Chinese.")
    parser.add_argument("--model", help="model bundle (default: the bundled model, or the settings' choice)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the model runs (default: settings, auto)")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("pad", help="open the writing pad (the default)")
    p.set_defaults(func=cmd_pad)
    p = sub.add_parser("recognize", help="print ranked candidates for images and ink files")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image (png/jpg/bmp), ink .json, ink .jsonl, or a folder of these")
    p.add_argument("--top", type=int, default=10, help="candidates per sample (default 10)")
    p.add_argument("--json", action="store_true",
                   help='one JSON object per sample: {"input", "label", "candidates": [{"char", "score"}]}')
    p.add_argument("--context", default="", metavar="TEXT",
                   help="the characters written just before, for every input: ranks by what usually follows them")
    p.add_argument("--learn", action="append", default=[], metavar="PATH",
                   help='learn these labelled samples first (a .jsonl with "char", or a folder of <char>/ images); '
                        "repeatable, in order; without --profile they are forgotten when the command ends")
    p.add_argument("--profile", metavar="DIR", help="read and update the learned samples in DIR (profile.json)")
    p.add_argument("--no-prior", action="store_true", help="rank by shape alone, without the usage prior")
    p.add_argument("--line", action="store_true",
                   help='each input is a written line (ink, or an image of one, any height): prints its best strings; '
                        '.jsonl lines are labelled by "text"; with --json: {"input", "label", "text", "candidates": '
                        '[{"text", "score"}], "chars": [[{"char", "score"}]]}')
    p.add_argument("--overlapped", action="store_true",
                   help="each ink input holds characters written one on top of another in one box: prints what "
                        "--line prints")
    p.add_argument("--decode", choices=["greedy", "beam"], default="beam",
                   help="--line: greedy (best frame by frame) or beam search with the language side (default)")
    p.add_argument("--script", metavar="SCRIPT",
                   help="simplified, traditional or both: the writer's script; a candidate of the other script is "
                        "folded into its form in this one (這 → 这 for simplified); both shows forms as recognized, "
                        "kana and symbols too (default: traditional for a zh_TW, zh_HK or zh_MO locale, else simplified)")
    p.add_argument("--model", dest="model", default=argparse.SUPPRESS, help="model bundle")
    p.add_argument("--device", dest="device", choices=["auto", "cpu", "cuda"], default=argparse.SUPPRESS,
                   help="where the model runs (default auto)")
    p.set_defaults(func=cmd_recognize)
    p = sub.add_parser("suggest", help="print continuations (associated words) after TEXT")
    p.add_argument("text", metavar="TEXT", help="what was written so far: continued from the longest end of it that "
                   "starts a word the table knows (up to four characters), else with the words that usually come next")
    p.add_argument("--top", type=int, default=10, help="continuations to print (default 10)")
    p.add_argument("--json", action="store_true", help='one object: {"context", "suggestions": [{"text", "score"}]}')
    p.add_argument("--script", metavar="SCRIPT", help="simplified or traditional continuations (both: simplified); "
                   "default from the locale")
    p.set_defaults(func=cmd_suggest)
    p = sub.add_parser("ibus", help="hwime as an IBus input method (GNOME and KDE, Wayland and X11)")
    ibus = p.add_subparsers(dest="ibus_command", required=True,
                            help="install, uninstall, or engine (what IBus runs)")
    for name, text in (("install", "write IBus's component, the icon and the launcher (under /usr: needs root)"),
                       ("uninstall", "remove what install wrote")):
        q = ibus.add_parser(name, help=text)
        q.add_argument("--prefix", default="/usr", help="install under PREFIX/share (default /usr, where ibus-daemon "
                       "reads components; another prefix needs IBUS_COMPONENT_PATH=PREFIX/share/ibus/component)")
        if name == "install":
            q.add_argument("--keep-shown", action="store_true",
                           help="keep the pad shown after switching to another input source (default: it hides)")
        q.set_defaults(func=cmd_ibus)
    q = ibus.add_parser("engine", help="the pad serving the IBus engine (what IBus runs; shown while it is active)")
    q.add_argument("--keep-shown", action="store_true", help="stay shown after the engine is switched off")
    q.set_defaults(func=cmd_ibus)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "recognize" and args.device is None:
        args.device = "auto"
    try:
        return (args.func if args.command else cmd_pad)(args)
    except KeyboardInterrupt:  # Ctrl-C: what was printed is whole lines; no traceback over it
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        say("hwime: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
