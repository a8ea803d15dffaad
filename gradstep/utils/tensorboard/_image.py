"""Images for TensorBoard: layout to HWC, grids of batches, and PNG encoding with zlib.

PNG (RFC 2083): the signature, an IHDR chunk (size, bit depth 8, colour type), one IDAT chunk
holding the zlib-compressed rows (each row prefixed with filter type 0, "None"), and IEND.
Each chunk is ``length | type | data | crc32(type + data)``.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> grey, grey+alpha, RGB, RGBA


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an HxWxC uint8 array, C in 1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    if pixels.dtype != np.uint8 or channels not in _COLOUR_TYPE:
        raise TypeError(f"Cannot handle this data type: {(1, 1, channels)}, {pixels.dtype.str}: "
                        "an image needs 1, 2, 3 or 4 channels of uint8")
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[channels], 0, 0, 0)
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # column 0: filter "None"
    rows[:, 1:] = np.ascontiguousarray(pixels).reshape(height, width * channels)
    return (_PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def make_grid(images: np.ndarray, ncols=8) -> np.ndarray:
    """N images (N1HW or N3HW) tiled row by row into one 3xH'xW' canvas, ``ncols`` across."""
    if not isinstance(images, np.ndarray):
        raise AssertionError("plugin error, should pass numpy array here")
    if images.shape[1] == 1:
        images = np.concatenate([images, images, images], 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    count, _, height, width = images.shape
    ncols = min(count, ncols)
    nrows = -(-count // ncols)
    canvas = np.zeros((3, height * nrows, width * ncols), dtype=images.dtype)
    for index in range(count):
        row, col = divmod(index, ncols)
        canvas[:, row * height:(row + 1) * height, col * width:(col + 1) * width] = images[index]
    return canvas


def convert_to_hwc(array: np.ndarray, dataformats: str) -> np.ndarray:
    """An image array laid out as ``dataformats`` (NCHW, CHW, HWC, HW, ... in any order)
    as one HxWx3 (or x4) array; batches become a grid, one channel becomes three."""
    if len(set(dataformats)) != len(dataformats):
        raise AssertionError(
            f"You can not use the same dimension shorthand twice. input_format: {dataformats}")
    if array.ndim != len(dataformats):
        raise AssertionError(
            f"size of input tensor and input format are different. tensor shape: "
            f"{array.shape}, input_format: {dataformats}")
    dataformats = dataformats.upper()
    wanted = {4: "NCHW", 3: "HWC", 2: "HW"}.get(len(dataformats))
    if wanted is None:
        raise ValueError(f"dataformats {dataformats!r} must have 2, 3 or 4 letters "
                         "(HW, CHW/HWC, NCHW/NHWC)")
    order = [dataformats.find(letter) for letter in wanted]
    if -1 in order:
        raise ValueError(f"dataformats {dataformats!r} must be made of the letters of "
                         f"{wanted!r} for a {len(wanted)}-d image")
    array = array.transpose(order)
    if len(wanted) == 4:
        return make_grid(array).transpose(1, 2, 0)
    if len(wanted) == 3:
        return np.concatenate([array] * 3, 2) if array.shape[2] == 1 else array
    return np.stack([array, array, array], 2)


def to_uint8(array: np.ndarray) -> np.ndarray:
    """torch's rule: uint8 is kept, anything else is taken to be in [0, 1] and scaled by 255;
    then clipped to [0, 255] and truncated to uint8."""
    scale = 1 if array.dtype == np.uint8 else 255
    return (array.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)


def figure_to_image(figures, close=True) -> np.ndarray:
    """A matplotlib figure rendered with Agg as a 3xHxW uint8 array (a list: Nx3xHxW)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def render(figure):
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        width, height = figure.canvas.get_width_height()
        rgba = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8).reshape(height, width, 4)
        if close:
            plt.close(figure)
        return np.moveaxis(rgba[:, :, :3], 2, 0)

    if isinstance(figures, list):
        return np.stack([render(figure) for figure in figures])
    return render(figures)


def draw_boxes(pixels: np.ndarray, boxes: np.ndarray, labels=None, rescale=1) -> np.ndarray:
    """``add_image_with_boxes``: red xyxy boxes, 2 pixels wide, each with its label on a red
    band inside its bottom edge, drawn with Pillow (torch's drawing, hence its pixels); then
    the image resized by ``rescale`` (Lanczos)."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as e:
        raise ImportError("SummaryWriter.add_image_with_boxes draws the boxes with Pillow, "
                          "as torch does: pip install pillow") from e
    picture = Image.fromarray(pixels)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    for index, (left, top, right, bottom) in enumerate(boxes[:, :4].tolist()):
        draw.line([(left, top), (left, bottom), (right, bottom), (right, top), (left, top)],
                  width=2, fill="Red")
        label = None if labels is None else labels[index]
        if label:
            x0, y0, x1, y1 = font.getbbox(label)
            text_width, text_height = x1 - x0, y1 - y0
            margin = np.ceil(0.05 * text_height)
            draw.rectangle([(left, bottom - text_height - 2 * margin),
                            (left + text_width, bottom)], fill="Red")
            draw.text((left + margin, bottom - text_height - margin), label, fill="black",
                      font=font)
    height, width = pixels.shape[:2]
    size = (int(width * rescale), int(height * rescale))
    return np.asarray(picture.resize(size, Image.Resampling.LANCZOS))
