"""Cases for ``tests/test_print_parity.py``: what torch programs print, built the same way in both libraries.

Every nn case is a constructor expression evaluated with ``nn`` bound to ``torch.nn`` or
``gradstep.nn`` (and ``L`` to the library), so a case reads like the program line it stands for.
"""

from __future__ import annotations

import functools

import numpy as np

# ---------------------------------------------------------------- nn modules
_POOL_ND = {
    "AvgPool1d": ["3", "(3,), stride=2, padding=1, ceil_mode=True, count_include_pad=False"],
    "AvgPool2d": ["3", "(2, 3), stride=(1, 2), padding=1, divisor_override=2"],
    "AvgPool3d": ["2", "(1, 2, 2), stride=1, ceil_mode=True"],
    "MaxPool1d": ["2", "3, stride=1, padding=1, dilation=2, return_indices=True, ceil_mode=True"],
    "MaxPool2d": ["2", "(3, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2)"],
    "MaxPool3d": ["2", "(2, 2, 2), stride=1, return_indices=True"],
    "MaxUnpool1d": ["2", "3, stride=2, padding=1"],
    "MaxUnpool2d": ["2", "(2, 3), stride=(2, 1)"],
    "MaxUnpool3d": ["2", "2, stride=1, padding=0"],
    "AdaptiveAvgPool1d": ["5"],
    "AdaptiveAvgPool2d": ["5", "(None, 7)", "(3, 4)"],
    "AdaptiveAvgPool3d": ["1", "(1, None, 2)"],
    "AdaptiveMaxPool1d": ["4", "4, return_indices=True"],
    "AdaptiveMaxPool2d": ["(2, 2)", "2, return_indices=True"],
    "AdaptiveMaxPool3d": ["(1, 2, 3)"],
    "LPPool1d": ["2, 3", "1.5, 3, stride=2, ceil_mode=True"],
    "LPPool2d": ["2, 3", "2, (2, 3), stride=1"],
    "LPPool3d": ["2, 2", "3.0, (1, 2, 2), stride=(1, 1, 1)"],
    "FractionalMaxPool2d": ["3, output_size=(5, 5)", "2, output_ratio=0.5, return_indices=True"],
    "FractionalMaxPool3d": ["2, output_size=4", "(2, 2, 2), output_ratio=(0.5, 0.5, 0.5)"],
}

_CONV = {
    "Conv1d": ["3, 8, 3", "4, 8, 5, stride=2, padding=2, dilation=2, groups=4, bias=False",
               "2, 4, 3, padding='same', padding_mode='reflect'", "2, 4, 3, padding='valid'"],
    "Conv2d": ["3, 16, 3", "4, 8, (3, 5), stride=(2, 1), padding=(1, 2), bias=False",
               "4, 8, 3, padding=1, padding_mode='circular', groups=2",
               "1, 1, 3, padding='same', padding_mode='replicate', dilation=2",
               "2, 2, 1, padding=0, padding_mode='zeros'"],
    "Conv3d": ["1, 2, 3", "2, 4, (1, 3, 3), stride=1, padding=(0, 1, 1), groups=2"],
    "ConvTranspose1d": ["3, 8, 3", "4, 4, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False"],
    "ConvTranspose2d": ["3, 8, 3", "4, 8, (2, 3), stride=2, dilation=(1, 2)",
                        "2, 2, 3, stride=1, padding=1, output_padding=0"],
    "ConvTranspose3d": ["2, 2, 3", "2, 4, 2, stride=2, output_padding=(1, 0, 1)"],
}

_PADS = {}
for _kind in ("Reflection", "Replication", "Zero", "Circular"):
    for _d, _tup in (("1d", "(1, 2)"), ("2d", "(1, 2, 0, 1)"), ("3d", "(1, 1, 2, 0, 1, 1)")):
        _PADS[f"{_kind}Pad{_d}"] = ["2", _tup]
for _d, _tup in (("1d", "(1, 2)"), ("2d", "(1, 2, 0, 1)"), ("3d", "(1, 1, 2, 0, 1, 1)")):
    _PADS[f"ConstantPad{_d}"] = ["2, 0.5", f"{_tup}, -1", "3, 3.5"]

