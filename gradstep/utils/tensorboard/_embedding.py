"""The embedding projector's files, as ``SummaryWriter.add_embedding`` writes them.

Under ``<logdir>/<step:05d>/<tag>/``: ``tensors.tsv`` (one row per point), ``metadata.tsv``
(labels), ``sprite.png`` (the label images tiled in a square); and ``<logdir>/
projector_config.pbtxt``, the ``ProjectorConfig`` message in protobuf text format listing
every embedding added so far.
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import _image
from .summary import to_numpy


def write_tsv(metadata, save_path, metadata_header=None):
    if not metadata_header:
        lines = [str(label) for label in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError(
                "len of header must be equal to the number of columns in metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def write_sprite(label_img, save_path):
    """The N label images tiled ceil(sqrt(N)) across, on a square black canvas."""
    images = to_numpy(label_img)
    per_row = math.ceil(images.shape[0] ** 0.5)
    grid = _image.make_grid(images, ncols=per_row).transpose(1, 2, 0)
    side = grid.shape[1]
    square = np.zeros((side, side, 3))
    square[:grid.shape[0]] = grid
    pixels = np.uint8((square * 255).clip(0, 255))
    with open(os.path.join(save_path, "sprite.png"), "wb") as f:
        f.write(_image.encode_png(pixels))


def write_matrix(mat, save_path):
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        for row in mat:
            f.write(("\t".join(str(v.item()) for v in row) + "\n").encode("utf-8"))


def embedding_info(metadata, label_img, subdir, global_step, tag) -> dict:
    info = {"tensor_name": f"{tag}:{str(global_step).zfill(5)}",
            "tensor_path": os.path.join(subdir, "tensors.tsv")}
    if metadata is not None:
        info["metadata_path"] = os.path.join(subdir, "metadata.tsv")
    if label_img is not None:
        shape = to_numpy(label_img).shape
        info["sprite"] = {"image_path": os.path.join(subdir, "sprite.png"),
                          "single_image_dim": [shape[3], shape[2]]}
    return info


def _text_string(value: str) -> str:
    """A string in protobuf text format: quoted, with C escapes for quotes, backslashes and
    control characters (octal), other characters as they are."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "'": "\\'", "\\": "\\\\"}
    out = []
    for ch in value:
        if ch in named:
            out.append(named[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def projector_config_text(infos) -> str:
    """``ProjectorConfig{embeddings: [...]}`` in text format, fields in field-number order
    (tensor_name 1, metadata_path 2, sprite 5, tensor_path 6)."""
    lines = []
    for info in infos:
        lines.append("embeddings {")
        lines.append(f"  tensor_name: {_text_string(info['tensor_name'])}")
        if "metadata_path" in info:
            lines.append(f"  metadata_path: {_text_string(info['metadata_path'])}")
        if "sprite" in info:
            lines.append("  sprite {")
            lines.append(f"    image_path: {_text_string(info['sprite']['image_path'])}")
            lines.extend(f"    single_image_dim: {d}" for d in info["sprite"]["single_image_dim"])
            lines.append("  }")
        lines.append(f"  tensor_path: {_text_string(info['tensor_path'])}")
        lines.append("}")
    return "".join(line + "\n" for line in lines)


def write_projector_config(logdir, infos):
    with open(os.path.join(logdir, "projector_config.pbtxt"), "wb") as f:
        f.write(projector_config_text(infos).encode("utf-8"))
