"""torch.library: define custom operators in Python and call them eagerly.

gradstep has no compiler and no C++ dispatcher, so this is the eager part of torch's
API: ``custom_op``/``CustomOpDef``, ``Library``, ``define``/``impl``, the ``register_*``
functions and ``opcheck``. Ops are reachable as ``torch.ops.ns.name`` (see
:mod:`gradstep._ops_namespace`). Fake ("meta") implementations are accepted and stored;
eager never needs them, and :func:`opcheck` checks them against the real kernel.
"""

from __future__ import annotations

import contextlib
import warnings

from . import _ops_namespace as _ops
from ._library_schema import infer_schema, parse_schema
from ._tensor import Tensor

__all__ = ["CustomOpDef", "Library", "custom_op", "define", "fallthrough_kernel", "get_ctx",
           "impl", "impl_abstract", "infer_schema", "opcheck", "register_autocast",
           "register_autograd", "register_fake", "register_kernel", "register_torch_dispatch",
           "register_vmap"]

_LIBRARY_KINDS = ("DEF", "IMPL", "FRAGMENT")
_DEF_NAMESPACES: set[str] = set()
_DEVICE_KEYS = {"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "mps": "MPS", "xpu": "XPU",
                "hip": "HIP", "xla": "XLA", "hpu": "HPU", "mtia": "MTIA", "lazy": "Lazy",
                "privateuseone": "PrivateUse1"}
_DISPATCH_KEYS = {*_DEVICE_KEYS.values(), *_ops.COMPOSITE_KEYS, *_ops.AUTOGRAD_KEYS,
                  "AutogradXPU", "AutogradMPS", "AutogradMeta", "BackendSelect", "Python",
                  "Functionalize", "ADInplaceOrView", "Autocast", "AutocastCPU", "AutocastCUDA",
                  "FuncTorchBatched", "CompositeImplicitAutogradNestedTensor"}
_PENDING: dict[str, dict[str, object]] = {}  # kernels given to Library.impl before the define
_keep_alive: list[Library] = []


# ------------------------------------------------------------------ op lookup helpers
def _split_qualname(name: str) -> tuple[str, str]:
    parts = name.split("::")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"Expected an operator name of the form 'namespace::opname' "
                         f"(for example 'mylib::foo'), got {name!r} "
                         f"(expected 2 parts separated by '::', got {len(parts)})")
    return parts[0], parts[1]


def _entry(op) -> _ops.OperatorEntry:
    if isinstance(op, CustomOpDef):
        return op._entry
    if isinstance(op, (_ops.OpOverload, _ops.OpOverloadPacket)):
        return op._entry
    if isinstance(op, str):
        _split_qualname(op.split(".")[0])
        return _ops.lookup(op)
    raise TypeError(f"Expected an operator: a 'namespace::name' string, a torch.ops OpOverload "
                    f"or a CustomOpDef, got {type(op).__name__}")


def _device_dispatch_key(device_type: str | None) -> str:
    if device_type is None or device_type == "default":
        return "CompositeExplicitAutograd"
    if device_type in _DISPATCH_KEYS:
        return device_type
    key = _DEVICE_KEYS.get(str(device_type).split(":")[0])
    if key is None:
        raise RuntimeError(f"Expected one of {', '.join(_DEVICE_KEYS)} device type at start of "
                           f"device string: {device_type}")
    return key


def _device_types(device_types) -> list:
    if device_types is None or isinstance(device_types, str):
        return [device_types]
    return list(device_types)