_NORM = {
    "BatchNorm1d": ["16", "8, eps=1e-3, momentum=0.01, affine=False",
                    "4, momentum=None, track_running_stats=False"],
    "BatchNorm2d": ["64", "3, eps=0.001, momentum=0.3"],
    "BatchNorm3d": ["2", "2, affine=False, track_running_stats=False"],
    "SyncBatchNorm": ["8", "4, eps=1e-3, momentum=None, affine=False"],
    "InstanceNorm1d": ["4", "4, affine=True, track_running_stats=True"],
    "InstanceNorm2d": ["3", "3, eps=1e-3, momentum=0.2, affine=True"],
    "InstanceNorm3d": ["2", "2, track_running_stats=True"],
    "LayerNorm": ["10", "(4, 5), eps=1e-6", "[8], elementwise_affine=False", "8, bias=False",
                  "L.Size([2, 3])"],
    "GroupNorm": ["2, 8", "4, 8, eps=1e-3, affine=False"],
    "RMSNorm": ["10", "[4, 5], eps=1e-6", "8, elementwise_affine=False", "L.Size([3])"],
    "LocalResponseNorm": ["2", "3, alpha=0.001, beta=0.5, k=2.0"],
    "CrossMapLRN2d": ["3", "5, alpha=1e-3, beta=0.5, k=2"],
}

_ACTIVATION = {
    "ReLU": ["", "inplace=True"], "ReLU6": ["", "inplace=True"], "SELU": ["", "inplace=True"],
    "SiLU": ["", "inplace=True"], "Mish": ["", "inplace=True"], "Hardswish": ["", "inplace=True"],
    "Hardsigmoid": ["", "inplace=True"],
    "ELU": ["", "alpha=0.5", "alpha=2.0, inplace=True"], "CELU": ["", "alpha=0.3, inplace=True"],
    "LeakyReLU": ["", "0.2", "negative_slope=0.1, inplace=True"],
    "Hardtanh": ["", "-2.0, 2.0", "min_val=0.0, max_val=6.0, inplace=True"],
    "RReLU": ["", "0.1, 0.3", "lower=0.2, upper=0.25, inplace=True"],
    "Threshold": ["0.1, 20", "0.5, -1.0, inplace=True"],
    "GELU": ["", "approximate='tanh'"], "GLU": ["", "dim=1"],
    "Hardshrink": ["", "0.3"], "Softshrink": ["", "lambd=1.5"],
    "Softplus": ["", "beta=2, threshold=10", "beta=0.5, threshold=30.0"],
    "Softmax": ["", "dim=1", "-1"], "Softmin": ["", "dim=0"], "LogSoftmax": ["", "dim=-1"],
    "Softmax2d": [""], "Sigmoid": [""], "Tanh": [""], "LogSigmoid": [""], "Softsign": [""],
    "Tanhshrink": [""], "Identity": ["", "54, unused_argument1=0.1"],
    "PReLU": ["", "num_parameters=3", "4, init=0.1"],
    "MultiheadAttention": ["16, 4", "8, 2, dropout=0.1, bias=False, batch_first=True",
                           "8, 2, kdim=4, vdim=6", "8, 2, add_bias_kv=True, add_zero_attn=True"],
}

_DROPOUT = {name: ["", "0.2", "p=0.0, inplace=True"]
            for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                         "FeatureAlphaDropout")}

