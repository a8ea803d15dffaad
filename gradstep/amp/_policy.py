"""Autocast's thread-local state and its op lists: the one place that decides what
an op does under ``torch.autocast('cpu')``.

An op taking part in autocast is decorated with ``@autocast_op("name")``. With
autocast off the wrapper costs one thread-local attribute read. With it on, the
op's floating-point tensor arguments (float64 excepted, as in torch) are cast to

* the autocast dtype (bfloat16 by default) for ops in ``LOWER_PRECISION``;
* float32 for ops in ``FP32``;

and the op runs with autocast suspended, so ops it calls internally are not cast
again (torch excludes its autocast dispatch key the same way). Ops on neither list
run in whatever dtype their inputs have.

The lists are torch 2.13's CPU lists as far as gradstep has the ops, checked by
running each op under torch's CPU autocast on float32 and bfloat16 inputs and
recording the output dtype (tests/amp/test_autocast.py repeats that check).
"""

from __future__ import annotations

import functools
import threading

from .. import backend as B

# torch's CPU "lower_precision_fp" list (aten/src/ATen/autocast_mode.cpp), restricted to
# the ops gradstep has. mv, dot and outer are not on it: they keep float32; nor is gru
# (an nn.GRU stays float32 while nn.LSTM and nn.RNN give bfloat16).
LOWER_PRECISION = frozenset({
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "bmm", "mm", "baddbmm",
    "addmm", "addbmm", "linear", "matmul", "einsum", "prelu", "scaled_dot_product_attention",
    "lstm", "rnn_tanh", "rnn_relu",
})

# torch's CPU "fp32" list: these run in float32 whatever the input precision.
FP32 = frozenset({
    "prod", "cdist", "grid_sample", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "nll_loss", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "kl_div", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
    "poisson_nll_loss", "triplet_margin_loss", "cosine_embedding_loss",
})


class _State(threading.local):
    """Per-thread autocast flags; the class attributes are each new thread's defaults."""

    cpu = False  # CPU autocast enabled: the flag every decorated op reads
    cpu_dtype = B.bfloat16
    cache_enabled = True
    nesting = 0

    def __init__(self):
        # other device types: enabled flag and dtype (only "cpu" casts in gradstep)
        self.enabled = {}
        self.dtypes = {}


STATE = _State()


def autocast_op(name):
    """Decorator: make the function ``name`` follow its autocast list (see module doc)."""
    lower = name in LOWER_PRECISION
    if not lower and name not in FP32:
        raise ValueError(f"{name!r} is on neither autocast list")

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not STATE.cpu:
                return fn(*args, **kwargs)
            return _run_cast(fn, STATE.cpu_dtype if lower else B.float32, args, kwargs)

        return wrapper

    return decorate


# ops whose caller picks the dtype under autocast (nn.GRU keeps its input's type, see rnn_layer)
PROMOTE = frozenset({"gru"})


def casts(name) -> bool:
    """Whether autocast is on and would cast the arguments of op ``name``."""
    return STATE.cpu and (name in LOWER_PRECISION or name in FP32 or name in PROMOTE)


def autocast_args(name, *args):
    """The inline form of ``autocast_op``: ``args`` as op ``name`` should see them (unchanged
    when autocast is off), for functions whose op depends on an argument (``rnn_layer``)."""
    if not STATE.cpu:
        return args
    dtype = STATE.cpu_dtype if name in LOWER_PRECISION else B.float32
    return tuple(cast_value(a, dtype) for a in args)


def _run_cast(fn, dtype, args, kwargs):
    args = tuple(cast_value(a, dtype) for a in args)
    kwargs = {k: cast_value(v, dtype) for k, v in kwargs.items()}
    STATE.cpu = False
    try:
        return fn(*args, **kwargs)
    finally:
        STATE.cpu = True


def cast_value(value, dtype):
    """A floating tensor (not float64) as ``dtype``; lists/tuples element by element."""
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        dt = value.dtype
        if dt.is_floating_point and dt is not B.float64 and dt is not dtype:
            return value.to(dtype)
        return value
    if type(value) in (list, tuple):  # einsum's operand list
        return type(value)(cast_value(v, dtype) for v in value)
    return value
