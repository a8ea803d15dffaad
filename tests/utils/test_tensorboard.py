"""utils.tensorboard.SummaryWriter against torch's, read back with TensorBoard's own reader.

The oracle: the same calls go to torch's ``SummaryWriter`` and to gradstep's, each into its
own directory; both trees are read back with the ``tensorboard`` package (its record reader
checks both CRCs of every record and raises on a mismatch) and must hold the same events:
same directories, tags, steps, values, histogram buckets, plugin data. What may differ is
ignored: wall times, file names, the writer name in the first event, the PNG bytes (torch
encodes with Pillow, gradstep with zlib; the decoded pixels must be equal) and the order of
entries in protobuf maps (plugin contents are compared re-serialized deterministically).
Every value is the same computation in both (the same NumPy calls on the same arrays, or a
float rounded to float32 once), so everything is compared exactly.
"""

from __future__ import annotations

import glob
import io
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytest.importorskip("tensorboard")
import torch  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402
from tensorboard.compat.tensorflow_stub import errors  # noqa: E402
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow as tb_pywrap  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_pb2  # noqa: E402
from tensorboard.plugins.mesh import plugin_data_pb2 as mesh_pb2  # noqa: E402
from tensorboard.plugins.pr_curve import plugin_data_pb2 as pr_pb2  # noqa: E402
from tensorboard.plugins.text import plugin_data_pb2 as text_pb2  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

import gradstep  # noqa: E402
from gradstep.utils.tensorboard import SummaryWriter, _event_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_PROTOS = {"hparams": hparams_pb2.HParamsPluginData, "mesh": mesh_pb2.MeshPluginData,
                 "pr_curves": pr_pb2.PrCurvePluginData, "text": text_pb2.TextPluginData}

# ---------------------------------------------------------------------------- reading back


def read_records(path):
    """Every record of an event file, through TensorBoard's reader (which checks both CRCs
    of each record and raises DataLossError on a bad one)."""
    reader = tb_pywrap.PyRecordReader_New(path)
    records = []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return records
        records.append(reader.record())


def _file_order(path):
    """Event files in the order written: by time stamp, then the per-process counter
    (names are events.out.tfevents.<time>.<host>.<pid>.<counter>, no suffix here)."""
    stamp, _host, _pid, counter = re.fullmatch(
        r"events\.out\.tfevents\.(\d+)\.(.+)\.(\d+)\.(\d+)", os.path.basename(path)).groups()
    return int(stamp), int(counter)


def event_files(root):
    return sorted(glob.glob(os.path.join(root, "**", "events.out.tfevents.*"), recursive=True))


def normalized(event):
    """An Event as text, with what may differ between writers taken out (module doc)."""
    from google.protobuf import text_format

    event.ClearField("wall_time")
    event.ClearField("source_metadata")
    for value in event.summary.value:
        if value.HasField("image"):
            from PIL import Image

            pixels = np.asarray(Image.open(io.BytesIO(value.image.encoded_image_string)))
            value.image.encoded_image_string = f"{pixels.shape}:{pixels.tobytes().hex()}".encode()
        plugin = value.metadata.plugin_data
        if plugin.plugin_name in PLUGIN_PROTOS:
            content = PLUGIN_PROTOS[plugin.plugin_name].FromString(plugin.content)
            plugin.content = content.SerializeToString(deterministic=True)
    return text_format.MessageToString(event)


def read_tree(root):
    """{directory relative to root: [normalized events, files in the order written]}."""
    tree = {}
    for path in sorted(event_files(root), key=lambda p: (os.path.dirname(p), _file_order(p))):
        events = [normalized(event_pb2.Event.FromString(r)) for r in read_records(path)]
        tree.setdefault(os.path.relpath(os.path.dirname(path), root), []).extend(events)
    return tree


