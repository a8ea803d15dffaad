"""``torch.utils.tensorboard.SummaryWriter``: TensorBoard event files without the
``tensorboard`` package.

The API, argument names, defaults, directory and file naming follow torch's writer; the
summaries are encoded by hand (``_summary``/``_proto``) and framed as TFRecords
(``_event_file``). What differs from torch:

- ``add_graph`` records nothing (gradstep has no tracer): it warns once and returns.
- ``add_video`` and ``add_onnx_graph`` raise ``NotImplementedError`` (GIF encoding needs
  moviepy in torch; ONNX graphs need onnx).
- ``add_image_with_boxes`` draws with Pillow and needs it installed, as torch does.
- Events go to the file from an in-memory buffer instead of torch's writer thread: on
  ``max_queue`` waiting events, ``flush_secs`` after the first waiting one, on
  ``flush()``/``close()`` and at interpreter exit.
- Log directories are local paths (no ``s3://``/``gs://``).
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime

import numpy as np

from ..._warn_once import warn_once
from . import _embedding, _image
from . import summary as _summary
from ._event_file import SESSION_LOG_START, EventFileWriter, encode_event
from ._proto import field_double, field_varint

__all__ = ["FileWriter", "SummaryWriter"]


def _tensorflow_bins():
    """torch's default histogram edges: +-1e-12 * 1.1**k up to 1e20, and 0 between."""
    edges, v = [], 1e-12
    while v < 1e20:
        edges.append(v)
        v *= 1.1
    return np.array([-e for e in reversed(edges)] + [0] + edges)


_DEFAULT_BINS = _tensorflow_bins()


def _serialized(message) -> bytes:
    """Encoded bytes, or a protobuf message (from the ``tensorboard`` package) serialized."""
    return message if isinstance(message, (bytes, bytearray)) else message.SerializeToString()


class FileWriter:
    """Writes events to one event file in ``log_dir`` (torch's ``FileWriter``).

    ``add_summary`` takes an encoded ``Summary`` (``bytes``) or a protobuf ``Summary``;
    ``add_event`` an encoded ``Event`` or a protobuf ``Event``.
    """

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        log_dir = str(log_dir)
        self._args = (log_dir, max_queue, flush_secs, filename_suffix)
        self.event_writer = EventFileWriter(log_dir, max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None):
        walltime = time.time() if walltime is None else walltime
        if not isinstance(event, (bytes, bytearray)):
            event.wall_time = walltime
            if step is not None:
                event.step = int(step)
            self.event_writer.add_event(event.SerializeToString())
            return
        # a later occurrence of a scalar field wins when protobuf parses
        stamp = field_double(1, walltime, keep_default=True)
        if step is not None:
            stamp += field_varint(2, int(step), keep_default=True)
        self.event_writer.add_event(bytes(event) + stamp)

    def add_summary(self, summary, global_step=None, walltime=None):
        walltime = time.time() if walltime is None else walltime
        step = None if global_step is None else int(global_step)
        self.event_writer.add_event(encode_event(walltime, step, summary=_serialized(summary)))

    def add_graph(self, graph_profile, walltime=None):
        raise NotImplementedError("FileWriter.add_graph: gradstep does not record model graphs")

    def add_onnx_graph(self, graph, walltime=None):
        raise NotImplementedError(
            "FileWriter.add_onnx_graph: gradstep does not record ONNX graphs")

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()

    def reopen(self):
        """After ``close()``: continue in a new event file in the same directory."""
        if self.event_writer.closed:
            self.event_writer = EventFileWriter(*self._args)