_LOSS = {
    "L1Loss": ["", "reduction='sum'"], "MSELoss": ["", "reduction='none'"],
    "CrossEntropyLoss": ["", "label_smoothing=0.1", "ignore_index=0, reduction='sum'",
                         "weight=L.ones(3)"],
    "NLLLoss": ["", "ignore_index=-1, reduction='none'"], "NLLLoss2d": [""],
    "BCELoss": ["", "reduction='sum'"], "BCEWithLogitsLoss": ["", "pos_weight=L.ones(2)"],
    "KLDivLoss": ["", "reduction='batchmean', log_target=True"],
    "HuberLoss": ["", "delta=0.5"], "SmoothL1Loss": ["", "beta=0.5, reduction='sum'"],
    "SoftMarginLoss": [""], "MultiLabelMarginLoss": [""], "MultiLabelSoftMarginLoss": [""],
    "MultiMarginLoss": ["", "p=2, margin=0.5"], "CosineEmbeddingLoss": ["", "margin=0.2"],
    "MarginRankingLoss": ["margin=1.0"], "HingeEmbeddingLoss": ["margin=2.0"],
    "TripletMarginLoss": ["", "margin=0.5, p=1, swap=True"],
    "TripletMarginWithDistanceLoss": ["", "margin=2.0, swap=True"],
    "PoissonNLLLoss": ["", "log_input=False, full=True"], "GaussianNLLLoss": ["", "full=True, eps=1e-3"],
    "CTCLoss": ["", "blank=1, zero_infinity=True"],
    "AdaptiveLogSoftmaxWithLoss": ["16, 10, [4, 8]", "8, 20, cutoffs=[5, 10], div_value=2.0, head_bias=True"],
    "LinearCrossEntropyLoss": ["8, 10", "8, 10, bias=True, reduction='sum'"],
}

_RNN = {
    "RNN": ["10, 20", "10, 20, num_layers=2, nonlinearity='relu'", "4, 8, bias=False, batch_first=True",
            "4, 8, 2, dropout=0.5, bidirectional=True"],
    "LSTM": ["10, 20", "10, 20, num_layers=2, batch_first=True, dropout=0.1",
             "4, 8, bidirectional=True, proj_size=3", "4, 8, bias=False"],
    "GRU": ["10, 20", "10, 20, 3, batch_first=True, bidirectional=True", "4, 8, dropout=0.2, num_layers=2"],
    "RNNCell": ["10, 20", "4, 8, bias=False, nonlinearity='relu'"],
    "LSTMCell": ["10, 20", "4, 8, bias=False"],
    "GRUCell": ["10, 20", "4, 8, False"],
    "RNNBase": ["'LSTM', 4, 8"],
    "RNNCellBase": ["4, 8, True, 3"],
}

_TRANSFORMER = {
    "TransformerEncoderLayer": ["16, 2, dim_feedforward=32", "8, 2, 16, dropout=0.0, activation='gelu', "
                                "batch_first=True, norm_first=True"],
    "TransformerDecoderLayer": ["16, 2, dim_feedforward=32", "8, 2, 16, bias=False, layer_norm_eps=1e-6"],
    "TransformerEncoder": ["nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False",
                           "nn.TransformerEncoderLayer(8, 2, 16), 1, norm=nn.LayerNorm(8), "
                           "enable_nested_tensor=False"],
    "TransformerDecoder": ["nn.TransformerDecoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8)"],
    "Transformer": ["d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16"],
}

_OTHER = {
    "Linear": ["4, 3", "4, 3, bias=False", "1, 1, True"],
    "Bilinear": ["2, 3, 4", "2, 3, 4, bias=False"],
    "Embedding": ["10, 3", "10, 3, padding_idx=0", "10, 3, max_norm=1.0, norm_type=1.0, sparse=True",
                  "5, 2, scale_grad_by_freq=True, padding_idx=-1"],
    "EmbeddingBag": ["10, 3", "10, 3, mode='sum', padding_idx=2", "10, 3, max_norm=2.0, mode='max'",
                     "10, 3, include_last_offset=True, sparse=True"],
    "Flatten": ["", "0, 2", "start_dim=2"], "Unflatten": ["1, (2, 5)", "-1, L.Size([3, 4])"],
    "Fold": ["(4, 5), (2, 2)", "output_size=4, kernel_size=3, dilation=2, padding=1, stride=2"],
    "Unfold": ["(2, 3)", "kernel_size=2, dilation=1, padding=1, stride=2"],
    "PixelShuffle": ["3"], "PixelUnshuffle": ["2"], "ChannelShuffle": ["2"],
    "Upsample": ["scale_factor=2", "size=(4, 4), mode='bilinear', align_corners=True",
                 "scale_factor=(2.0, 1.5), mode='nearest-exact'", "size=5, mode='linear'",
                 "scale_factor=2, mode='bicubic', align_corners=False"],
    "UpsamplingNearest2d": ["scale_factor=2", "size=(3, 4)"],
    "UpsamplingBilinear2d": ["scale_factor=2.0", "size=8"],
    "CosineSimilarity": ["", "dim=0, eps=1e-6"], "PairwiseDistance": ["", "p=1.0, eps=1e-3, keepdim=True"],
    "Module": [""], "Container": [""],
}

