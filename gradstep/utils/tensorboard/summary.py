"""``torch.utils.tensorboard.summary``: TensorBoard ``Summary`` messages, encoded by hand.

torch builds these with the protobuf classes of the ``tensorboard`` package; here each
builder returns the encoded message as ``bytes`` (``Summary``, or ``Summary.Image``/
``HistogramProto`` for ``make_image``/``make_histogram``). ``FileWriter.add_summary`` takes
them as they are, so ``writer.file_writer.add_summary(hparams(...)[0])`` works as in torch;
code that reads fields of the returned protobuf objects does not. Field numbers are those of
TensorBoard's ``summary.proto``, ``tensor.proto``, ``histogram.proto`` and the plugins'
``plugin_data.proto``/``api.proto``/``layout.proto``.
"""

from __future__ import annotations

import io
import json
import struct
import wave

import numpy as np

from . import _image
from ._proto import (
    field_bytes,
    field_double,
    field_float,
    field_message,
    field_packed_doubles,
    field_packed_floats,
    field_packed_varints,
    field_repeated_bytes,
    field_varint,
)

__all__ = ["half_to_int", "int_to_half", "hparams", "scalar", "histogram_raw", "histogram",
           "make_histogram", "image", "image_boxes", "make_image", "video", "make_video",
           "audio", "custom_scalars", "text", "tensor_proto", "pr_curve_raw", "pr_curve",
           "compute_curve", "mesh"]

# tensorboard.DataType
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_INT64, DT_BOOL, DT_BFLOAT16, DT_HALF = 9, 10, 14, 19


