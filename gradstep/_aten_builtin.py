"""The ``torch.ops.aten`` operators that programs name: ``torch.ops.aten.mm.default`` & co.

gradstep has no dispatcher, so ``torch.ops.aten`` holds only the operators that Python code
refers to by object: the ops a selective-checkpoint policy lists (``mm``, ``addmm``, ``bmm``,
``convolution``, the attention kernels, ...), each an ``OpOverload`` with torch's schema whose
call runs gradstep's function. The GPU-only kernels (flash / memory-efficient / cuDNN attention)
have no CPU kernel, as in torch's CPU build: calling them raises torch's NotImplementedError.

``op_for_node_name`` maps a graph node's name (``AddmmBackward0``) to its aten op, which is how
``utils.checkpoint``'s selective policies see gradstep's ops.
"""

from __future__ import annotations

import re

#: name -> (torch's schema, kernel factory or None for a GPU-only op)
_TABLE = {
    "mm": "mm(Tensor self, Tensor mat2) -> Tensor",
    "bmm": "bmm(Tensor self, Tensor mat2) -> Tensor",
    "addmm": "addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) "
             "-> Tensor",
    "baddbmm": "baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, "
               "Scalar alpha=1) -> Tensor",
    "matmul": "matmul(Tensor self, Tensor other) -> Tensor",
    "mv": "mv(Tensor self, Tensor vec) -> Tensor",
    "dot": "dot(Tensor self, Tensor tensor) -> Tensor",
    "linear": "linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor",
    "convolution": "convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, "
                   "SymInt[] padding, SymInt[] dilation, bool transposed, "
                   "SymInt[] output_padding, SymInt groups) -> Tensor",
    "relu": "relu(Tensor self) -> Tensor",
    "gelu": 'gelu(Tensor self, *, str approximate="none") -> Tensor',
    "silu": "silu(Tensor self) -> Tensor",
    "sigmoid": "sigmoid(Tensor self) -> Tensor",
    "tanh": "tanh(Tensor self) -> Tensor",
    "detach": "detach(Tensor(a) self) -> Tensor(a)",
    "_scaled_dot_product_flash_attention":
        "_scaled_dot_product_flash_attention(Tensor query, Tensor key, Tensor value, "
        "float dropout_p=0., bool is_causal=False, bool return_debug_mask=False, *, "
        "float? scale=None) -> (Tensor output, Tensor logsumexp, Tensor cum_seq_q, "
        "Tensor cum_seq_k, SymInt max_q, SymInt max_k, Tensor rng_state, Tensor unused, "
        "Tensor debug_attn_mask)",
    "_scaled_dot_product_efficient_attention":
        "_scaled_dot_product_efficient_attention(Tensor query, Tensor key, Tensor value, "
        "Tensor? attn_bias, bool compute_log_sumexp, float dropout_p=0., bool is_causal=False, "
        "*, float? scale=None) -> (Tensor output, Tensor log_sumexp, Tensor philox_seed, "
        "Tensor philox_offset)",
    "_scaled_dot_product_cudnn_attention":
        "_scaled_dot_product_cudnn_attention(Tensor query, Tensor key, Tensor value, "
        "Tensor? attn_bias, bool compute_log_sumexp, float dropout_p=0., bool is_causal=False, "
        "bool return_debug_mask=False, *, float? scale=None) -> (Tensor output, "
        "Tensor logsumexp, Tensor cum_seq_q, Tensor cum_seq_k, SymInt max_q, SymInt max_k, "
        "Tensor philox_seed, Tensor philox_offset, Tensor debug_attn_mask)",
}
_GPU_ONLY = frozenset(n for n in _TABLE if n.startswith("_scaled_dot_product"))

#: graph node names whose aten op is not the snake_case of the name
_NODE_NAMES = {"ConvolutionBackward0": "convolution", "MmBackward0": "mm",
               "BmmBackward0": "bmm", "AddmmBackward0": "addmm", "BaddbmmBackward0": "baddbmm",
               "MatmulBackward0": "matmul", "ReluBackward0": "relu", "GeluBackward0": "gelu",
               "SiluBackward0": "silu", "SigmoidBackward0": "sigmoid", "TanhBackward0": "tanh",
               "MvBackward0": "mv", "DotBackward0": "dot"}


def _kernel(name):
    import gradstep as g
    from gradstep.nn import functional as F

    if name == "convolution":
        return _convolution
    if name in ("linear", "gelu", "silu"):
        return getattr(F, name)
    if name == "detach":
        return lambda t: t.detach()
    return getattr(g, name)


def _convolution(input, weight, bias, stride, padding, dilation, transposed,  # noqa: A002
                 output_padding, groups):
    from gradstep.nn import functional as F

    nd = input.dim() - 2
    if transposed:
        fn = getattr(F, f"conv_transpose{nd}d")
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{nd}d")(input, weight, bias, stride, padding, dilation, groups)


def entry(name):
    """The ``OperatorEntry`` of built-in ``aten::<name>``, defined on first use; None if gradstep
    does not list it."""
    from . import _ops_namespace as ns
    from ._library_schema import parse_schema

    if name not in _TABLE:
        return None
    qual = f"aten::{name}"
    found = ns._OPERATORS.get(qual)
    if found is not None:
        return found
    e = ns.define("aten", parse_schema(_TABLE[name]))
    if name not in _GPU_ONLY:
        e.kernels["CompositeImplicitAutograd"] = _kernel(name)
    return e


def op_for_node_name(node_name):
    """``torch.ops.aten.<op>.default`` for a graph node named ``node_name`` (None if unlisted)."""
    name = _NODE_NAMES.get(node_name)
    if name is None:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"Backward\d*$", "", node_name)).lower()
    if name not in _TABLE:
        return None
    from . import _ops_namespace as ns

    return getattr(ns.namespace("aten"), name).default