_CONTAINERS = [
    "Sequential()",
    "Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(8, 2))",
    "Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)), "
    "nn.Flatten())",
    "Sequential(__import__('collections').OrderedDict([('fc1', nn.Linear(2, 3)), ('act', nn.Tanh()), "
    "('fc2', nn.Linear(3, 1, bias=False))]))",
    "ModuleList([nn.Linear(2, 2) for _ in range(3)])",  # repeated blocks collapse to "0-2: 3 x ..."
    "ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.ReLU(), nn.Linear(2, 3)])",
    "ModuleList([nn.Sequential(nn.Linear(2, 2), nn.ReLU()) for _ in range(4)])",
    "ModuleList()",
    "ModuleDict({'a': nn.Linear(1, 2), 'b': nn.ModuleList([nn.ReLU(), nn.Tanh()])})",
    "ModuleDict()",
    "ParameterList([nn.Parameter(L.zeros(3)), nn.Parameter(L.zeros(2, 2, dtype=L.float64))])",
    "ParameterList([nn.Parameter(L.zeros(3), requires_grad=False), L.zeros(1, dtype=L.float64), 'x'])",
    "ParameterList()",
    "ParameterDict({'w': nn.Parameter(L.ones(2, 3)), 'b': nn.Parameter(L.zeros(3))})",
    "ParameterDict({'p': nn.Parameter(L.ones(1), requires_grad=False), 'h': L.zeros(2, dtype=L.float16),"
    " 'c': L.zeros(1, dtype=L.complex64), 's': 'x'})",
    "ParameterDict()",
    "Sequential(nn.ModuleDict({'x': nn.Sequential(nn.ParameterList([nn.Parameter(L.ones(1))]))}), "
    "nn.ModuleList([nn.Identity()] * 2))",
]


def _flatten_cases():
    out = []
    for table in (_POOL_ND, _CONV, _PADS, _NORM, _ACTIVATION, _DROPOUT, _LOSS, _RNN, _TRANSFORMER, _OTHER):
        for name, arg_sets in table.items():
            out += [f"{name}({args})" for args in arg_sets]
    return out + _CONTAINERS


MODULE_CASES = _flatten_cases()


def build_module(lib, expr):
    """``nn.<expr>`` built with ``lib`` (torch or gradstep)."""
    return eval(f"nn.{expr}", {"nn": lib.nn, "L": lib})  # noqa: S307 - our own case strings


def module_class_names(torch):
    """Public non-Lazy nn.Module classes torch.nn.modules has."""
    import inspect

    mods = torch.nn.modules
    return sorted(n for n in dir(mods) if not n.startswith("_") and "Lazy" not in n
                  and inspect.isclass(getattr(mods, n)) and issubclass(getattr(mods, n), torch.nn.Module))


# ---------------------------------------------------------------- tensors
DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "bool", "complex64", "complex128"]


def _values(rng, shape, style):
    """float64 values of one style (the styles that change how torch picks its format)."""
    x = rng.standard_normal(shape)
    if style == "ints":
        return np.round(x * 50)
    if style == "huge":
        return x * 10.0 ** rng.integers(5, 12)
    if style == "tiny":
        return x * 10.0 ** -rng.integers(4, 9)
    if style == "mixed":
        return x * np.where(rng.random(shape) < 0.5, 1e-3, 1e4)
    if style == "special":
        flat = x.reshape(-1)
        for i, v in zip(rng.permutation(flat.size)[:3], (np.inf, -np.inf, np.nan)):
            flat[i] = v
        return flat.reshape(shape)
    if style == "negzero":
        return np.where(rng.random(shape) < 0.4, -0.0, np.round(x, 2))
    return x