def to_numpy(x) -> np.ndarray:
    """torch's ``make_np``: arrays as they are, Python/NumPy scalars as 1-element arrays,
    tensors detached to NumPy (bfloat16 through float16, as torch does)."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        array = np.asarray(x.detach().cpu().numpy())
        if array.dtype.name == "bfloat16":
            array = array.astype(np.float16)
        return array
    raise NotImplementedError(f"Got {type(x)}, but numpy array or torch tensor are expected.")


# ---------------------------------------------------------------------------- messages


def summary_message(*values: bytes) -> bytes:
    """A ``Summary`` of encoded ``Summary.Value``s."""
    return field_repeated_bytes(1, values)


def summary_value(tag, *, simple_value=None, image=None, histo=None, audio=None, tensor=None,
                  metadata=None) -> bytes:
    """A ``Summary.Value``; simple_value/image/histo/audio/tensor are its oneof."""
    parts = [field_bytes(1, tag)]
    if simple_value is not None:
        parts.append(field_float(2, simple_value, keep_default=True))
    for number, message in ((4, image), (5, histo), (6, audio), (8, tensor), (9, metadata)):
        if message is not None:
            parts.append(field_message(number, message))
    return b"".join(parts)


def summary_metadata(plugin_name, content=b"", display_name=None, description=None) -> bytes:
    plugin_data = field_bytes(1, plugin_name) + field_bytes(2, content)
    return (field_message(1, plugin_data) + field_bytes(2, display_name)
            + field_bytes(3, description))


def tensor_shape(dims) -> bytes:
    return field_repeated_bytes(2, [field_varint(1, d) for d in dims])


def tensor_message(dtype, shape=None, *, float_val=(), double_val=(), int_val=(),
                   string_val=(), int64_val=(), bool_val=(), half_val=(), uint32_val=()):
    """A ``TensorProto``; ``shape=None`` leaves tensor_shape unset, ``()`` sets it empty."""
    return b"".join([
        field_varint(1, dtype),
        field_message(2, tensor_shape(shape)) if shape is not None else b"",
        field_packed_floats(5, float_val), field_packed_doubles(6, double_val),
        field_packed_varints(7, int_val), field_repeated_bytes(8, string_val),
        field_packed_varints(10, int64_val), field_packed_varints(11, bool_val),
        field_packed_varints(13, half_val), field_packed_varints(16, uint32_val),
    ])


# ---------------------------------------------------------------------------- scalars


def scalar(name, tensor, collections=None, new_style=False, double_precision=False) -> bytes:
    """One value: old style ``simple_value`` (float32), or new style a ``TensorProto``
    (float32, or float64 with ``double_precision``) for the scalars plugin."""
    array = to_numpy(tensor).squeeze()
    if array.ndim != 0:
        raise AssertionError(
            f"Tensor should contain one element (0 dimensions). Was given size: {array.size} "
            f"and {array.ndim} dimensions.")
    number = float(array)
    if not new_style:
        return summary_message(summary_value(name, simple_value=number))
    if double_precision:
        tensor = tensor_message(DT_DOUBLE, double_val=[number])
    else:
        tensor = tensor_message(DT_FLOAT, float_val=[number])
    return summary_message(summary_value(name, tensor=tensor,
                                         metadata=summary_metadata("scalars")))


def half_to_int(f: float) -> int:
    """torch's encoding of half_val: the value's float32 bit pattern as an int32 (sic)."""
    return struct.unpack("i", struct.pack("f", f))[0]


def int_to_half(i: int) -> float:
    return struct.unpack("f", struct.pack("i", i))[0]


def _float32_bits(array):
    """``half_to_int`` of every element."""
    return array.astype(np.float32).view(np.int32).reshape(-1)


_TENSOR_DTYPES = {  # numpy dtype name -> (DataType, TensorProto field, converter)
    "float16": (DT_HALF, "half_val", _float32_bits),
    "bfloat16": (DT_BFLOAT16, "half_val", _float32_bits),
    "float32": (DT_FLOAT, "float_val", np.ravel),
    "float64": (DT_DOUBLE, "double_val", np.ravel),
    "int8": (DT_INT8, "int_val", np.ravel),
    "uint8": (DT_UINT8, "uint32_val", np.ravel),
    "int16": (DT_INT16, "int_val", np.ravel),
    "int32": (DT_INT32, "int_val", np.ravel),
    "int64": (DT_INT64, "int64_val", np.ravel),
    "bool": (DT_BOOL, "bool_val", np.ravel),
}


def tensor_proto(tag, tensor) -> bytes:
    """The whole tensor in a ``TensorProto`` (``add_tensor``)."""
    array = np.asarray(tensor.detach().cpu().numpy())
    if array.nbytes >= 1 << 31:
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if array.dtype.name not in _TENSOR_DTYPES:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, field, convert = _TENSOR_DTYPES[array.dtype.name]
    proto = tensor_message(dtype, array.shape, **{field: convert(array)})
    return summary_message(summary_value(tag, tensor=proto, metadata=summary_metadata("tensor")))


# ---------------------------------------------------------------------------- histograms


def histogram_message(min, max, num, sum, sum_squares, bucket_limits, bucket_counts) -> bytes:
    return b"".join([
        field_double(1, min), field_double(2, max), field_double(3, num), field_double(4, sum),
        field_double(5, sum_squares), field_packed_doubles(6, bucket_limits),
        field_packed_doubles(7, bucket_counts)])


def histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    limits = [float(v) for v in _flat(bucket_limits)]
    counts = [float(v) for v in _flat(bucket_counts)]
    histo = histogram_message(float(min), float(max), float(num), float(sum),
                              float(sum_squares), limits, counts)
    return summary_message(summary_value(tag, histo=histo))


def _flat(values):
    if isinstance(values, (list, tuple)):
        return values
    return to_numpy(values).reshape(-1).tolist()


def histogram(tag, values, bins, max_bins=None) -> bytes:
    values = to_numpy(values).astype(float)
    return summary_message(summary_value(tag, histo=make_histogram(values, bins, max_bins)))


def make_histogram(values, bins, max_bins=None) -> bytes:
    """TensorBoard's histogram of ``values`` with NumPy's binning: only the span from the
    first to the last non-empty bucket is kept, plus one bucket on its left (TensorBoard
    stores right edges only, so that bucket's edge is the leftmost edge)."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        counts, limits = _merge_buckets(counts, limits, len(counts) // max_bins)
    filled = np.flatnonzero(counts)
    if filled.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    first, last = int(filled[0]), int(filled[-1])
    if first > 0:
        counts = counts[first - 1:last + 1]
    else:
        counts = np.concatenate([[0], counts[:last + 1]])
    limits = limits[first:last + 2]
    return histogram_message(values.min(), values.max(), len(values), values.sum(),
                             values.dot(values), limits.tolist(), counts.tolist())


def _merge_buckets(counts, limits, group):
    """Every ``group`` neighbouring buckets merged into one (the last may be partial)."""
    remainder = len(counts) % group
    if remainder:
        counts = np.pad(counts, (0, group - remainder))
    counts = counts.reshape(-1, group).sum(axis=-1)
    merged = np.empty(counts.size + 1, limits.dtype)
    merged[:-1] = limits[:-1:group]
    merged[-1] = limits[-1]
    return counts, merged


# ---------------------------------------------------------------------------- images


def make_image(tensor, rescale=1, rois=None, labels=None) -> bytes:
    """A ``Summary.Image`` of an HxWxC uint8 array: its size and channels, and its PNG;
    boxes (``rois``) and a ``rescale`` other than 1 are drawn/resized with Pillow."""
    height, width, channels = tensor.shape
    shown = tensor
    if rois is not None or rescale != 1:
        boxes = np.zeros((0, 4)) if rois is None else rois
        shown = _image.draw_boxes(tensor, boxes, labels, rescale)
    return (field_varint(1, height) + field_varint(2, width) + field_varint(3, channels)
            + field_bytes(4, _image.encode_png(shown)))


def image(tag, tensor, rescale=1, dataformats="NCHW") -> bytes:
    pixels = _image.to_uint8(_image.convert_to_hwc(to_numpy(tensor), dataformats))
    return summary_message(summary_value(tag, image=make_image(pixels, rescale=rescale)))


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    pixels = _image.to_uint8(_image.convert_to_hwc(to_numpy(tensor_image), dataformats))
    image_bytes = make_image(pixels, rescale, rois=to_numpy(tensor_boxes), labels=labels)
    return summary_message(summary_value(tag, image=image_bytes))


def video(tag, tensor, fps=4):
    raise NotImplementedError(
        "SummaryWriter.add_video (summary.video) is not implemented in gradstep (torch encodes "
        "the frames as a GIF with moviepy); log frames with add_images instead")


make_video = video


# ---------------------------------------------------------------------------- text, audio


def text(tag, text) -> bytes:
    tensor = tensor_message(DT_STRING, [1], string_val=[text.encode("utf_8")])
    return summary_message(summary_value(tag + "/text_summary", tensor=tensor,
                                 metadata=summary_metadata("text")))


def audio(tag, tensor, sample_rate=44100) -> bytes:
    """Mono 16-bit WAV of samples in [-1, 1] (louder ones clipped, with torch's warning)."""
    samples = to_numpy(tensor).squeeze()
    if abs(samples).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        samples = samples.clip(-1, 1)
    if samples.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    samples = (samples * np.iinfo(np.int16).max).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.tobytes())
    message = b"".join([
        field_float(1, sample_rate), field_varint(2, 1), field_varint(3, samples.shape[-1]),
        field_bytes(4, buffer.getvalue()), field_bytes(5, "audio/wav")])
    return summary_message(summary_value(tag, audio=message))


