"""All elementwise ops in one namespace.

Each op is defined in its family module: ``arithmetic`` (casting, + - * / // % **),
``unary`` (exp, log, trigonometric, rounding, clamp, where), ``activation`` (relu, gelu, ...)
and ``compare`` (comparisons, logical and bitwise ops). This module only gathers them,
so ``from gradstep.ops.elementwise import X`` keeps working for every elementwise op.
"""

from __future__ import annotations

from .activation import (  # noqa: F401
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    mish,
    relu,
    relu6,
    silu,
    softplus,
)
from .arithmetic import (  # noqa: F401
    Cast,
    add,
    div,
    floor_divide,
    mul,
    neg,
    pow,
    rdiv,
    remainder,
    sub,
)
from .compare import (  # noqa: F401
    allclose,
    bitwise,
    eq,
    equal,
    ge,
    gt,
    invert,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
)
from .unary import (  # noqa: F401
    _sigmoid,
    abs,
    ceil,
    clamp,
    cos,
    erf,
    erf_array,
    exp,
    expm1,
    floor,
    lerp,
    log,
    log1p,
    log2,
    log10,
    maximum,
    minimum,
    reciprocal,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    tanh,
    trunc,
    where,
)