STYLES = ["normal", "ints", "huge", "tiny", "mixed", "special", "negzero"]


def tensor_cases(seed, count):
    """``count`` (shape, style, dtype) triples, the same for a given seed."""
    rng = np.random.default_rng(seed)
    shapes = [(), (0,), (2, 0), (0, 3, 1), (1,), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (12, 9),
              (1001,), (40, 30), (3, 50, 8), (2, 2, 20, 20), (30,), (7, 13)]
    out = []
    for _ in range(count):
        shape = shapes[rng.integers(len(shapes))]
        style = STYLES[rng.integers(len(STYLES))]
        out.append((shape, style, DTYPES[rng.integers(len(DTYPES))], int(rng.integers(2**31))))
    return out


def make_array(shape, style, dtype, seed):
    """The NumPy data for one tensor case (bfloat16 is built from float32 data by the caller)."""
    rng = np.random.default_rng(seed)
    with np.errstate(invalid="ignore", over="ignore"):  # inf/nan styles, casts of them to ints
        return _cast(_values(rng, shape, style), rng, shape, style, dtype)


def _cast(x, rng, shape, style, dtype):
    if dtype.startswith("complex"):
        return (x + 1j * _values(rng, shape, style)).astype(dtype)
    if dtype == "bool":
        return x > 0
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return np.clip(np.nan_to_num(np.round(x), posinf=info.max, neginf=info.min),
                       info.min, info.max).astype(dtype)
    return x.astype("float32" if dtype == "bfloat16" else dtype)