# ---------------------------------------------------------------------------- hparams

HPARAMS_PLUGIN = "hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"
_HP_STRING, _HP_BOOL, _HP_FLOAT64 = 1, 2, 3  # hparams.DataType
_STATUS_SUCCESS = 1


def _struct_value(kind, value) -> bytes:
    """A ``google.protobuf.Value`` (a oneof: the set member is written even when falsy)."""
    if kind == "number":
        return field_double(2, float(value), keep_default=True)
    if kind == "string":
        return field_bytes(3, value, keep_default=True)
    return field_varint(4, bool(value), keep_default=True)


def _hparam_kind(value):
    """torch's order of checks: int/float first, so a bool is logged as a number."""
    if isinstance(value, (int, float)):
        return "number", _HP_FLOAT64
    if isinstance(value, str):
        return "string", _HP_STRING
    if isinstance(value, bool):
        return "bool", _HP_BOOL
    if hasattr(value, "detach"):
        return "tensor", _HP_FLOAT64
    raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")


def _check_hparam_domains(hparam_dict, domains):
    if not isinstance(domains, dict):
        raise TypeError(
            "parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for name, choices in domains.items():
        if (name not in hparam_dict or not isinstance(choices, list)
                or not all(isinstance(c, type(hparam_dict[name])) for c in choices)):
            raise TypeError(f"parameter: hparam_domain_discrete[{name}] should be a list of "
                            f"same type as hparam_dict[{name}].")


def _hparams_summary(tag, data_field, message) -> bytes:
    """A ``HParamsPluginData`` (version 0) holding ``message`` in its oneof ``data_field``."""
    content = field_message(data_field, message)
    return summary_message(summary_value(tag, metadata=summary_metadata(HPARAMS_PLUGIN, content)))


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    """The hparams plugin's three summaries: experiment, session start, session end."""
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    _check_hparam_domains(hparam_dict, domains)
    infos, entries = [], []
    for name, value in hparam_dict.items():
        if value is None:
            continue
        kind, data_type = _hparam_kind(value)
        domain = None
        if kind == "tensor":
            kind, value = "number", to_numpy(value)[0]
        elif name in domains:
            domain = field_repeated_bytes(1, [_struct_value(kind, d) for d in domains[name]])
        entries.append(field_bytes(1, name) + field_message(2, _struct_value(kind, value)))
        infos.append(field_bytes(1, name) + field_varint(4, data_type)
                     + (field_message(5, domain) if domain is not None else b""))
    metrics = [field_message(1, field_bytes(2, name)) for name in metric_dict]
    experiment = field_repeated_bytes(4, infos) + field_repeated_bytes(5, metrics)
    start = field_repeated_bytes(1, entries)
    end = field_varint(1, _STATUS_SUCCESS)
    return (_hparams_summary(EXPERIMENT_TAG, 2, experiment),
            _hparams_summary(SESSION_START_INFO_TAG, 3, start),
            _hparams_summary(SESSION_END_INFO_TAG, 4, end))


# ---------------------------------------------------------------------------- PR curves


def _pr_curve_summary(tag, data, num_thresholds) -> bytes:
    content = field_varint(2, num_thresholds)  # PrCurvePluginData(version=0, num_thresholds)
    tensor = tensor_message(DT_FLOAT, data.shape, float_val=data.reshape(-1))
    return summary_message(summary_value(tag, tensor=tensor,
                                 metadata=summary_metadata("pr_curves", content)))


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    num_thresholds = min(num_thresholds, 127)  # torch's cap
    data = np.stack([np.asarray(_flat(v), dtype=np.float64)
                     for v in (tp, fp, tn, fn, precision, recall)])
    return _pr_curve_summary(tag, data, num_thresholds)


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    num_thresholds = min(num_thresholds, 127)
    data = compute_curve(labels, predictions, num_thresholds, weights)
    return _pr_curve_summary(tag, data, num_thresholds)


def compute_curve(labels, predictions, num_thresholds=None, weights=None,
                  minimum_count=1e-7):
    """Rows tp, fp, tn, fn, precision, recall at ``num_thresholds`` evenly spaced thresholds
    (TensorBoard's pr_curve summary): predictions are bucketed by threshold, then counts
    are accumulated from the highest threshold down."""
    weights = 1.0 if weights is None else weights
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    positive = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=positive * weights)
    fp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=(1.0 - positive) * weights)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