# ------------------------------------------------------------------ Library
class Library:
    """``Library(ns, kind)``: a handle to define ("DEF"/"FRAGMENT") or implement ("IMPL") ops."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = ""):
        if kind not in _LIBRARY_KINDS:
            raise ValueError(f"Unsupported kind: {kind}")
        if ns in ("prim", "aten") and kind in ("DEF", "FRAGMENT"):
            raise ValueError(f"{ns} is a reserved namespace. Please try creating a library with "
                             "another name.")
        if kind == "DEF":
            if ns in _DEF_NAMESPACES:
                raise RuntimeError(
                    f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; "
                    "please put all of your definitions in a single TORCH_LIBRARY block.  If you "
                    "were trying to specify implementations, consider using TORCH_LIBRARY_IMPL "
                    "(which can be duplicated).  If you really intended to define operators for a "
                    "single namespace in a distributed way, you can use TORCH_LIBRARY_FRAGMENT to "
                    "explicitly indicate this. ")
            _DEF_NAMESPACES.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._op_defs: set[str] = set()
        self._registered: list[tuple[str, str, object]] = []

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        """Define an operator from its schema text ``name(Type arg, ...) -> Ret``; returns name."""
        if alias_analysis not in ("", "FROM_SCHEMA", "CONSERVATIVE"):
            raise RuntimeError(f"Invalid alias_analysis type {alias_analysis}")
        parsed = parse_schema(schema)
        entry = _ops.define(self.ns, parsed)
        self._op_defs.add(entry.qualname)
        entry.kernels.update(_PENDING.pop(entry.qualname, {}))
        return parsed.name

    def _qualname(self, op_name) -> str:
        if isinstance(op_name, (_ops.OpOverload, _ops.OpOverloadPacket)):
            return op_name._entry.qualname
        if not isinstance(op_name, str):
            raise TypeError(f"impl should be passed either a name or an OpOverload object as the "
                            f"first argument, got {type(op_name).__name__}")
        name = op_name.split(".")[0]
        return name if "::" in name else f"{self.ns}::{name}"

    def impl(self, op_name, fn, dispatch_key: str = "", *, with_keyset: bool = False,
             allow_override: bool = True):
        """Register ``fn`` as op ``op_name``'s kernel for ``dispatch_key``."""
        if not callable(fn):
            raise TypeError(f"Input function is required to be a callable but found type {type(fn)}")
        key = dispatch_key or self.dispatch_key or "CompositeImplicitAutograd"
        if key not in _DISPATCH_KEYS:
            raise RuntimeError(f"could not parse dispatch key: {key}")
        if with_keyset:
            fn = _with_keyset(fn)
        qualname = self._qualname(op_name)
        entry = _ops._OPERATORS.get(qualname)
        kernels = entry.kernels if entry is not None else _PENDING.setdefault(qualname, {})
        if key in kernels:
            warnings.warn(f"Overriding a previously registered kernel for the same operator and "
                          f"the same dispatch key\n  operator: {qualname}\n  dispatch key: {key}",
                          UserWarning, stacklevel=2)
        kernels[key] = fn
        self._registered.append((qualname, key, fn))

    def fallback(self, fn, dispatch_key: str = "", *, with_keyset: bool = False):
        raise NotImplementedError("Library.fallback: gradstep has no dispatcher to fall back in")

    def _register_fake(self, op_name, fn, _stacklevel=1, *, allow_override=True):
        _ops.lookup(self._qualname(op_name)).fake = fn

    def _destroy(self):
        """Undo this library's registrations (torch does it when the Library is collected)."""
        for qualname, key, fn in self._registered:
            entry = _ops._OPERATORS.get(qualname)
            if entry is not None and entry.kernels.get(key) is fn:
                del entry.kernels[key]
        for qualname in self._op_defs:
            _ops.undefine(qualname)
        if self.kind == "DEF":
            _DEF_NAMESPACES.discard(self.ns)
        self._registered, self._op_defs = [], set()


def _with_keyset(fn):
    def kernel(*args, **kwargs):
        return fn(None, *args, **kwargs)  # gradstep has no DispatchKeySet to pass
    return kernel


def fallthrough_kernel():
    """torch's marker kernel; gradstep has no dispatch keys to fall through."""
    raise NotImplementedError("fallthrough_kernel() is a marker and should not be called")


# ------------------------------------------------------------------ function API
def define(qualname, schema, *, lib=None, tags=()):
    """``define("mylib::foo", "(Tensor x) -> Tensor")``; usable as a decorator's companion."""
    ns, name = _split_qualname(qualname)
    if lib is None:
        lib = Library(ns, "FRAGMENT")
        _keep_alive.append(lib)
    if not schema.lstrip().startswith("("):
        raise ValueError(f"define(qualname, schema): expected schema to start with '(' "
                         f"(the name is in qualname), got {schema!r}")
    lib.define(name + schema, tags=tags)


def impl(qualname, types, func=None, *, lib=None):
    """``@impl("mylib::foo", "cpu")``: register a kernel for device type(s) or dispatch key."""
    keys = [_device_dispatch_key(t) for t in _device_types(types)]
    _entry(qualname)  # torch refuses an impl for an op that is not defined

    def register(fn):
        target = lib
        if target is None:
            target = Library(_split_qualname(qualname.split(".")[0])[0], "FRAGMENT")
            _keep_alive.append(target)
        for key in keys:
            target.impl(qualname, fn, key)
        return fn

    return register if func is None else register(func)


def register_kernel(op, device_types, func=None, /, *, lib=None):
    """Register a device-specific kernel for ``op`` (a custom op or a defined op)."""
    if isinstance(op, CustomOpDef):
        return op.register_kernel(device_types, func)
    entry = _entry(op)
    keys = [_device_dispatch_key(t) for t in _device_types(device_types)]

    def register(fn):
        for key in keys:
            entry.kernels[key] = fn
        return fn

    return register if func is None else register(func)


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=True):
    """Register the fake (meta) implementation: its output's shape/dtype from the inputs'."""
    if isinstance(op, CustomOpDef):
        return op.register_fake(func) if func is not None else op.register_fake
    entry = _entry(op)

    def register(fn):
        entry.fake = fn
        return fn

    return register if func is None else register(func)


