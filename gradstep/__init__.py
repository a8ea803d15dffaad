"""gradstep: a PyTorch-compatible training stack in Python on NumPy.

``import gradstep as torch`` gives the names a training loop uses: tensors and
their factories, autograd, ``nn``, ``optim`` and ``utils.data``.
"""

from __future__ import annotations

from math import e, inf, nan, pi  # torch.inf, torch.nan, torch.pi, torch.e: Python floats

from . import (  # _tensor_inplace binds the generated in-place methods onto Tensor
    _tensor_inplace,
    _utils,
    autograd,
    backend,
    datasets,
    distributed,
    nn,
    optim,
    return_types,
    utils,
)
from . import backend as _backend
from ._creation import (
    arange,
    as_tensor,
    asarray,
    empty,
    empty_like,
    empty_strided,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._foreach import FUNCTIONS as _FOREACH_FUNCTIONS
from ._legacy import add, addcdiv, addcmul, sub
from ._tensor import Size, Tensor, device
from ._tensor_str import set_printoptions
from ._tensor_types import (
    BFloat16Tensor,
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    set_default_tensor_type,
)
from ._utils import typename
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import (
    bfloat16,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from .backend import (
    bool_ as bool,  # noqa: A004
)
from .backend import float as float  # noqa: A004, PLC0414
from .backend import int as int  # noqa: A004, PLC0414
from .ops.cumulative import cumprod, cumsum
from .ops.elementwise import (
    abs,
    allclose,
    ceil,
    clamp,
    cos,
    div,
    elu,
    eq,
    equal,
    erf,
    exp,
    expm1,
    floor,
    floor_divide,
    ge,
    gelu,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    silu,
    sin,
    sqrt,
    square,
    tanh,
    trunc,
    where,
)
from .ops.index import (
    gather,
    index_select,
    nonzero,
    scatter,
    scatter_add,
    take_along_dim,
)
from .ops.linalg import addmm, bmm, dot, einsum, matmul, mm, mv, outer
from .ops.masked import masked_fill, masked_select
from .ops.pointwise import fmod, frac, nan_to_num, sgn
from .ops.reduce import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    count_nonzero,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    std_mean,
    sum,
    var,
    var_mean,
)
from .ops.reduce import log_softmax as log_softmax
from .ops.reduce import softmax as softmax
from .ops.shape import (
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    expand,
    flatten,
    flip,
    fliplr,
    flipud,
    hstack,
    movedim,
    narrow,
    permute,
    repeat_interleave,
    reshape,
    roll,
    select,
    split,
    squeeze,
    stack,
    t,
    tile,
    transpose,
    tril,
    triu,
    unbind,
    unflatten,
    unsqueeze,
    vstack,
)
from .ops.sorting import argsort, sort, topk
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

globals().update(_FOREACH_FUNCTIONS)  # torch._foreach_add, torch._foreach_mul_, ...
clip = clamp
absolute = abs
subtract = sub
multiply = mul
divide = div
true_divide = div
swapaxes = transpose
moveaxis = movedim

from . import amp, cpu  # torch.amp (autocast, GradScaler), torch.cpu
from .amp import autocast
from .amp.autocast_mode import (
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
    set_autocast_gpu_dtype,
)


def is_complex(x) -> bool:
    if not isinstance(x, Tensor):
        raise TypeError(f"is_complex(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x.is_complex()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(x) -> bool:
    return x.is_floating_point()


def numel(x) -> int:
    return x.numel()


def clamp_min(x, lo):
    from .ops.elementwise import clamp_min as _clamp_min

    return _clamp_min(x, lo)


def clamp_max(x, hi):
    from .ops.elementwise import clamp_max as _clamp_max

    return _clamp_max(x, hi)


def result_type(a, b):
    return backend.result_type(a, b)


def promote_types(a, b):
    return backend.promote_types(a, b)


def can_cast(from_, to):
    # torch's rule: no floating -> integral and no non-bool -> bool (so int8 -> uint8 is allowed)
    return from_._category <= to._category


# doctor: the training-loop checker, built on nn and optim; the rest: torch's device and
# runtime namespaces as on a CPU-only build (see _device.py)
from . import (  # noqa: E402
    _C,
    __config__,
    accelerator,
    backends,
    compiler,
    cuda,
    doctor,
    fx,
    hub,
    jit,
    linalg,  # torch.linalg (issue 17)
    mps,
    multiprocessing,
    onnx,
    storage,
    testing,
    version,
    xpu,
)
from ._device import DeviceUnavailableError, get_default_device, set_default_device  # noqa: E402
from ._finfo import finfo, iinfo  # noqa: E402
from ._memory_format import (  # noqa: E402
    channels_last,
    channels_last_3d,
    contiguous_format,
    memory_format,
    preserve_format,
)
from ._runtime import (  # noqa: E402
    are_deterministic_algorithms_enabled,
    compile,
    get_float32_matmul_precision,
    get_num_interop_threads,
    get_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    set_float32_matmul_precision,
    set_num_interop_threads,
    set_num_threads,
    use_deterministic_algorithms,
)
from ._torch_hook import (  # noqa: E402
    TorchAlreadyImportedError,
    install_as_torch,
    is_torch_hook_installed,
    uninstall_torch_hook,
)
from ._warn_once import is_warn_always_enabled, set_warn_always  # noqa: E402
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: E402
from .linalg._toplevel import FUNCTIONS as _LINALG_FUNCTIONS  # noqa: E402
from .ops import build as _build  # noqa: E402
from .ops import counting as _counting  # noqa: E402
from .ops import diagonal as _diagonal  # noqa: E402
from .ops import index_reduce as _index_reduce  # noqa: E402
from .ops import strided as _strided  # noqa: E402
from .ops.diagonal import diag, diag_embed, diagflat, diagonal, trace  # noqa: E402
from .ops.segment_reduce import segment_reduce  # noqa: E402
from .ops.strided import as_strided, as_strided_  # noqa: E402
from .serialization import load, save  # noqa: E402
from .version import gradstep_version as __version__  # noqa: E402 - torch's under install_as_torch

# issue 17 (linalg, counting/ordering, building/reshaping): top-level functions and methods
globals().update(_LINALG_FUNCTIONS)  # torch.det, torch.svd (V, some=), torch.cholesky_solve, ...
globals().update(_build.FUNCTIONS)  # meshgrid, block_diag, kron, tensordot, cdist, ...
globals().update(_counting.FUNCTIONS)  # unique, bincount, searchsorted, median, quantile, ...
globals().update(_index_reduce.FUNCTIONS)  # index_add, scatter_reduce, broadcast_tensors, ...
for _m in (linalg._toplevel, _build, _counting, _diagonal, _strided, _index_reduce):
    _m._bind()
del _m

# issue 17 (elementwise math, torch.special): functions, and Tensor methods bound at import
from . import _tensor_math, _torch_aliases, special  # noqa: E402, F401
from .ops.bitwise import (  # noqa: E402
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    gcd,
    lcm,
)
from .ops.explog import (  # noqa: E402
    exp2,
    float_power,
    frexp,
    ldexp,
    logaddexp,
    logaddexp2,
    logit,
    sinc,
    xlogy,
)
from .ops.floatmisc import (  # noqa: E402
    copysign,
    fmax,
    fmin,
    heaviside,
    isneginf,
    isposinf,
    isreal,
    nanmean,
    nansum,
    nextafter,
    positive,
    rsub,
    signbit,
)
from .ops.queries import (  # noqa: E402
    fill,
    is_nonzero,
    is_same_size,
    is_signed,
    range,  # noqa: A004 - torch.range (deprecated)
    renorm,
    scalar_tensor,
)
from .ops.realview import (  # noqa: E402
    angle,
    conj,
    conj_physical,
    conj_physical_,
    imag,
    is_conj,
    is_neg,
    real,
    resolve_conj,
    resolve_neg,
)
from .ops.special import (  # noqa: E402
    digamma,
    erfc,
    erfinv,
    i0,
    igamma,
    igammac,
    lgamma,
    mvlgamma,
    polygamma,
)
from .ops.trig import (  # noqa: E402
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cosh,
    deg2rad,
    hypot,
    rad2deg,
    sinh,
    tan,
)

# torch.tan_(x), torch.greater, torch.dropout(input, p, train), ...: never over a name defined above
globals().update({k: v for k, v in _torch_aliases.FUNCTIONS.items() if k not in globals()})
_torch_aliases.bind()

# torch.slice_scatter, the *_copy functions, torch.sym_*, torch.GradScaler, ... (never over a
# name defined above)
from . import _torch_copies  # noqa: E402

globals().update({k: v for k, v in _torch_copies.FUNCTIONS.items() if k not in globals()})
_torch_copies.bind()

# complex tensors (real, imag, conj, angle, polar, view_as_real, ...) over the real-only
# accessors above, and torch.fft
from . import _complex, fft  # noqa: E402, F401

globals().update(_complex.FUNCTIONS)
_complex.bind()

# torch.stft / torch.istft and their Tensor methods (framing, window and torch.fft)
from .ops import spectral as _spectral  # noqa: E402

globals().update(_spectral.FUNCTIONS)
_spectral.bind()

# DLPack exchange (torch.to_dlpack / from_dlpack, Tensor.__dlpack__) through NumPy's
from .utils import dlpack as _dlpack  # noqa: E402
from .utils.dlpack import from_dlpack, to_dlpack  # noqa: E402, F401

_dlpack.bind()


# window functions, sampling (poisson, binomial, bernoulli), storages and the smaller Tensor
# methods and torch.* functions (apply_, output_nr, frombuffer, svd_lowrank, ...)
from . import _storage, _tensor_misc  # noqa: E402
from ._creation import empty_permuted, frombuffer  # noqa: E402
from ._runtime import (  # noqa: E402
    init_num_threads,
    prepare_multiprocessing_environment,
    set_anomaly_enabled,
    set_flush_denormal,
)
from .ops import lowrank as _lowrank  # noqa: E402
from .ops import sampling as _sampling  # noqa: E402
from .ops import windows as _windows  # noqa: E402

globals().update(_windows.FUNCTIONS)  # hann_window, hamming_window, kaiser_window, ...
globals().update(_sampling.FUNCTIONS)  # poisson, binomial, and bernoulli with torch's grad_fn
globals().update(_lowrank.FUNCTIONS)  # svd_lowrank, pca_lowrank
globals().update(_tensor_misc.FUNCTIONS)  # get_device, is_inference, norm_except_dim, ...
globals().update(_storage.CLASSES)  # UntypedStorage, TypedStorage, FloatStorage, ...
for _m in (_sampling, _storage, _tensor_misc):
    _m.bind()
del _m

# torch.distributions, torch.func (function transforms), torch.library (custom ops, reached
# as torch.ops.ns.name), torch.overrides and torch.signal (its window functions)
from . import distributions, func, library, overrides, signal  # noqa: E402, F401

vmap = func.vmap  # torch.vmap is torch.func.vmap

# issue 17: torch.conv3d, torch.batch_norm(input, weight, ...), torch.pixel_shuffle, ...: the
# nn.functional ops torch also exports, with ATen's signatures; never over a name defined above
from ._torch_nn_functions import FUNCTIONS as _NN_FUNCTIONS  # noqa: E402

globals().update({k: v for k, v in _NN_FUNCTIONS.items() if k not in globals()})

# sparse COO tensors (torch.sparse_coo_tensor, torch.sparse, torch.spmm) and torch.layout
from . import _sparse_coo, sparse  # noqa: E402, F401
from ._layout import (  # noqa: E402, F401
    _mkldnn,
    jagged,
    layout,
    sparse_bsc,
    sparse_bsr,
    sparse_coo,
    sparse_csc,
    sparse_csr,
    strided,
)
from ._sparse_coo import sparse_coo_tensor  # noqa: E402
from ._sparse_ops import spmm  # noqa: E402

_sparse_coo.bind()

# torch's keyword names (input=, other=, ...) and out= on the functions above, one mechanism
from . import _signatures  # noqa: E402

_signatures.apply(globals())
_signatures.apply(vars(special))
_signatures.apply_methods(Tensor)

# torch < 1.5's leading beta/alpha numbers of addmm/addmv/addr/addbmm/baddbmm (see _legacy)
from ._legacy import install_matrix_product_overloads as _install_products  # noqa: E402

_install_products(Tensor, globals())

newaxis = None  # torch.newaxis, as NumPy's


def __getattr__(name):
    """Submodules torch imports on first use (``torch._dynamo.config.suppress_errors = True``
    with no ``import torch._dynamo``), as torch's own module ``__getattr__`` does; and the
    limited dtypes (``torch.uint16``, ``torch.float8_e4m3fn``, ...), whose first use switches on
    torch's refusals for them (see gradstep._limited_dtypes)."""
    if name in _backend._LIMITED_BY_NAME:
        _backend._activate_limited()
        globals()[name] = _backend._LIMITED_BY_NAME[name]
        return globals()[name]
    if name in ("_dynamo", "functional"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
