"""How much of torch's public API gradstep has, per namespace, measured against the installed torch.

Run: ``python bench/api_coverage.py`` (prints a table; ``--missing NS`` lists what is missing
in one namespace; ``--json`` prints the figures as JSON, which ``tests/test_api_coverage.py``
compares with the recorded floor).

A name counts when gradstep has an attribute of the same name at the same place. What is
excluded is listed below, one family per line with its reason; nothing else is left out.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types

# Families of torch names that gradstep does not aim to provide, each with why.
EXCLUDED = [
    (r"^(cuda|cudnn|miopen|mps|xpu|mtia|hip|xla|ipu|hpu|vulkan|mkldnn|fbgemm)_|_(cuda|cudnn|miopen|mkldnn)$",
     "device-kernel entry points (CUDA, cuDNN, MIOpen, MPS, oneDNN, FBGEMM): gradstep runs on NumPy"),
    (r"quantiz|^q_|^int_repr$|^dequantize$|qparams|^fake_quant|^fused_moving_avg",
     "quantization: integer inference kernels, not training"),
    (r"sparse|^(c|r)(ow|ol)_indices|^ccol_|^crow_|^indices_copy$|^values_copy$|^hspmm$|^(d|h)smm$|^smm$|^sspaddmm$",
     "sparse layouts"),
    (r"^sym_|^Sym|^_?sym|^guard|^is_symbolic|^unravel_index_sym",
     "symbolic shapes for torch.compile"),
    (r"^(batch_norm|instance_norm|layer_norm|group_norm)_(backward|elemt|stats|gather|update|reduce)|^native_|"
     r"_backward$|^convolution$|^conv_tbc$|^(lstm|gru|rnn_tanh|rnn_relu)(_cell)?$|^ctc_loss$|^embedding_renorm_$|"
     r"^grid_sampler(_2d|_3d)?$|^affine_grid_generator$|^constant_pad_nd$|^cudnn_is_acceptable$|^_",
     "ATen internals reachable from torch.* that programs call through nn.functional"),
    (r"^(import_ir_module|import_ir_module_from_buffer|fork|wait|compiled_with_cxx11_abi|get_file_path|"
     r"classproperty|from_dlpack|is_vulkan_available|set_vital|vitals_enabled|read_vitals|"
     r"autocast_(increment|decrement)_nesting|set_autocast_(ipu|xla|gpu)_(enabled|dtype)|"
     r"get_autocast_(ipu|xla|gpu)_dtype|is_autocast_(ipu|xla)_enabled|unify_type_list|"
     r"merge_type_from_type_comment|parse_(ir|schema|type_comment)|cond|while_loop|export|"
     r"vmap|library|use_deterministic_algorithms_warn_only|set_warn_always|is_warn_always_enabled|"
     r"get_device_module|hash_tensor|empty_quantized|from_file|is_storage|typename|"
     r"set_deterministic_debug_mode|get_deterministic_debug_mode)$",
     "TorchScript, compiler, dlpack and runtime plumbing"),
    (r"_copy$|_scatter$", "the *_copy/*_scatter view-op variants generated for functionalization"),
]

SKIP_MODULE_NAMES = {"Tensor"}  # classes are counted separately (nn modules, Tensor methods)


def _excluded(name):
    return any(re.search(pattern, name) for pattern, _ in EXCLUDED)


def _public(obj):
    return [n for n in dir(obj) if not n.startswith("_")]


def torch_functions(torch):
    out = []
    for n in _public(torch):
        v = getattr(torch, n)
        if isinstance(v, types.ModuleType) or inspect.isclass(v) or not callable(v):
            continue
        if n in SKIP_MODULE_NAMES or _excluded(n):
            continue
        out.append(n)
    return out


def tensor_methods(torch):
    out = []
    for n in _public(torch.Tensor):
        if _excluded(n) or n in {"is_cuda", "is_xpu", "is_mps", "is_ipu", "is_xla", "is_mtia", "is_maia",
                                 "is_vulkan", "is_quantized", "is_sparse_csr", "q_scale"}:
            continue
        out.append(n)
    return out


def nn_modules(torch):
    out = []
    for n in _public(torch.nn):
        v = getattr(torch.nn, n)
        if inspect.isclass(v) and issubclass(v, torch.nn.Module) and not n.startswith("Lazy"):
            out.append(n)
    return out


def nn_functional(torch):
    F = torch.nn.functional
    out = []
    for n in _public(F):
        v = getattr(F, n)
        if isinstance(v, types.ModuleType) or inspect.isclass(v) or not callable(v):
            continue
        if n in {"boolean_dispatch", "handle_torch_function", "has_torch_function",
                 "has_torch_function_unary", "has_torch_function_variadic", "assert_int_or_pair"}:
            continue  # torch's own dispatch helpers re-exported by the module
        out.append(n)
    return out


def _module_names(mod, prefix):
    out = []
    for n in _public(mod):
        v = getattr(mod, n)
        if isinstance(v, types.ModuleType):
            continue
        if not str(getattr(v, "__module__", None)).startswith(mod.__name__):
            continue  # names re-exported from elsewhere (Tensor, Module, typing) and constants
        out.append(f"{prefix}{n}")
    return out


def nn_utils(torch):
    import torch.nn.utils.parametrizations
    import torch.nn.utils.parametrize
    import torch.nn.utils.prune
    import torch.nn.utils.rnn
    import torch.nn.utils.stateless  # noqa: F401

    U = torch.nn.utils
    out = [n for n in _module_names(U, "") if not n.startswith("fusion")]
    for sub in ("rnn", "parametrize", "parametrizations", "prune", "stateless"):
        out += _module_names(getattr(U, sub), f"{sub}.")
    return out


def autograd_names(torch):
    import torch.autograd.forward_ad
    import torch.autograd.functional
    import torch.autograd.graph  # noqa: F401

    A = torch.autograd
    skip = {"profiler", "profiler_util", "variable", "anomaly_mode", "grad_mode", "gradcheck", "function",
            "forward_ad", "functional", "graph", "Variable", "NestedIOFunction", "kineto_available",
            "DeviceType", "ProfilerActivity", "ProfilerState", "ProfilerConfig", "SavedTensor",
            "FunctionMeta", "InplaceFunction", "Any", "Optional", "Union", "cast", "Sequence"}
    out = [n for n in _module_names(A, "") if n not in skip]
    for sub in ("functional", "graph", "forward_ad"):
        out += [n for n in _module_names(getattr(A, sub), f"{sub}.") if n.split(".")[-1] not in skip]
    return out


def _has(root, dotted):
    obj = root
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


NAMESPACES = [
    ("torch.* functions", torch_functions, lambda g: g),
    ("Tensor methods", tensor_methods, lambda g: g.Tensor),
    ("nn modules (non-Lazy)", nn_modules, lambda g: g.nn),
    ("nn.functional", nn_functional, lambda g: g.nn.functional),
    ("nn.utils (with submodules)", nn_utils, lambda g: g.nn.utils),
    ("autograd (functional, graph, forward_ad)", autograd_names, lambda g: g.autograd),
]


def _import_gradstep_parts(gradstep):
    """Import gradstep's optional submodules so that ``hasattr`` sees them."""
    import importlib

    for name in ("nn.utils.rnn", "nn.utils.parametrize", "nn.utils.parametrizations", "nn.utils.prune",
                 "nn.utils.stateless", "autograd.functional", "autograd.graph", "autograd.forward_ad"):
        try:
            importlib.import_module(f"gradstep.{name}")
        except ImportError:
            pass


def measure():
    import torch

    import gradstep

    _import_gradstep_parts(gradstep)
    rows = []
    for title, names_of, root_of in NAMESPACES:
        names = sorted(set(names_of(torch)))
        root = root_of(gradstep)
        missing = [n for n in names if not _has(root, n)]
        rows.append({"namespace": title, "torch": len(names), "gradstep": len(names) - len(missing),
                     "missing": missing})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--missing", metavar="NAMESPACE", help="list the missing names of namespaces containing this text")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    rows = measure()
    if args.json:
        print(json.dumps([{k: r[k] for k in ("namespace", "torch", "gradstep")} for r in rows]))
        return 0
    print("| namespace | gradstep / torch | share |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['namespace']} | {r['gradstep']} / {r['torch']} | {100 * r['gradstep'] / r['torch']:.0f}% |")
    if args.missing:
        for r in rows:
            if args.missing.lower() in r["namespace"].lower():
                print(f"\nmissing in {r['namespace']} ({len(r['missing'])}):")
                print(" ".join(r["missing"]))
    print("\nexcluded families:")
    for _, reason in EXCLUDED:
        print(f"- {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