def run_both(tmp_path, scenario, **writer_kwargs):
    """``scenario(writer, lib)`` under torch's writer and gradstep's: both trees read back."""
    trees = {}
    for name, lib, writer_class in (("torch", torch, TorchWriter),
                                    ("gradstep", gradstep, SummaryWriter)):
        writer = writer_class(str(tmp_path / name), **writer_kwargs)
        scenario(writer, lib)
        writer.close()
        trees[name] = read_tree(str(tmp_path / name))
    return trees["gradstep"], trees["torch"]


def _rng(seed=0):
    return np.random.RandomState(seed)


# ---------------------------------------------------------------------------- scenarios


def scalars(w, lib):
    w.add_scalar("py/float", 0.1, 0)
    w.add_scalar("py/int", 7, 1)
    w.add_scalar("py/bool", True, 2)
    w.add_scalar("np/float32", np.float32(1.25), 3)
    w.add_scalar("np/float64", np.float64(1 / 3), 4)
    w.add_scalar("np/int64", np.int64(-5), 5)
    w.add_scalar("np/0d", np.array(2.5), 6)
    w.add_scalar("t/0d", lib.tensor(0.3), 7)
    w.add_scalar("t/1elem", lib.tensor([0.7]), 8)
    w.add_scalar("t/1x1", lib.tensor([[1.5]], dtype=lib.float64), 9)
    w.add_scalar("t/int", lib.tensor(3), 10)
    w.add_scalar("t/bf16", lib.tensor(1.1).to(lib.bfloat16), 11)
    w.add_scalar("t/grad", lib.tensor(2.0, requires_grad=True) * 3, 12)
    w.add_scalar("special", float("inf"), 13)
    w.add_scalar("special", -float("inf"), 14)
    w.add_scalar("special", 1e300, 15)  # beyond float32: stored as inf
    w.add_scalar("special", -0.0, 16)
    w.add_scalar("nostep", 1.0)
    w.add_scalar("negstep", 1.0, -3)
    w.add_scalar("np/step", 2.0, np.int64(17))
    w.add_scalar("unicode/λ", 4.0, 18)


def scalar_styles(w, lib):
    for step, value in enumerate([0.1, 0.0, lib.tensor(2.5), -1e-40]):
        w.add_scalar("new", value, step, new_style=True)
        w.add_scalar("new64", value, step, new_style=True, double_precision=True)
        w.add_scalar("old64", value, step, double_precision=True)


def multi_scalars(w, lib):
    for step in range(3):
        w.add_scalars("run/14h", {"xsinx": step * np.sin(step), "xcosx": lib.tensor(step * 0.5),
                                  "tanx": np.tan(step)}, step)
    w.add_scalar("plain", 1.0, 0)


def histograms(w, lib):
    values = _rng().randn(1000)
    w.add_histogram("tf/float64", values, 0)
    w.add_histogram("tf/tensor32", lib.tensor(values.astype(np.float32)), 1)
    w.add_histogram("tf/ints", lib.tensor(_rng(1).randint(-5, 50, size=(20, 5))), 2)
    w.add_histogram("tf/constant", np.full(10, 3.0), 3)
    w.add_histogram("tf/zeros", lib.zeros(4), 4)
    w.add_histogram("tf/huge", np.array([-1e19, 1e-13, 0.0, 5e18]), 5)
    w.add_histogram("tf/scalar", 2.5, 6)
    w.add_histogram("auto", values, 7, bins="auto")
    w.add_histogram("fd", values * 3, 8, bins="fd")
    w.add_histogram("int", values, 9, bins=10)
    w.add_histogram("edges", values, 10, bins=np.linspace(-2, 2, 9))
    w.add_histogram("max_bins", values, 11, bins=64, max_bins=5)
    w.add_histogram("max_bins_tf", values, 12, max_bins=30)
    w.add_histogram_raw("raw", min=0.001, max=49.001, num=1225, sum=30000.0,
                        sum_squares=1e6, bucket_limits=list(range(1, 51)),
                        bucket_counts=list(range(50)), global_step=13)
    w.add_histogram_raw("raw/np", 0, 2, 3, 3.0, 5.0, np.array([0.5, 1.0, 2.0]),
                        np.array([1, 1, 1]), 14)