impl_abstract = register_fake  # torch's older name


def register_autograd(op, backward, /, *, setup_context=None, lib=None) -> None:
    """Use ``backward(ctx, *grads)`` (after ``setup_context(ctx, inputs, output)``) for op's grads."""
    if isinstance(op, CustomOpDef):
        op.register_autograd(backward, setup_context=setup_context)
        return
    _set_autograd(_entry(op), backward, setup_context)


def _set_autograd(entry, backward, setup_context):
    if entry.schema.is_mutable:
        raise RuntimeError(
            f"Cannot register autograd formula for non-functional operator {entry.qualname} with "
            f"schema {entry.schema.text}. Please create a functional operator and register an "
            "autograd formula for that.")
    entry.backward = backward
    entry.setup_context = setup_context


def register_torch_dispatch(op, torch_dispatch_class, func=None, /, *, lib=None):
    raise NotImplementedError("register_torch_dispatch: gradstep has no __torch_dispatch__ "
                              "(no tensor subclass dispatch), so the rule would never run")


def register_vmap(op, func=None, /, *, lib=None):
    """Accepted and stored; gradstep's vmap runs an op's kernel per sample, so it is unused."""
    entry = _entry(op)

    def register(fn):
        entry.vmap = fn
        return fn

    return register if func is None else register(func)


def register_autocast(op, device_type, cast_inputs, /, *, lib=None):
    """Accepted: gradstep's autocast does not cast the inputs of custom ops."""
    _entry(op)


def get_ctx():
    raise RuntimeError("torch.library.get_ctx() is only valid inside a fake implementation run "
                       "by a fake-tensor trace, and gradstep never traces (it runs eagerly)")


def triton_op(name, fn=None, /, *, mutates_args, schema=None):
    raise NotImplementedError("triton_op: gradstep has no Triton; use torch.library.custom_op")


def wrap_triton(triton_kernel, /):
    raise NotImplementedError("wrap_triton: gradstep has no Triton")


