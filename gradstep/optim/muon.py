"""Muon (Jordan et al., 2024, "Muon: An optimizer for hidden layers in neural networks"), as
torch.optim.Muon implements it.

Algorithm box (2-D parameters only)::

    B     <- lerp(B, g, 1 - momentum)                    momentum_buffer (= momentum*B + (1-momentum)*g)
    U     <- lerp(g, B, momentum) if nesterov else B
    O     <- NewtonSchulz_{a,b,c}^{k}(U / max(||U||_F, eps))     approximately U's polar factor
    theta <- theta * (1 - lr * weight_decay)
    theta <- theta - adjust_lr(lr, shape) * O

torch runs the Newton-Schulz iteration in bfloat16. NumPy has no bfloat16, so we store bfloat16
values in float32 arrays and round every intermediate that torch rounds (each matmul, the norm and
the division) to bfloat16 with round-to-nearest-even: products of bfloat16 numbers are exact in
float32 and the sums accumulate in float32, as in torch's CPU kernels. Results equal torch's bit
for bit except where the two float32 summation orders land on opposite sides of a bfloat16
rounding boundary (a one-ulp, 2**-8 relative, difference in that element).
"""

from __future__ import annotations

import math

from .._tensor import Tensor
from ..backend import xp
from ._fma import fma
from .optimizer import Optimizer, _as_scalar, _use_grad_for_differentiable, _zeros_like

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _round_bf16(a):
    """Round a float32 array to the nearest bfloat16 value (ties to even), kept as float32."""
    a = xp.asarray(a, dtype=xp.float32)
    bits = a.view(xp.uint32)
    rounded = bits + (xp.uint32(0x7FFF) + ((bits >> xp.uint32(16)) & xp.uint32(1)))
    out = (rounded & xp.uint32(0xFFFF0000)).view(xp.float32)
    return xp.where(xp.isnan(a), a, out)


def zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """Orthogonalise a 2-D array with ``ns_steps`` quintic Newton-Schulz iterations, in bfloat16.

    Returns a float32 array holding bfloat16 values, of ``grad``'s shape. A float64 ``grad`` is
    rounded through float32 on its way to bfloat16, as torch's conversion does.
    """
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (xp.float32(v) for v in ns_coefficients)
    x = _round_bf16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:  # iterate on the wide orientation: its Gram matrix is the smaller one
        x = x.T
    norm = _round_bf16(xp.sqrt(xp.sum(x * x, dtype=xp.float32)))
    x = _round_bf16(x / max(norm, _round_bf16(eps)))
    for _ in range(ns_steps):
        gram = _round_bf16(x @ x.T)
        poly = _round_bf16(b * gram + c * (gram @ gram))
        x = _round_bf16(a * x + poly @ x)
    return x.T if tall else x


def adjust_lr(lr, adjust_lr_fn, param_shape):
    """Scale ``lr`` so orthogonalised updates of rectangular matrices have a consistent RMS."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))  # Keller Jordan's scaling
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))  # Moonshot's: match AdamW's update RMS
    else:
        ratio = 1.0
    return lr * ratio


def _fma(a, b, c):
    """``a * b + c`` with one rounding, as torch's vectorised CPU kernels compute ``lerp`` and
    ``add(alpha=)`` (fused multiply-add).

    Why it matters here: Newton-Schulz runs in bfloat16, so a one-ulp difference in its input
    can flip a bfloat16 rounding and grow from there; matching torch's rounding keeps the inputs
    identical. The emulation is ``optim/_fma.fma``'s.
    """
    return fma(a, b, xp.asarray(c))


def _lerp(start, end, weight):
    """``torch.lerp(start, end, weight)`` rounded as torch's CPU kernel rounds it.

    ``start + w (end - start)`` for w < 0.5, else ``end + (w - 1)(end - start)`` (exact at w=1).
    """
    w = start.dtype.type(weight)
    if weight < 0.5:
        return _fma(w, end - start, start)
    return _fma(w - 1, end - start, end)


def muon_update(param, grad, momentum_buffer, *, lr, weight_decay, momentum, nesterov,
                ns_coefficients, ns_steps, eps, adjust_lr_fn):
    """One Muon step on raw 2-D arrays; ``param`` and ``momentum_buffer`` change in place."""
    if grad.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    momentum_buffer[...] = _lerp(momentum_buffer, grad, 1 - momentum)
    update = _lerp(grad, momentum_buffer, momentum) if nesterov else momentum_buffer
    ortho = zeropower_via_newtonschulz(update, ns_coefficients, ns_steps, eps)
    param *= 1 - lr * weight_decay
    param[...] = _fma(-adjust_lr(lr, adjust_lr_fn, param.shape), ortho, param)


class Muon(Optimizer):
    """torch.optim.Muon: momentum SGD whose update matrix is orthogonalised by Newton-Schulz.

    Only for 2-D parameters (hidden-layer weight matrices); give biases, norms and embeddings to
    another optimizer such as AdamW. ``adjust_lr_fn`` is ``None``/``"original"`` (scale lr by
    ``sqrt(max(1, rows/cols))``) or ``"match_rms_adamw"`` (``0.2 * sqrt(max(rows, cols))``).
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS,
                 ns_steps=DEFAULT_NS_STEPS, adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a parameter with size: "
                        f"{p.size()}. Optimize biases, norms and embeddings with another "
                        "optimizer (e.g. AdamW)."
                    )

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """One Muon step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr = _as_scalar(group["lr"])  # a tensor lr rounds in its dtype, as in torch
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = _zeros_like(p)
                muon_update(p._data, p.grad._data, state["momentum_buffer"]._data, lr=lr,
                            weight_decay=group["weight_decay"], momentum=group["momentum"],
                            nesterov=group["nesterov"], ns_coefficients=group["ns_coefficients"],
                            ns_steps=group["ns_steps"], eps=group["eps"],
                            adjust_lr_fn=group["adjust_lr_fn"])
                p._vc[0] += 1
        return loss
