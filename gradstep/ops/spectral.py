"""``torch.stft`` and ``torch.istft`` (and their Tensor methods), composed of differentiable ops.

``stft`` pads the signal (``center``), cuts it into frames with ``unfold``, multiplies each by
the window (centred in ``n_fft`` when ``win_length`` is shorter) and transforms the frames with
``gradstep.fft``, so values, dtypes and gradients (to the signal and to the window, double
backward included) follow from those ops. ``istft`` is the inverse transform of each frame,
the window multiply, an overlap-add and the division by the overlap-added squared window (the
least-squares inverse of Griffin and Lim, as torch's). The overlap-add is the one node of its
own here (``OverlapAdd``, the adjoint of framing: its backward is ``unfold``).

The checks, their order and their messages are ATen's (``SpectralOps.cpp``): a message starts
with the call as torch prints it, e.g. ``stft(torch.FloatTensor[28], n_fft=8, ...)``.
"""

from __future__ import annotations

from .. import fft as _fft
from .._tensor import Tensor
from .._warn_once import warn_once
from ..autograd.function import Node
from ..backend import xp
from ._util import dtype_title

__all__ = ["stft", "istft"]

_COMPLEX_TITLES = {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_NO_WINDOW_STFT = (
    "A window was not provided. A rectangular window will be applied,which is known to cause "
    "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
    "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
    "window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
_NO_WINDOW_ISTFT = (
    "A window was not provided. A rectangular window will be applied.Please provide the same "
    "window used by stft to make the inversion lossless.To suppress this warning and use a "
    "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
_REAL_DEPRECATED = (
    "stft with return_complex=False is deprecated. In a future pytorch release, stft will "
    "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
    "Note: you can still call torch.view_as_real on the complex output to recover the old "
    "return format.")
_ONESIDED_COMPLEX = "Cannot have onesided output if window or input is complex"


# ---------------------------------------------------------------- overlap-add
class OverlapAdd(Node):
    """``(B, T, n)`` frames summed into a ``(B, (T - 1) * hop + n)`` signal, frame ``t`` at
    ``t * hop`` (ATen's ``unfold_backward``). Linear with real coefficients, so the same
    backward serves complex gradients."""

    _name = "UnfoldBackwardBackward0"

    def forward(self, frames):
        batch, n_frames, n = frames.shape
        hop = self.hop
        chunks = -(-n // hop)  # frame pieces of hop samples: no two frames' pieces overlap
        out = xp.zeros((batch, (n_frames + chunks) * hop), frames.dtype)
        for k in range(chunks):
            piece = frames[:, :, k * hop:(k + 1) * hop]
            view = out[:, k * hop:(k + n_frames) * hop].reshape(batch, n_frames, hop)
            view[:, :, :piece.shape[2]] += piece
        return out[:, :(n_frames - 1) * hop + n]

    def backward(self, g):
        return g.unfold(-1, self.n, self.hop)


def _overlap_add(frames, hop):
    return OverlapAdd.apply(frames, hop=hop, n=frames.shape[-1])


# ---------------------------------------------------------------- messages
def _type_name(t, cpu_type=False):
    name = t.dtype.name
    title = _COMPLEX_TITLES.get(name) or dtype_title(t.dtype)
    return f"CPU{title}Type" if cpu_type else f"torch.{title}Tensor"


def _sizes(t):
    return "[" + ", ".join(str(n) for n in t.shape) + "]"


def _opt(value):
    return "None" if value is None else str(int(value))


def _window_repr(window):
    return "None" if window is None else f"{_type_name(window)}{{{_sizes(window)}}}"


def _stft_call(x, n_fft, hop, win, window, normalized, onesided, return_complex, align):
    return (f"stft({_type_name(x)}{_sizes(x)}, n_fft={n_fft}, hop_length={hop}, "
            f"win_length={win}, window={_window_repr(window)}, normalized={int(normalized)}, "
            f"onesided={_opt(onesided)}, return_complex={_opt(return_complex)}, "
            f"align_to_window={_opt(align)}) ")


def _istft_call(x, n_fft, hop, win, window, center, normalized, onesided, length, return_complex):
    length_text = "None" if length is None else str(length)
    return (f"istft({_type_name(x, cpu_type=True)}{_sizes(x)}, n_fft={n_fft}, "
            f"hop_length={hop}, win_length={win}, window={_window_repr(window)}, "
            f"center={int(center)}, normalized={int(normalized)}, onesided={_opt(onesided)}, "
            f"length={length_text}, return_complex={int(return_complex)}) ")


# ---------------------------------------------------------------- shared pieces
def _real_dtype(t):
    return t.real.dtype if t.is_complex() else t.dtype


def _full_window(window, win_length, n_fft, like):
    """The window centred in ``n_fft`` samples (zeros either side); ``None`` stays ``None``
    when no padding is needed (a rectangular window multiplies by nothing)."""
    from ..nn.functional import pad

    if win_length == n_fft:
        return window
    if window is None:
        from .._creation import ones

        window = ones(win_length, dtype=_real_dtype(like))
    left = (n_fft - win_length) // 2
    return pad(window, [left, n_fft - win_length - left])


def _norm(normalized):
    return "ortho" if normalized else "backward"


# ---------------------------------------------------------------- stft
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,  # noqa: A002
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None,
         align_to_window=None):
    """Short-time Fourier transform of a 1-D signal or a 2-D batch: ``(B?, N, T)`` complex
    (``N`` frequencies, ``T`` frames), or ``(B?, N, T, 2)`` real with ``return_complex=False``."""
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center and input.ndim <= 3:
        input = _center_pad(input, n_fft, pad_mode)
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    call = _stft_call(input, n_fft, hop, win, window, normalized, onesided, return_complex,
                      align_to_window)
    wants_complex = _stft_output_kind(input, window, return_complex)
    _check_stft_args(input, n_fft, hop, win, window, call)
    frames = _frames(input.unsqueeze(0) if input.ndim == 1 else input, n_fft, hop, win,
                     align_to_window)
    full = _full_window(window, win, n_fft, input)
    if full is not None:
        frames = frames * full
    out = _spectrum(frames, onesided, normalized).transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    if wants_complex:
        return out
    from .._complex import view_as_real

    return view_as_real(out)


def _center_pad(x, n_fft, pad_mode):
    """torch.functional.stft's padding: ``n_fft // 2`` either side of the last dim, the
    signal viewed as 3-D for ``F.pad``."""
    from ..nn.functional import pad

    shape = tuple(x.shape)
    half = n_fft // 2
    padded = pad(x.reshape((1,) * (3 - len(shape)) + shape), [half, half], pad_mode)
    return padded.reshape(padded.shape[-len(shape):] if shape else padded.shape)


def _stft_output_kind(x, window, return_complex):
    """Whether the result is complex; torch requires ``return_complex`` for real inputs."""
    if window is None:
        warn_once("stft.no_window", _NO_WINDOW_STFT)
    default = x.is_complex() or (window is not None and window.is_complex())
    wants = default if return_complex is None else bool(return_complex)
    if not wants:
        if return_complex is None:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        warn_once("stft.real_output", _REAL_DEPRECATED)
    return wants


def _check_stft_args(x, n_fft, hop, win, window, call):
    if not (x.is_floating_point() or x.is_complex()):
        raise RuntimeError(call + ": expected a tensor of floating point or complex values")
    if x.ndim not in (1, 2):
        raise RuntimeError(call + ": expected a 1D or 2D tensor")
    length = x.shape[-1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(call + f": expected 0 < n_fft < {length}, but got n_fft={win}")
    if hop <= 0:
        raise RuntimeError(call + f": expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        raise RuntimeError(call + f": expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise RuntimeError(call + f": expected a 1D window tensor of size equal to "
                                  f"win_length={win}, but got window with size {_sizes(window)}")


def _frames(x, n_fft, hop, win, align_to_window):
    """``(B, T, n_fft)`` frames of a ``(B, L)`` signal. ``align_to_window=True`` starts the
    (centred, shorter) window rather than the frame at ``t * hop``: the signal is padded with
    the window's left offset and ``T = 1 + (L - win_length) // hop``."""
    from ..nn.functional import pad

    if align_to_window and win < n_fft:
        left = (n_fft - win) // 2
        n_frames = 1 + (x.shape[-1] - win) // hop
        x = pad(x, [left, n_fft - win - left])  # torch pads ``left`` on the right, which can
        # leave its last frame out of bounds; the extra zeros only meet the window's zeros
        x = x[:, :(n_frames - 1) * hop + n_fft]
    return x.unfold(-1, n_fft, hop)


def _spectrum(frames, onesided, normalized):
    complex_fft = frames.is_complex()
    onesided = (not complex_fft) if onesided is None else onesided
    if complex_fft and onesided:
        raise RuntimeError(_ONESIDED_COMPLEX)
    transform = _fft.rfft if onesided else _fft.fft
    return transform(frames, norm=_norm(normalized))


# ---------------------------------------------------------------- istft
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,  # noqa: A002
          normalized=False, onesided=None, length=None, return_complex=False):
    """The inverse of ``stft`` (complex ``(B?, N, T)`` input): a ``(B?, length)`` signal."""
    if window is None:
        warn_once("istft.no_window", _NO_WINDOW_ISTFT)
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    call = _istft_call(input, n_fft, hop, win, window, center, normalized, onesided, length,
                       return_complex)
    onesided = _check_istft_args(input, n_fft, hop, win, window, onesided, call)
    x = (input.unsqueeze(0) if input.ndim == 2 else input).transpose(1, 2)  # (B, T, N)
    frames = _inverse_frames(x, n_fft, onesided, normalized, return_complex, window)
    full = _full_window(window, win, n_fft, input)
    if full is None:
        from .._creation import ones

        full = ones(n_fft, dtype=_real_dtype(input))
    n_frames = x.shape[1]
    signal = _overlap_add(frames * full, hop)
    envelope = _overlap_add((full * full).expand(1, n_frames, n_fft), hop)
    y = _trim_and_normalize(signal, envelope, n_fft, center, length, call)
    if input.ndim == 2:
        y = y.squeeze(0)
    return _pad_to_length(y, n_fft, hop, n_frames, center, length)


def _check_istft_args(x, n_fft, hop, win, window, onesided, call):
    """ATen's checks, in its order; returns ``onesided`` with its default filled in."""
    real_dims = x.ndim + 1  # ATen checks the view_as_real of the input
    if x.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-real_dims}, {real_dims - 1}], but got -3)")
    fft_size = x.shape[-2]
    if x.numel() == 0:
        raise RuntimeError(call + ": input tensor cannot be empty.")
    if real_dims not in (3, 4):
        raise RuntimeError(call + f": expected a tensor with 3 or 4 dimensions, but got "
                                  f"{real_dims}")
    onesided = fft_size != n_fft if onesided is None else onesided
    if onesided and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(call + ": expected the frequency dimension (3rd to the last) of the "
                           "input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                           f"{fft_size}")
    if not onesided and n_fft != fft_size:
        raise RuntimeError(call + ": expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop <= win:
        raise RuntimeError(call + ": expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        raise RuntimeError(call + ": expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise RuntimeError(call + ": Invalid window shape. window has to be 1D and length of "
                                  "`win_length`")
    return onesided


def _inverse_frames(x, n_fft, onesided, normalized, return_complex, window):
    """Each frame's inverse transform: ``(B, T, n_fft)``, complex only with ``return_complex``."""
    if return_complex:
        if onesided:
            raise RuntimeError(_ONESIDED_COMPLEX)
        return _fft.ifft(x, norm=_norm(normalized))
    if window is not None and window.is_complex():
        raise RuntimeError("Complex windows are incompatible with return_complex=False")
    if not onesided:
        x = x[..., :n_fft // 2 + 1]
    return _fft.irfft(x, n=n_fft, norm=_norm(normalized))


def _trim_and_normalize(signal, envelope, n_fft, center, length, call):
    """Drop the centre padding (or keep ``length`` samples) and divide by the window envelope,
    refusing a signal where the envelope vanishes (the NOLA condition)."""
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = -(n_fft // 2) if center else signal.shape[-1]  # -0 keeps nothing, as ATen
    signal, envelope = signal[:, start:end], envelope[:, start:end]
    if envelope.numel() and float(xp.abs(envelope._data).min()) < 1e-11:
        raise RuntimeError(call + "window overlap add min: 1")
    return signal / envelope


def _pad_to_length(y, n_fft, hop, n_frames, center, length):
    """Zeros after the signal when ``length`` asks for more samples than the frames hold."""
    if length is None:
        return y
    expected = n_fft + hop * (n_frames - 1)
    end = (n_fft // 2 if center else 0) + length
    if end <= expected:
        return y
    from ..nn.functional import pad

    warn_once("istft.short_signal",
              "The length of signal is shorter than the length parameter. Result is being "
              "padded with zeros in the tail. Please check your center and hop_length settings.")
    return pad(y, [0, end - expected])


# ---------------------------------------------------------------- binding
FUNCTIONS = {"stft": stft, "istft": istft}


def bind():
    Tensor.stft = stft
    Tensor.istft = istft