# ------------------------------------------------------------------ custom_op
class CustomOpDef:
    """What ``custom_op`` returns: callable, with ``register_*`` methods for more behaviour."""

    def __init__(self, namespace: str, name: str, schema: str, fn):
        self._namespace, self._name, self._schema = namespace, name, schema
        self._init_fn = fn
        self._disabled_kernel: set = set()
        qualname = f"{namespace}::{name}"
        previous = _ops._OPERATORS.get(qualname)
        if previous is not None and previous.custom_autograd:
            _ops.undefine(qualname)  # torch lets a custom_op be redefined (notebooks, reloads)
        self._entry = _ops.define(namespace, parse_schema(name + schema), custom_op=True)
        self._opoverload = _ops.OpOverload(self._entry)
        self.__name__ = name
        self.__doc__ = getattr(fn, "__doc__", None)

    @property
    def _qualname(self) -> str:
        return f"{self._namespace}::{self._name}"

    def __repr__(self):
        return f"<CustomOpDef({self._qualname})>"

    def __call__(self, *args, **kwargs):
        return self._entry(*args, **kwargs)

    def register_kernel(self, device_types, fn=None, /):
        """Use ``fn`` on tensors of ``device_types`` ("cpu", "cuda", a list, or None for any)."""
        keys = [(t, _device_dispatch_key(t)) for t in _device_types(device_types)]

        def register(kernel):
            for device_type, key in keys:
                self._entry.kernels[key] = self._wrap_kernel(device_type, kernel)
            return kernel

        return register if fn is None else register(fn)

    def _wrap_kernel(self, device_type, kernel):
        def run(*args, **kwargs):
            chosen = self._init_fn if device_type in self._disabled_kernel else kernel
            return chosen(*args, **kwargs)
        return run

    @contextlib.contextmanager
    def set_kernel_enabled(self, device_type: str, enabled: bool = True):
        """Temporarily fall back to the original function for ``device_type``."""
        was_disabled = device_type in self._disabled_kernel
        (self._disabled_kernel.discard if enabled else self._disabled_kernel.add)(device_type)
        try:
            yield
        finally:
            (self._disabled_kernel.add if was_disabled else self._disabled_kernel.discard)(device_type)

    def register_fake(self, fn, /):
        self._entry.fake = fn
        return fn

    def register_autograd(self, backward, /, *, setup_context=None):
        _set_autograd(self._entry, backward, setup_context)

    def register_torch_dispatch(self, torch_dispatch_class, fn=None, /):
        return register_torch_dispatch(self, torch_dispatch_class, fn)

    def register_vmap(self, func=None, /):
        return register_vmap(self, func)

    def register_autocast(self, device_type, cast_inputs):
        register_autocast(self, device_type, cast_inputs)


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Wrap a Python function into an operator ``torch.ops.<ns>.<name>`` (decorator or call)."""

    def wrap(func):
        schema_text = schema if schema is not None else infer_schema(func, mutates_args=mutates_args)
        namespace, opname = _split_qualname(name)
        op = CustomOpDef(namespace, opname, schema_text, func)
        if schema is not None:
            _check_declared_mutations(op._entry.schema, mutates_args, schema)
        op.register_kernel(device_types)(func)
        return op

    return wrap if fn is None else wrap(fn)


def _check_declared_mutations(parsed, mutates_args, schema):
    expected = {a.name for a in parsed.arguments if a.is_mutated}
    declared = set() if isinstance(mutates_args, str) else set(mutates_args)
    if expected != declared:
        raise ValueError(
            f"Attempted to create a custom op with `mutates_args={mutates_args}` and "
            f"`schema={schema}. The schema suggests that the op mutates {expected}which is "
            "different from what was provided to us in `mutates_args`. Please make these "
            "consistent.")


# ------------------------------------------------------------------ opcheck
def opcheck(op, args, kwargs=None, *, test_utils=("test_schema", "test_autograd_registration",
                                                     "test_faketensor", "test_aot_dispatch_dynamic"),
            raise_exception=True, atol=None, rtol=None):
    """Run ``op`` and the checks eager can make: undeclared mutation, autograd and fake impl.

    Returns ``{test: "SUCCESS" or the exception}`` like torch; the compile check
    (test_aot_dispatch_dynamic) has nothing to compile here and passes.
    """
    entry = _entry(op)
    kwargs = kwargs or {}
    tests = [test_utils] if isinstance(test_utils, str) else list(test_utils)
    checks = {"test_schema": _check_schema, "test_autograd_registration": _check_autograd,
              "test_faketensor": _check_fake, "test_aot_dispatch_dynamic": lambda *_: None}
    results = {}
    for test in tests:
        if test not in checks:
            raise ValueError(f"test_utils must be a subset of {tuple(checks)}, got {test!r}")
        try:
            checks[test](entry, args, kwargs)
            results[test] = "SUCCESS"
        except Exception as e:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {test} failed with {e}") from e
            results[test] = e
    return results


class OpCheckError(Exception):
    """An ``opcheck`` test failed (torch's torch.testing._internal.optests.OpCheckError)."""


def _tensors(values):
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors(v)


def _check_schema(entry, args, kwargs):
    from .autograd.grad_mode import no_grad

    with no_grad():
        snapshot = [(a, t.detach().clone()) for a in entry.schema.arguments if not a.is_mutated
                    for t in _tensors([_value_of(entry, a, args, kwargs)])]
        entry(*args, **kwargs)
    for arg, before in snapshot:
        current = _value_of(entry, arg, args, kwargs)
        for now in _tensors([current]):
            if now.shape != before.shape or not bool((now == before).all()):
                raise RuntimeError(f"{entry.qualname} mutated its argument '{arg.name}', which "
                                   "its schema does not declare as mutated (add it to "
                                   "mutates_args)")


def _value_of(entry, arg, args, kwargs):
    positional = entry.schema.positional
    if not arg.kwarg_only and arg in positional and positional.index(arg) < len(args):
        return args[positional.index(arg)]
    return kwargs.get(arg.name, arg.default)


def _check_autograd(entry, args, kwargs):
    wants_grad = [t for t in _tensors([*args, *kwargs.values()]) if t.requires_grad]
    if not wants_grad:
        return
    out = entry(*args, **kwargs)
    outs = [t for t in _tensors([out]) if t.requires_grad]
    if outs and (entry.backward is not None or not entry.custom_autograd):
        from .autograd import grad

        grad([o.sum() for o in outs], wants_grad, allow_unused=True)


def _check_fake(entry, args, kwargs):
    if entry.fake is None:
        return
    from .autograd.grad_mode import no_grad

    with no_grad():
        real = list(_tensors([entry(*args, **kwargs)]))
        fake = list(_tensors([entry.fake(*args, **kwargs)]))
    if len(real) != len(fake):
        raise RuntimeError(f"the fake impl of {entry.qualname} returned {len(fake)} tensors, "
                           f"the kernel {len(real)}")
    for i, (r, f) in enumerate(zip(real, fake)):
        if r.shape != f.shape or r.dtype != f.dtype:
            raise RuntimeError(f"output {i} of {entry.qualname}: the fake impl gives shape "
                               f"{tuple(f.shape)} dtype {f.dtype}, the kernel shape "
                               f"{tuple(r.shape)} dtype {r.dtype}")
