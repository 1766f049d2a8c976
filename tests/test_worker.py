"""The recognition worker as the session's adapter (hwime.ui.worker), run in the test's thread: the reader each
mode takes, the settings passed on every call, the typed messages it answers with."""

import pytest
import torch

from conftest import ink_shi
from fakes import RecordingRecognizer
from hwime.session import Job, ModelInfo, ModelNote, NoteKind, WritingMode
from hwime.ui.worker import LINE_CANDIDATES, RecognitionWorker


@pytest.fixture
def loaded(qapp):
    rec = RecordingRecognizer()
    worker = RecognitionWorker(7, recognizer_factory=lambda path, device: rec)
    got: dict[str, list] = {"loaded": [], "candidates": [], "jobs": [], "learned": []}
    worker.modelLoaded.connect(got["loaded"].append)
    worker.candidatesReady.connect(lambda rid, c: got["candidates"].append((rid, c)))
    worker.jobFailed.connect(got["jobs"].append)
    worker.learned.connect(got["learned"].append)
    worker._load("", "cpu")  # the slot itself, here: no thread, no event loop
    return worker, rec, got


def test_each_mode_has_its_reader_and_the_settings_go_with_every_call(loaded):
    worker, rec, got = loaded
    worker.use_prior, worker.script = False, "traditional"
    worker.request(1, ink_shi(), "中", WritingMode.CHARACTER)
    worker._run_pending()
    worker.request(2, ink_shi(), "中", WritingMode.LINE)
    worker._run_pending()
    assert rec.calls == [("ink", {"top": 7, "context": "中", "prior": False, "script": "traditional"}),
                         ("line", {"top": LINE_CANDIDATES, "context": "中", "language": False,
                                   "script": "traditional"})]
    assert [rid for rid, _ in got["candidates"]] == [1, 2] and got["candidates"][1][1][0].text == "十口"
    assert set(worker._readers) == set(WritingMode)  # every mode is read


def test_the_model_is_described_by_a_typed_message(loaded):
    _, _, got = loaded
    assert got["loaded"] == [ModelInfo(2, "cpu", "", ())] and got["learned"] == [0]
    # the recognizer's notes are typed where they are made (hwime.recognizer): nothing reads their English
    from hwime.recognizer import Recognizer

    rec = Recognizer.load(None, "cuda" if not torch.cuda.is_available() else "cpu")
    kinds = [n.kind for n in rec.notes]
    assert kinds.count(NoteKind.NO_CUDA) == (not torch.cuda.is_available())
    assert all(isinstance(n, ModelNote) and str(n) for n in rec.notes)


def test_a_failed_job_is_no_requests_failure(loaded):
    worker, rec, got = loaded
    rec.fail = True
    failed = []
    worker.recognitionFailed.connect(lambda rid, message: failed.append(rid))
    worker._learn(ink_shi(), "十")
    assert failed == [] and [f.job for f in got["jobs"]] == [Job.LEARN]
    assert "could not learn this pick (OSError: disk full)" == got["jobs"][0].message
    rec.fail = False
    ink = ink_shi()
    worker._learn(ink, "十")
    worker._unlearn(ink)
    assert got["learned"][-2:] == [1, 0] and rec.profile == []


def test_overlapped_ink_is_read_by_one_reader_kept_as_it_grows_and_shrinks(qapp):
    """(Issue 35 item 1.) A pen-up reads only the new stroke; an undo, a stroke redrawn or a new context read as a
    fresh reading of the whole ink does."""
    from test_overlap import overlapped

    from hwime.ink import Ink
    from hwime.overlap import read_overlapped
    from hwime.recognizer import Recognizer
    from hwime.segmenter import Segmenter

    torch.set_num_threads(1)
    rec, seg = Recognizer.load(None, "cpu", script="simplified"), Segmenter.load()
    worker = RecognitionWorker(5, recognizer_factory=lambda path, device: rec)
    worker._load("", "cpu")
    worker.script = "simplified"
    whole = overlapped("中国")
    steps = [(3, ""), (5, ""), (4, ""), (len(whole.strokes), ""), (len(whole.strokes), "我们")]
    readers = []
    for count, context in steps:
        ink = Ink.from_strokes([s.tolist() for s in whole.strokes[:count]])
        got = worker._read_overlapped(rec, ink, context)
        readers.append(worker._overlap[1])
        fresh = read_overlapped(rec, ink, LINE_CANDIDATES, context, seg, script="simplified")
        assert [(c.text, c.spans) for c in got] == [(c.text, c.spans) for c in fresh]
        assert [c.score for c in got] == pytest.approx([c.score for c in fresh])
    assert got[0].text.endswith("国")
    assert readers[0] is readers[1] is readers[2] is readers[3] is not readers[4]  # a new context: a new reader
    # the best string's cells offer their merges and splits, unless a newer request waits (it will not be shown)
    from hwime.overlap import Regrouping

    assert any(isinstance(a, Regrouping) for cell in got[0].chars for a in cell)
    worker._pending = (99, whole, "", WritingMode.OVERLAPPED)
    busy = worker._read_overlapped(rec, whole.without_last_stroke(), "")
    assert busy and not any(isinstance(a, Regrouping) for c in busy for cell in c.chars for a in cell)