# ---------------------------------------------------------------------------- custom scalars


def _chart(title, spec) -> bytes:
    kind, tags = spec[0], spec[1]
    if kind == "Margin":
        if len(tags) != 3:
            raise AssertionError("len(tags) != 3")
        series = field_bytes(1, tags[0]) + field_bytes(2, tags[1]) + field_bytes(3, tags[2])
        return field_bytes(1, title) + field_message(3, field_message(1, series))
    return field_bytes(1, title) + field_message(2, field_repeated_bytes(1, tags))


def custom_scalars(layout) -> bytes:
    """The custom-scalars plugin's layout: {category: {chart title: [kind, tags]}}."""
    categories = []
    for title, charts in layout.items():
        chart_bytes = [_chart(name, spec) for name, spec in charts.items()]
        categories.append(field_bytes(1, title) + field_repeated_bytes(2, chart_bytes))
    layout_bytes = field_repeated_bytes(2, categories)
    tensor = tensor_message(DT_STRING, (), string_val=[layout_bytes])
    return summary_message(summary_value("custom_scalars__config__", tensor=tensor,
                                 metadata=summary_metadata("custom_scalars")))


# ---------------------------------------------------------------------------- meshes

_MESH_PARTS = (("VERTEX", 1), ("FACE", 2), ("COLOR", 3))  # MeshPluginData.ContentType


def mesh(tag, vertices, colors, faces, config_dict, display_name=None, description=None):
    """One summary value per given part (vertices, faces, colors), each a BxNx3 float
    tensor tagged ``<tag>_VERTEX`` etc., as TensorBoard's mesh plugin reads them."""
    json_config = "{}" if config_dict is None else json.dumps(config_dict, sort_keys=True)
    given = [(data, name, number) for data, (name, number)
             in zip((vertices, faces, colors), _MESH_PARTS) if data is not None]
    components = 0
    for _, _, number in given:
        components |= 1 << number
    values = []
    for data, name, number in given:
        array = np.asarray(data) if isinstance(data, (list, tuple)) else to_numpy(data)
        if array.ndim != 3:
            raise ValueError(f"Tensor shape should be of shape BxNx3, but got {array.shape}.")
        content = b"".join([field_bytes(2, tag), field_varint(3, number),
                            field_bytes(5, json_config), field_packed_varints(6, array.shape),
                            field_varint(7, components)])
        metadata = summary_metadata("mesh", content, display_name, description)
        tensor = tensor_message(DT_FLOAT, array.shape,
                                float_val=array.reshape(-1).astype(np.float64))
        values.append(summary_value(f"{tag}_{name}", tensor=tensor, metadata=metadata))
    return summary_message(*values)