def images(w, lib):
    rng = _rng()
    chw = rng.rand(3, 6, 5) * 1.4 - 0.2  # out of [0, 1]: clipped after scaling
    w.add_image("chw/float64", chw, 0)
    w.add_image("chw/tensor", lib.tensor(chw.astype(np.float32)), 1)
    w.add_image("chw/1ch", lib.tensor(rng.rand(1, 4, 7).astype(np.float32)), 2)
    w.add_image("chw/rgba", rng.rand(4, 3, 3), 3)
    w.add_image("hwc/uint8", lib.tensor(rng.randint(0, 256, (5, 4, 3)).astype(np.uint8)), 4,
                dataformats="HWC")
    w.add_image("hw", rng.rand(4, 6), 5, dataformats="HW")
    w.add_image("wh/lower", rng.rand(4, 6), 6, dataformats="wh")
    w.add_images("nchw", lib.tensor(rng.rand(10, 3, 4, 5).astype(np.float32)), 7)
    w.add_images("nchw/1ch", rng.rand(3, 1, 4, 4), 8)
    w.add_images("nhwc/uint8", rng.randint(0, 256, (2, 4, 5, 3)).astype(np.uint8), 9,
                 dataformats="NHWC")
    w.add_images("chw_as_images", rng.rand(3, 4, 4), 10, dataformats="CHW")
    w.add_image("big", rng.rand(3, 120, 160), 11)  # a record long enough for the vector CRC


def text_and_audio(w, lib):
    w.add_text("note", "lr = 0.1 *bold* `code` — λ ✓", 0)
    w.add_text("note", "", 1)
    w.add_text("multi/line", "a\nb\tc", 2)
    t = np.linspace(0, 1, 800, endpoint=False)
    w.add_audio("sine", lib.tensor(np.sin(2 * np.pi * 440 * t)[None].astype(np.float32)), 3,
                sample_rate=800)
    w.add_audio("loud", np.linspace(-2, 2, 50), 4)  # clipped to [-1, 1], with a warning


def hparams(w, lib):
    w.add_hparams({"lr": 0.01, "batch": 32, "optim": "adam", "nesterov": True, "skip": None,
                   "wd": np.float64(1e-4), "t": lib.tensor([0.5])},
                  {"hparam/accuracy": 0.9, "hparam/loss": lib.tensor(0.25)},
                  hparam_domain_discrete={"optim": ["adam", "sgd"], "batch": [16, 32],
                                          "nesterov": [True, False]},
                  run_name="trial1")
    w.add_hparams({"lr": 0.1}, {"hparam/accuracy": 0.5}, run_name="trial2", global_step=5)
    w.add_hparams({}, {}, run_name="empty")


def curves_and_layouts(w, lib):
    rng = _rng()
    labels, predictions = rng.randint(0, 2, 200), rng.rand(200)
    w.add_pr_curve("pr", labels, predictions, 0)
    w.add_pr_curve("pr/tensor", lib.tensor(labels), lib.tensor(predictions.astype(np.float32)),
                   1, num_thresholds=10)
    w.add_pr_curve("pr/capped", labels, predictions, 2, num_thresholds=500, weights=2.0)
    w.add_pr_curve_raw("pr/raw", [10, 8, 3], [6, 2, 0], [0, 4, 6], [0, 2, 7],
                       [0.625, 0.8, 1.0], [1.0, 0.8, 0.3], 3, num_thresholds=3)
    w.add_custom_scalars({"Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
                          "USA": {"dow": ["Margin", ["dow/a", "dow/b", "dow/c"]],
                                  "nasdaq": ["Margin", ["nq/a", "nq/b", "nq/c"]]}})
    w.add_custom_scalars_multilinechart(["loss/train", "loss/val"])
    w.add_custom_scalars_marginchart(["m", "lo", "hi"], category="c", title="t")