# hand-picked tensors at the printer's switch points (each is printed under EDGE_OPTIONS too)
_I64 = np.iinfo(np.int64)
EDGE_TENSORS = {
    "int64_extremes": lambda L: L.tensor([_I64.min, _I64.max, 0]),
    "int8_extremes": lambda L: L.tensor([-128, 127], dtype=L.int8),
    "sci_at_1e8": lambda L: L.tensor([1e8, 1.0]), "fixed_below_1e8": lambda L: L.tensor([99999999.0, 1.0]),
    "fixed_at_1e-4": lambda L: L.tensor([1e-4, 1.0]), "sci_below_1e-4": lambda L: L.tensor([0.99e-4, 1.0]),
    "ratio_1000": lambda L: L.tensor([1.0, 1000.0]), "ratio_1001": lambda L: L.tensor([1.0, 1001.0]),
    "bfloat16_rounding": lambda L: L.tensor([257.0, 1e10, 3.3]).bfloat16(),
    "bfloat16_ints": lambda L: L.arange(300.0).bfloat16()[250:260],
    "float16_overflow": lambda L: L.tensor([70000.0, 1.0]).half(),
    "float16_subnormal": lambda L: L.tensor([1e-7, 1.0]).half(),
    "complex_sci": lambda L: L.tensor([1e-6 + 1e6j, 1 + 1j]),
    "complex_nan_inf": lambda L: L.tensor([complex(float("nan"), 1), complex(1, float("inf"))]),
    "complex_ints": lambda L: L.tensor([1 + 2j, -3 - 4j]), "complex_negzero": lambda L: L.tensor([complex(-0.0, -0.0), 1j]),
    "complex128": lambda L: L.tensor([1.5 + 2.25j], dtype=L.complex128), "complex_0d": lambda L: L.tensor(1 + 2j),
    "complex_summarized": lambda L: (L.arange(2000.0) * (1 + 1j)).reshape(40, 50),
    "transposed": lambda L: L.arange(12.0).reshape(3, 4).t(), "strided": lambda L: L.arange(20.0)[::3],
    "expanded": lambda L: L.tensor([1.0, 2.0]).expand(3, 2), "ones_1x1x1": lambda L: L.ones(1, 1, 1),
    "summarized_4d": lambda L: L.arange(3 * 4 * 50 * 60.0).reshape(3, 4, 50, 60) / 7,
    "suffix_wraps": lambda L: (L.arange(8.0) * 1.123456).requires_grad_(),
    "two_suffixes_wrap": lambda L: (L.arange(7.0) * 11.123456).double().requires_grad_(),
    "grad_fn_wraps": lambda L: (L.arange(7.0, requires_grad=True) * 11.123456).double(),
    "dtype_wraps": lambda L: (L.arange(9.0) * 1.1).half(),
    "negative_only": lambda L: L.tensor([-1.0, -2.5]), "all_nan": lambda L: L.tensor([float("nan")] * 3),
    "all_inf": lambda L: L.tensor([float("inf"), -float("inf")]), "zeros": lambda L: L.zeros(3, 3),
    "negative_zeros": lambda L: L.tensor([-0.0, -0.0]), "negative_zero_0d": lambda L: L.tensor(-0.0),
    "bool_0d": lambda L: L.tensor(False), "int8_0d": lambda L: L.tensor(3, dtype=L.int8),
    "uint8": lambda L: L.arange(256, dtype=L.uint8)[250:], "bool_summarized": lambda L: L.ones(2000, dtype=L.bool),
    "long_summarized": lambda L: L.arange(-1000, 1000).reshape(20, 100) * 1000000,
    "empty_requires_grad": lambda L: L.zeros(0, requires_grad=True),
    "empty_3d_int32": lambda L: L.zeros(2, 0, 3, dtype=L.int32),
    "empty_bool": lambda L: L.zeros(0, dtype=L.bool), "empty_complex": lambda L: L.zeros(0, dtype=L.complex64),
    "threshold_plus_one": lambda L: L.arange(1001.0), "threshold": lambda L: L.arange(1000.0),
    "linspace": lambda L: L.linspace(0, 1, 11), "float_sum": lambda L: L.tensor([0.1 + 0.2, 1 / 3]),
    "float64_digits": lambda L: L.tensor([0.1 + 0.2], dtype=L.float64),
    "sci_negative": lambda L: L.tensor([-1e-10, 5e20]), "huge_integral": lambda L: L.tensor([1e15, 2e15]),
    "huge_integral_mixed": lambda L: L.tensor([123456789012.0, 1.0]),
    "int_with_nan": lambda L: L.tensor([1.0, float("nan"), 3.0]), "int_with_inf": lambda L: L.tensor([float("inf"), 2.0]),
}
EDGE_OPTIONS = [dict(), dict(precision=10), dict(sci_mode=True), dict(sci_mode=False), dict(linewidth=30),
                dict(edgeitems=1, threshold=3)]


def _seeded(L, make):
    L.manual_seed(0)
    return make(L)


# values drawn from the seeded generator: gradstep's streams are torch's, so programs that print
# random tensors print the same numbers
SEEDED = {
    "rand": lambda L: L.rand(3), "randn": lambda L: L.randn(2, 3), "randint": lambda L: L.randint(0, 10, (5,)),
    "randperm": lambda L: L.randperm(6), "linear_weight": lambda L: L.nn.Linear(3, 2).weight,
    "conv_bias": lambda L: L.nn.Conv2d(1, 1, 2).bias,
    "param_groups": lambda L: L.optim.SGD(L.nn.Linear(2, 1).parameters(), lr=0.1).param_groups,
    "linear_state_dict": lambda L: L.nn.Linear(2, 2).state_dict(),
    "shuffled_batches": lambda L: list(L.utils.data.DataLoader(L.arange(6), batch_size=3, shuffle=True)),
    "random_split": lambda L: [list(s) for s in L.utils.data.random_split(range(6), [4, 2])],
    "dropout": lambda L: L.nn.functional.dropout(L.ones(8), 0.5),
    "multinomial": lambda L: L.multinomial(L.tensor([0.2, 0.8]), 5, replacement=True),
    "normal_": lambda L: L.empty(3).normal_(), "uniform_": lambda L: L.empty(3).uniform_(-1, 1),
    "distribution_sample": lambda L: L.distributions.Normal(0.0, 1.0).sample((3,)),
}
SEEDED_CASES = {name: functools.partial(_seeded, make=make) for name, make in SEEDED.items()}