class SummaryWriter:
    """Writes entries to event files in ``log_dir`` for TensorBoard (torch's API)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = _DEFAULT_BINS

    def _get_file_writer(self):
        """The default FileWriter, made anew after ``close()``."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step, self.purge_step = self.purge_step, None
                self.file_writer.add_event(encode_event(0.0, step, file_version="brain.Event:2"))
                self.file_writer.add_event(
                    encode_event(0.0, step, session_log_status=SESSION_LOG_START))
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    def _add(self, summary, global_step=None, walltime=None):
        self._get_file_writer().add_summary(summary, global_step, walltime)

    # -------------------------------------------------------------------- scalars

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._add(_summary.scalar(tag, scalar_value, new_style=new_style,
                                  double_precision=double_precision), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each scalar goes to its own run, ``<log_dir>/<main_tag>_<tag>``, under ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        logdir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            run = logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(run)
            if writer is None:
                writer = FileWriter(run, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[run] = writer
            writer.add_summary(_summary.scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        self._add(_summary.tensor_proto(tag, tensor), global_step, walltime)

    # -------------------------------------------------------------------- histograms

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._add(_summary.histogram(tag, values, bins, max_bins=max_bins), global_step,
                  walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None):
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._add(_summary.histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits,
                                         bucket_counts), global_step, walltime)

    # -------------------------------------------------------------------- images

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._add(_summary.image(tag, img_tensor, dataformats=dataformats), global_step,
                  walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self._add(_summary.image(tag, img_tensor, dataformats=dataformats), global_step,
                  walltime)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None, walltime=None,
                             rescale=1, dataformats="CHW", labels=None):
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        self._add(_summary.image_boxes(tag, img_tensor, box_tensor, rescale=rescale,
                                       dataformats=dataformats, labels=labels),
                  global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of them) rendered to an image (needs matplotlib)."""
        layout = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(tag, _image.figure_to_image(figure, close), global_step, walltime,
                       dataformats=layout)

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        self._add(_summary.video(tag, vid_tensor, fps), global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        self._add(_summary.audio(tag, snd_tensor, sample_rate=sample_rate), global_step,
                  walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._add(_summary.text(tag, text_string), global_step, walltime)

    # -------------------------------------------------------------------- graphs

    def add_onnx_graph(self, prototxt):
        raise NotImplementedError(
            "SummaryWriter.add_onnx_graph is not implemented in gradstep (it needs onnx)")

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Accepted and ignored: torch records the graph by tracing with ``torch.jit``, and
        gradstep has no tracer."""
        warn_once("tensorboard-add-graph",
                  "SummaryWriter.add_graph: gradstep has no tracer, so the model graph is not "
                  "recorded; the other summaries are written as usual")

    # -------------------------------------------------------------------- hparams, curves

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None,
                    run_name=None, global_step=None):
        """Hyperparameters and their metrics, in the run ``<log_dir>/<run_name>`` (default:
        the current time), for TensorBoard's HParams tab."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        summaries = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_name = run_name or str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as run:
            for message in summaries:
                run.file_writer.add_summary(message, global_step)
            for name, value in metric_dict.items():
                run.add_scalar(name, value, global_step)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        labels, predictions = _summary.to_numpy(labels), _summary.to_numpy(predictions)
        self._add(_summary.pr_curve(tag, labels, predictions, num_thresholds, weights),
                  global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step=None, num_thresholds=127, weights=None, walltime=None):
        self._add(_summary.pr_curve_raw(tag, true_positive_counts, false_positive_counts,
                                        true_negative_counts, false_negative_counts, precision,
                                        recall, num_thresholds, weights), global_step, walltime)

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_custom_scalars(self, layout):
        self._add(_summary.custom_scalars(layout))

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None,
                 global_step=None, walltime=None):
        self._add(_summary.mesh(tag, vertices, colors, faces, config_dict), global_step,
                  walltime)

    # -------------------------------------------------------------------- embeddings

    @staticmethod
    def _encode(rawstr):
        """A tag made safe as one directory name: %, / and \\ percent-encoded."""
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag="default", metadata_header=None):
        """The projector's files: ``<log_dir>/<step:05d>/<tag>/`` and
        ``projector_config.pbtxt`` (see ``_embedding``)."""
        mat = _summary.to_numpy(mat)
        global_step = 0 if global_step is None else global_step
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        logdir = self._get_file_writer().get_logdir()
        save_path = os.path.join(logdir, subdir)
        if os.path.isdir(save_path):
            print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
        elif os.path.exists(save_path):
            raise NotADirectoryError(f"Path: `{save_path}` exists, but is a file. Cannot proceed.")
        else:
            os.makedirs(save_path)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            _embedding.write_tsv(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            _embedding.write_sprite(label_img, save_path)
        if mat.ndim != 2:
            raise AssertionError(
                "mat should be 2D, where mat.size(0) is the number of data points")
        _embedding.write_matrix(mat, save_path)
        if not hasattr(self, "_projector_config"):
            self._projector_config = []
        self._projector_config.append(
            _embedding.embedding_info(metadata, label_img, subdir, global_step, tag))
        _embedding.write_projector_config(logdir, self._projector_config)

    # -------------------------------------------------------------------- lifetime

    def flush(self):
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self):
        if self.all_writers is None:
            return  # closing twice is allowed
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