def meshes_and_tensors(w, lib):
    vertices = lib.tensor([[[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]]],
                          dtype=lib.float32)
    colors = lib.tensor([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]],
                        dtype=lib.int32)
    faces = lib.tensor([[[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]], dtype=lib.int32)
    w.add_mesh("mesh", vertices, colors=colors, faces=faces,
               config_dict={"camera": {"cls": "PerspectiveCamera", "fov": 75}}, global_step=0)
    w.add_mesh("cloud", vertices, global_step=1)
    w.add_tensor("f32", lib.tensor([[1.5, -2.0, 3.25]]), 2)
    w.add_tensor("f64", lib.tensor([0.1, 0.2], dtype=lib.float64), 3)
    w.add_tensor("f16", lib.tensor([0.1, -2.5], dtype=lib.float16), 4)
    w.add_tensor("bf16", lib.tensor([0.1, -2.5]).to(lib.bfloat16), 5)
    for step, dtype in enumerate(["int8", "uint8", "int16", "int32", "int64", "bool"], 6):
        w.add_tensor(dtype, lib.tensor([[0, 1], [-1 if dtype[0] == "i" else 1, 0]],
                                       dtype=getattr(lib, dtype)), step)


def summary_module(w, lib):
    """Programs that build summaries with ``torch.utils.tensorboard.summary`` and hand them to
    ``writer.file_writer``, or pass protobuf messages of their own."""
    import torch.utils.tensorboard.summary as torch_summary
    from tensorboard.compat.proto import summary_pb2

    import gradstep.utils.tensorboard.summary as gradstep_summary

    summ = torch_summary if lib is torch else gradstep_summary
    for message in summ.hparams({"lr": 0.1, "opt": "sgd"}, {"acc": 0.5}):
        w.file_writer.add_summary(message, 0)
    w.file_writer.add_summary(summ.scalar("s", lib.tensor(2.0), new_style=True), 1)
    w.file_writer.add_summary(summ.histogram("h", np.arange(5.0), bins=3), 2)
    w.file_writer.add_summary(summ.image("im", np.ones((3, 2, 3)) / 2, rescale=2, dataformats="CHW"), 3)
    w.file_writer.add_summary(summ.text("t", "x"), 4, walltime=5.0)
    w.file_writer.add_summary(summ.tensor_proto("tp", lib.tensor([1.0, 2.0])), 5)
    value = summary_pb2.Summary.Value(tag="pb", simple_value=3.0)
    w.file_writer.add_summary(summary_pb2.Summary(value=[value]), 6)
    w.file_writer.add_event(event_pb2.Event(summary=summary_pb2.Summary(value=[value])), 7)
    w.file_writer.add_event(event_pb2.Event(step=8, summary=summary_pb2.Summary(value=[value])))
    assert summ.int_to_half(summ.half_to_int(0.1)) == np.float32(0.1)


def purged(w, lib):
    w.add_scalar("loss", 0.5, 7)


SCENARIOS = [scalars, scalar_styles, multi_scalars, histograms, images, text_and_audio, hparams,
             curves_and_layouts, meshes_and_tensors, summary_module]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_events_match_torch(tmp_path, scenario):
    if scenario in (images, summary_module):
        pytest.importorskip("PIL")  # torch's writer encodes images with Pillow
    ours, theirs = run_both(tmp_path, scenario)
    assert list(ours) == list(theirs), "the runs (directories) differ"
    for run in theirs:
        assert len(ours[run]) == len(theirs[run]), f"{run}: event counts differ"
        for k, (a, b) in enumerate(zip(ours[run], theirs[run])):
            assert a == b, f"{run}: event {k} differs"


def test_purge_step_matches_torch(tmp_path):
    ours, theirs = run_both(tmp_path, purged, purge_step=5)
    assert ours == theirs
    assert "session_log" in ours["."][2] and "step: 5" in ours["."][2]


def test_figures_match_torch(tmp_path):
    pytest.importorskip("PIL")
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def figures(w, lib):
        for step in range(2):
            fig = plt.figure(figsize=(2, 1.5), dpi=40)
            plt.plot([0, 1, 2], [step, 2, 1])
            w.add_figure("fig", fig, step)
        w.add_figure("figs", [plt.figure(figsize=(1, 1), dpi=30) for _ in range(2)], 2)

    ours, theirs = run_both(tmp_path, figures)
    assert ours == theirs
    assert plt.get_fignums() == []  # close=True closed every figure


def test_image_with_boxes_matches_torch(tmp_path):
    pytest.importorskip("PIL")
    img = _rng().rand(3, 40, 50)

    def boxed(w, lib):
        boxes = lib.tensor([[2.0, 3.0, 20.0, 30.0], [10.0, 5.0, 45.0, 38.0]])
        w.add_image_with_boxes("boxes", img, boxes, 0, labels=["cat", "dog"])
        w.add_image_with_boxes("boxes/one", img, boxes[:1], 1, labels="cat", rescale=2)
        w.add_image_with_boxes("boxes/nolabel", img.transpose(1, 2, 0), boxes, 2,
                               dataformats="HWC", labels=["only one"])

    ours, theirs = run_both(tmp_path, boxed)
    assert ours == theirs


def test_embedding_files_match_torch(tmp_path, capsys):
    pytest.importorskip("PIL")
    from PIL import Image

    rng = _rng()
    mat = rng.randn(6, 4).astype(np.float32)
    labels = [f"w{i}" for i in range(6)]
    images = rng.rand(6, 3, 5, 4).astype(np.float32)

    def embeddings(w, lib):
        w.add_embedding(lib.tensor(mat), metadata=labels, label_img=lib.tensor(images))
        w.add_embedding(mat[:3], metadata=[["a", 1], ["b", 2], ["c", 3]],
                        metadata_header=["name", "n"], global_step=3, tag="my/tag%")
        w.add_embedding(lib.tensor(mat), global_step=3, tag="my/tag%")  # the same dir again

    run_both(tmp_path, embeddings)
    assert capsys.readouterr().out.count("Embedding dir exists") == 2  # once per writer
    theirs = sorted(os.path.relpath(p, tmp_path / "torch")
                    for p in glob.glob(str(tmp_path / "torch" / "**" / "*"), recursive=True))
    ours = sorted(os.path.relpath(p, tmp_path / "gradstep")
                  for p in glob.glob(str(tmp_path / "gradstep" / "**" / "*"), recursive=True))
    strip = [p for p in theirs if "events.out" not in p]
    assert [p for p in ours if "events.out" not in p] == strip
    assert "00003/my%2ftag%25/metadata.tsv" in strip
    for rel in strip:
        a, b = tmp_path / "gradstep" / rel, tmp_path / "torch" / rel
        if rel.endswith(".png"):
            assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
        elif a.is_file():
            assert a.read_bytes() == b.read_bytes(), rel


# ---------------------------------------------------------------------------- the file format


def test_crc32c_matches_tensorboard():
    rng = _rng()
    sizes = [0, 1, 7, 100, 1023, 16383, 16384, 16385, 40000, 100001]
    for size in sizes:
        data = rng.randint(0, 256, size).astype(np.uint8).tobytes()
        assert _event_file.crc32c(data) == tb_pywrap.crc32c(data), size
        assert _event_file.masked_crc32c(data) == tb_pywrap.masked_crc32c(data), size
    assert _event_file.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def test_file_layout_and_first_record(tmp_path):
    writer = SummaryWriter(str(tmp_path), filename_suffix=".v2")
    writer.add_scalar("x", 1.0, 0)
    writer.close()
    (path,) = event_files(str(tmp_path))
    host = re.escape(socket.gethostname())
    assert re.fullmatch(rf"events\.out\.tfevents\.\d{{10}}\.{host}\.{os.getpid()}\.\d+\.v2",
                        os.path.basename(path))
    data = open(path, "rb").read()
    length = int.from_bytes(data[:8], "little")
    first = event_pb2.Event.FromString(data[12:12 + length])
    assert first.file_version == "brain.Event:2"
    assert len(read_records(path)) == 2


def test_corrupt_record_is_detected(tmp_path):
    """The CRCs are real: flipping one data byte makes TensorBoard's reader refuse it."""
    writer = SummaryWriter(str(tmp_path))
    writer.add_scalar("x", 1.0, 0)
    writer.close()
    (path,) = event_files(str(tmp_path))
    data = bytearray(open(path, "rb").read())
    data[-6] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(errors.DataLossError):
        read_records(path)


def test_tensorboard_loaders_read_our_files(tmp_path):
    pytest.importorskip("PIL")
    writer = SummaryWriter(str(tmp_path))
    for step in range(5):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.add_histogram("w", np.arange(10.0), 5)
    writer.add_image("img", np.ones((3, 4, 4)), 5)
    writer.add_text("note", "hello", 5)
    writer.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0,
        event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [
        (s, float(np.float32(1.0 / (s + 1)))) for s in range(5)]
    (histo,) = acc.Histograms("w")
    assert (histo.step, histo.histogram_value.num, histo.histogram_value.max) == (5, 10, 9.0)
    (image,) = acc.Images("img")
    assert (image.width, image.height) == (4, 4)
    (text,) = acc.Tensors("note/text_summary")
    assert text.tensor_proto.string_val == [b"hello"]
    (path,) = event_files(str(tmp_path))
    migrated = list(EventFileLoader(path).Load())  # TensorBoard's data_compat layer
    assert len(migrated) == 9


# ---------------------------------------------------------------------------- the writer


def test_default_log_dir_like_torch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pattern = rf"runs/[A-Z][a-z]{{2}}\d{{2}}_\d{{2}}-\d{{2}}-\d{{2}}_{re.escape(socket.gethostname())}_lr0.1"
    for writer_class in (TorchWriter, SummaryWriter):
        writer = writer_class(comment="_lr0.1")
        assert re.fullmatch(pattern, writer.get_logdir()), writer.get_logdir()
        assert event_files(writer.get_logdir())
        writer.close()


def _record_count(logdir):
    return sum(len(read_records(p)) for p in event_files(logdir))


def test_buffered_until_max_queue_or_flush(tmp_path):
    writer = SummaryWriter(str(tmp_path), max_queue=3, flush_secs=10_000)
    assert _record_count(str(tmp_path)) == 1  # the file_version record, flushed at once
    writer.add_scalar("x", 1.0, 0)
    writer.add_scalar("x", 2.0, 1)
    assert _record_count(str(tmp_path)) == 1
    writer.flush()
    assert _record_count(str(tmp_path)) == 3
    for step in range(2, 5):
        writer.add_scalar("x", 1.0, step)
    assert _record_count(str(tmp_path)) == 6  # the third waiting event wrote the queue out
    writer.close()


def test_flush_secs_writes_without_further_calls(tmp_path):
    writer = SummaryWriter(str(tmp_path), flush_secs=0.05)
    writer.add_scalar("x", 1.0, 0)
    deadline = time.monotonic() + 20  # generous: the check is that it happens, not when
    while _record_count(str(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _record_count(str(tmp_path)) == 2
    writer.close()


def test_close_reopen_and_context_manager(tmp_path):
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("x", 1.0, 0)
    assert writer.all_writers is None
    writer.close()  # closing twice is allowed
    writer.flush()  # and so is flushing a closed writer
    writer.add_scalar("x", 2.0, 1)  # reopens: a new file in the same directory
    writer.add_scalars("m", {"a": 1.0}, 1)
    writer.close()
    files = [p for p in event_files(str(tmp_path)) if os.path.dirname(p) == str(tmp_path)]
    assert len(files) == 2
    values = [v.simple_value for p in files for r in read_records(p)
              for v in event_pb2.Event.FromString(r).summary.value]
    assert sorted(values) == [1.0, 2.0]


def test_walltime_given_is_kept(tmp_path):
    before = time.time()
    writer = SummaryWriter(str(tmp_path))
    writer.add_scalar("given", 1.0, 0, walltime=1234.5)
    writer.add_scalars("many", {"a": 1.0, "b": 2.0}, 0, walltime=99.25)
    writer.add_scalar("now", 1.0, 0)
    writer.close()
    stamps = {v.tag + os.path.basename(os.path.dirname(p)): e.wall_time
              for p in event_files(str(tmp_path)) for r in read_records(p)
              for e in [event_pb2.Event.FromString(r)] for v in e.summary.value}
    assert stamps["given" + tmp_path.name] == 1234.5
    assert stamps["manymany_a"] == stamps["manymany_b"] == 99.25
    assert before <= stamps["now" + tmp_path.name] <= time.time()


def test_hparams_default_run_name_is_the_time(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    before = time.time()
    writer.add_hparams({"lr": 0.1}, {"acc": 1.0})
    writer.close()
    (run,) = [d for d in os.listdir(tmp_path) if os.path.isdir(tmp_path / d)]
    assert before <= float(run) <= time.time()


def test_add_graph_warns_once_and_records_nothing(tmp_path):
    from gradstep import _warn_once

    _warn_once._given.discard("tensorboard-add-graph")
    writer = SummaryWriter(str(tmp_path))
    model = gradstep.nn.Linear(2, 1)
    with pytest.warns(UserWarning, match="graph is not recorded"):
        writer.add_graph(model, gradstep.zeros(1, 2))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        writer.add_graph(model, gradstep.zeros(1, 2))  # the second time: silent
    writer.close()
    assert _record_count(str(tmp_path)) == 1


@pytest.mark.parametrize("method, args", [("add_video", ("tag", np.zeros((1, 2, 3, 4, 4)))),
                                          ("add_onnx_graph", ("model.onnx",))])
def test_unimplemented_methods_say_so(tmp_path, method, args):
    writer = SummaryWriter(str(tmp_path))
    with pytest.raises(NotImplementedError, match=method):
        getattr(writer, method)(*args)
    writer.close()


def test_import_as_torch_module():
    """``torch.utils.tensorboard`` under the hook is this module, with torch's names."""
    import gradstep.utils.tensorboard as tb

    assert set(tb.__all__) == {"FileWriter", "RecordWriter", "SummaryWriter"}
    import inspect
    ours, theirs = inspect.signature(tb.SummaryWriter), inspect.signature(TorchWriter)
    assert list(ours.parameters) == list(theirs.parameters)
    for name in dir(TorchWriter):
        if name.startswith("add_") or name in ("flush", "close", "get_logdir"):
            theirs = inspect.signature(getattr(TorchWriter, name))
            ours = inspect.signature(getattr(tb.SummaryWriter, name))
            assert [(p.name, p.default) for p in ours.parameters.values()] == \
                [(p.name, p.default) for p in theirs.parameters.values()], name


# ---------------------------------------------------------------------------- bad inputs

BAD_INPUTS = {
    "scalar_two_elements": lambda w, lib: w.add_scalar("x", lib.tensor([1.0, 2.0])),
    "scalar_list": lambda w, lib: w.add_scalar("x", [1.0]),
    "scalar_string": lambda w, lib: w.add_scalar("x", "abc"),
    "image_rank_mismatch": lambda w, lib: w.add_image("i", lib.zeros(3, 4, 5), dataformats="HW"),
    "image_repeated_letter": lambda w, lib: w.add_image("i", lib.zeros(3, 4, 5),
                                                        dataformats="CCW"),
    "image_unknown_letters": lambda w, lib: w.add_image("i", lib.zeros(3, 4, 5),
                                                        dataformats="XYZ"),
    "image_five_channels": lambda w, lib: w.add_image("i", lib.zeros(4, 4, 5),
                                                      dataformats="HWC"),
    "images_two_channels": lambda w, lib: w.add_images("i", lib.zeros(2, 2, 4, 4)),
    "histogram_empty": lambda w, lib: w.add_histogram("h", lib.zeros(0)),
    "histogram_list": lambda w, lib: w.add_histogram("h", [1.0, 2.0]),
    "histogram_raw_lengths": lambda w, lib: w.add_histogram_raw("h", 0, 1, 2, 1, 1, [1, 2], [1]),
    "hparams_not_dict": lambda w, lib: w.add_hparams([("lr", 0.1)], {}),
    "hparams_bad_value": lambda w, lib: w.add_hparams({"lr": [0.1]}, {}),
    "hparams_bad_domain": lambda w, lib: w.add_hparams({"o": "adam"}, {},
                                                       hparam_domain_discrete={"o": [1]}),
    "marginchart_two_tags": lambda w, lib: w.add_custom_scalars_marginchart(["a", "b"]),
    "text_not_str": lambda w, lib: w.add_text("t", 5),
    "audio_two_d": lambda w, lib: w.add_audio("a", lib.zeros(2, 10)),
    "mesh_two_d": lambda w, lib: w.add_mesh("m", lib.zeros(4, 3)),
    "embedding_one_d": lambda w, lib: w.add_embedding(lib.zeros(5)),
    "embedding_labels": lambda w, lib: w.add_embedding(lib.zeros(5, 2), metadata=["a"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_raise_like_torch(tmp_path, case):
    if case.startswith("image"):
        pytest.importorskip("PIL")  # torch's writer fails inside Pillow for some
    with pytest.raises(Exception) as theirs:  # noqa: B017 (the type is what is compared)
        with TorchWriter(str(tmp_path / "torch")) as w:
            BAD_INPUTS[case](w, torch)
    with SummaryWriter(str(tmp_path / "gradstep")) as w:
        with pytest.raises(type(theirs.value)) as ours:
            BAD_INPUTS[case](w, gradstep)
    assert str(ours.value), "the error must say what is wrong"


# ---------------------------------------------------------------------------- a program

PROGRAM = """
import sys
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.05)
rng = np.random.RandomState(0)
x = torch.tensor(rng.randn(64, 3), dtype=torch.float32)
y = torch.sin(x.sum(1, keepdim=True))
writer = SummaryWriter(sys.argv[1])
for step in range(23):
    loss = F.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    writer.add_scalar("train/loss", loss.item(), step)
    writer.add_scalar("train/loss_tensor", loss, step)
    print(f"step {step} loss {loss.item()!r}")
writer.add_histogram("weights/0", model[0].weight, 23)
writer.add_text("done", "trained", 23)
# no writer.close(): what is still buffered must reach the file at exit
"""


def test_program_under_gradstep_run_keeps_every_scalar(tmp_path):
    script = tmp_path / "train_tb.py"
    script.write_text(textwrap.dedent(PROGRAM))
    logdir = tmp_path / "runs" / "exp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", "gradstep", "run", str(script), str(logdir)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = [float(v) for v in re.findall(r"loss (\S+)", proc.stdout)]
    assert len(printed) == 23
    events = [event_pb2.Event.FromString(r) for p in event_files(str(logdir))
              for r in read_records(p)]
    by_tag = {}
    for event in events:
        for value in event.summary.value:
            by_tag.setdefault(value.tag, []).append((event.step, value))
    expected = [(s, float(np.float32(v))) for s, v in enumerate(printed)]
    for tag in ("train/loss", "train/loss_tensor"):
        assert [(s, v.simple_value) for s, v in by_tag[tag]] == expected, tag
    assert [s for s, _ in by_tag["weights/0"]] == [23]
    assert by_tag["weights/0"][0][1].histo.num == 24
    assert by_tag["done/text_summary"][0][1].tensor.string_val == [b"trained"]
    assert printed[-1] < printed[0]  # it trained
