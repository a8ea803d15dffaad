"""``torch.ops``: the operators that ``torch.library`` defines, reached as ``torch.ops.ns.name``.

``torch.ops`` is the module ``gradstep.ops`` (the one mapping rule), so that package
forwards names it does not have to :func:`namespace` here. Each defined operator is an
:class:`OperatorEntry` holding its schema and kernels; calling it checks the arguments
against the schema, picks a kernel (autograd, the tensors' device type, then the
composite ones) and, for ops with torch's custom-op autograd, wraps the call in an
``autograd.Function`` so ``register_autograd``'s backward is used.
"""

from __future__ import annotations

import re

from ._library_schema import Schema
from ._tensor import Tensor

#: dispatch keys that run for any device, in the order torch tries them
COMPOSITE_KEYS = ("CompositeExplicitAutograd", "CompositeImplicitAutograd")
AUTOGRAD_KEYS = ("Autograd", "AutogradCPU", "AutogradCUDA")

_ALIAS = re.compile(r"\(.*?\)")  # "Tensor(a!)" -> "Tensor"
_OPERATORS: dict[str, OperatorEntry] = {}
_NAMESPACES: dict[str, _OpNamespace] = {}


class OperatorEntry:
    """One defined operator: schema, kernels by dispatch key, fake and autograd registrations."""

    def __init__(self, namespace: str, schema: Schema, *, custom_op: bool = False):
        self.namespace = namespace
        self.schema = schema
        self.kernels: dict[str, object] = {}
        self.fake = None
        self.backward = None
        self.setup_context = None
        # custom_op ops run below autograd: grads need register_autograd (torch's rule)
        self.custom_autograd = custom_op
        self._function = None

    @property
    def qualname(self) -> str:
        return f"{self.namespace}::{self.schema.name}"

    @property
    def declaration(self) -> str:
        return f"{self.namespace}::{self.schema.text}"

    # ---------------------------------------------------------------- argument checks
    def check_arguments(self, args, kwargs):
        """torch's dispatcher refusals for too many, missing or wrong-typed arguments."""
        positional = self.schema.positional
        where = f"{self.qualname}() "
        if len(args) > len(positional):
            raise RuntimeError(f"{where}expected at most {len(positional)} argument(s) but "
                               f"received {len(args)} argument(s). Declaration: {self.declaration}")
        names = {a.name for a in self.schema.arguments}
        for key in kwargs:
            if key not in names:
                raise RuntimeError(f"{where}got an unexpected keyword argument '{key}'. "
                                   f"Declaration: {self.declaration}")
        for i, arg in enumerate(self.schema.arguments):
            given = i < len(args) and not arg.kwarg_only
            if not given and arg.name not in kwargs and not arg.has_default:
                raise RuntimeError(f"{where}is missing value for argument '{arg.name}'. "
                                   f"Declaration: {self.declaration}")
            value = args[i] if given else kwargs.get(arg.name)
            if _ALIAS.sub("", arg.type) == "Tensor" and (given or arg.name in kwargs) \
                    and not isinstance(value, Tensor):
                raise RuntimeError(
                    f"{where}Expected a value of type 'Tensor' for argument '{arg.name}' but "
                    f"instead found type '{type(value).__name__}'.\nPosition: {i}\n"
                    f"Value: {value!r}\nDeclaration: {self.declaration}")

    def fill_defaults(self, args, kwargs):
        """All positional arguments (defaults filled) and all keyword-only ones, as torch passes
        them to a custom op's kernel and setup_context."""
        full, kwonly = [], {}
        for i, arg in enumerate(self.schema.arguments):
            if arg.kwarg_only:
                kwonly[arg.name] = kwargs.get(arg.name, arg.default)
            elif i < len(args):
                full.append(args[i])
            else:
                full.append(kwargs.get(arg.name, arg.default))
        return tuple(full), kwonly

    # ---------------------------------------------------------------- dispatch
    def device_key(self, args, kwargs):
        for value in (*args, *kwargs.values()):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Tensor):
                    return item.device.type.upper()
        return "CPU"

    def kernel_for(self, key):
        for k in (key, *COMPOSITE_KEYS):
            if k in self.kernels:
                return self.kernels[k]
        raise NotImplementedError(
            f"Could not run '{self.qualname}' with arguments from the '{key}' backend. "
            f"'{self.qualname}' has kernels only for: {sorted(self.kernels) or 'none'}. "
            f"Register one with torch.library.impl / register_kernel (or Library.impl).")

    def __call__(self, *args, **kwargs):
        self.check_arguments(args, kwargs)
        key = self.device_key(args, kwargs)
        for autograd_key in ("Autograd" + key, "Autograd"):
            if autograd_key in self.kernels:
                return self.kernels[autograd_key](*args, **kwargs)
        kernel = self.kernel_for(key)
        if self.backward is None and not self.custom_autograd:
            return kernel(*args, **kwargs)  # like torch's fallback: grads flow through the ops
        return self._call_with_autograd(kernel, args, kwargs)

    def _call_with_autograd(self, kernel, args, kwargs):
        from .autograd.grad_mode import is_grad_enabled

        full, kwonly = self.fill_defaults(args, kwargs)
        if not (is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in full)):
            from .autograd.grad_mode import no_grad

            with no_grad():  # a custom op's kernel runs below autograd in torch too
                return kernel(*full, **kwonly)
        return self._autograd_function().apply(kernel, kwonly, *full)

    def _autograd_function(self):
        if self._function is None:
            self._function = _make_function(self)
        return self._function


def _make_function(entry: OperatorEntry):
    """An autograd.Function whose forward runs the kernel and ``setup_context``, and whose
    backward is the registered one. Its first two inputs (kernel, kwonly) get no grads."""
    from .autograd.function import Function

    has_kwonly = any(a.kwarg_only for a in entry.schema.arguments)

    def forward(ctx, kernel, kwonly, *inputs):
        result = kernel(*inputs, **kwonly)
        if entry.setup_context is not None:
            ctx.needs_input_grad = ctx.needs_input_grad[2:]
            try:
                if has_kwonly:
                    entry.setup_context(ctx=ctx, inputs=inputs, keyword_only_inputs=kwonly,
                                        output=result)
                else:
                    entry.setup_context(ctx=ctx, inputs=inputs, output=result)
            finally:
                ctx.needs_input_grad = (False, False, *ctx.needs_input_grad)
        return tuple(result) if isinstance(result, list) else result

    def backward(ctx, *grads):
        if entry.backward is None:
            raise RuntimeError(f"Trying to backward through {entry.namespace}.{entry.schema.name}"
                               ".default but no autograd formula was registered. Please use "
                               "register_autograd to add one.")
        previous = ctx.needs_input_grad
        ctx.needs_input_grad = previous[2:]
        try:
            result = entry.backward(ctx, *grads)
        finally:
            ctx.needs_input_grad = previous
        return (None, None, *(result if isinstance(result, tuple) else (result,)))

    name = f"GeneratedBackwardFor_{entry.namespace}_{entry.schema.name}_default"
    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


# -------------------------------------------------------------------- registry
def define(namespace: str, schema: Schema, *, custom_op: bool = False) -> OperatorEntry:
    qualname = f"{namespace}::{schema.name}"
    if qualname in _OPERATORS:
        raise RuntimeError(f"Tried to register an operator ({namespace}::{schema.text}) with the "
                           "same name and overload name multiple times. Each overload's schema "
                           "should only be registered with a single call to def().")
    entry = _OPERATORS[qualname] = OperatorEntry(namespace, schema, custom_op=custom_op)
    return entry


def undefine(qualname: str) -> None:
    """Drop an operator (what torch does when its Library object is destroyed)."""
    _OPERATORS.pop(qualname, None)
    ns, _, name = qualname.partition("::")
    if ns in _NAMESPACES:
        _NAMESPACES[ns].__dict__.pop(name, None)


def lookup(qualname: str) -> OperatorEntry:
    if qualname.count("::") != 1:
        raise ValueError(f"Expected an operator name of the form 'namespace::name' (for example "
                         f"'mylib::foo'), got {qualname!r}")
    entry = _OPERATORS.get(qualname.split(".")[0])
    if entry is None:
        raise RuntimeError(f"Operator {qualname} does not exist: define it first with "
                           "torch.library.define, Library.define or torch.library.custom_op")
    return entry


# -------------------------------------------------------------------- torch.ops objects
class OpOverload:
    """``torch.ops.ns.name.default``: one overload of an operator, callable."""

    def __init__(self, entry: OperatorEntry, overload: str = "default"):
        self._entry = entry
        self._overloadname = overload
        self._namespace = entry.namespace
        self._opname = entry.schema.name
        self.__name__ = f"{entry.schema.name}.{overload}"
        self.__qualname__ = self.__name__

    @property
    def _schema(self) -> Schema:
        return self._entry.schema

    def name(self) -> str:
        return self._entry.qualname if self._overloadname == "default" \
            else f"{self._entry.qualname}.{self._overloadname}"

    def __call__(self, *args, **kwargs):
        return self._entry(*args, **kwargs)

    def __repr__(self):
        return f"<OpOverload(op='{self._namespace}.{self._opname}', overload='{self._overloadname}')>"

    def __str__(self):  # torch's: "aten.mm.default"
        return f"{self._namespace}.{self._opname}.{self._overloadname}"


class OpOverloadPacket:
    """``torch.ops.ns.name``: callable; ``.default`` is its (only) overload."""

    def __init__(self, entry: OperatorEntry):
        self._entry = entry
        self._qualified_op_name = entry.qualname
        self.__name__ = entry.schema.name
        self.default = OpOverload(entry)

    def overloads(self):
        return ["default"]

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"The underlying op of '{self._entry.namespace}."
                             f"{self._entry.schema.name}' has no overload name '{name}'")

    def __call__(self, *args, **kwargs):
        return self._entry(*args, **kwargs)

    def __repr__(self):
        return f"<OpOverloadPacket(op='{self._entry.namespace}.{self._entry.schema.name}')>"

    def __str__(self):  # torch's: "aten.mm"
        return f"{self._entry.namespace}.{self._entry.schema.name}"


class _OpNamespace:
    """``torch.ops.ns``: its attributes are the operators defined in namespace ``ns``."""

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, op_name):
        if op_name.startswith("__"):
            raise AttributeError(op_name)
        entry = _OPERATORS.get(f"{self.name}::{op_name}")
        if entry is None and self.name == "aten":  # the built-in ops gradstep lists
            from ._aten_builtin import entry as _builtin

            entry = _builtin(op_name)
        if entry is None:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute "
                                 f"'{op_name}'")
        packet = OpOverloadPacket(entry)
        self.__dict__[op_name] = packet  # cached; undefine() drops it
        return packet

    def __iter__(self):
        prefix = self.name + "::"
        return iter([q[len(prefix):] for q in _OPERATORS if q.startswith(prefix)])

    def __repr__(self):
        return f"<module 'torch.ops.{self.name}'>"


def namespace(name: str) -> _OpNamespace:
    """``torch.ops.<name>``: made on first use, like torch's (an unknown op fails on lookup)."""
    if name not in _NAMESPACES:
        _NAMESPACES[name] = _OpNamespace(name)
    return _NAMESPACES[name]


def load_library(path):
    raise NotImplementedError(
        f"torch.ops.load_library({path!r}): gradstep runs on NumPy and cannot load compiled "
        "torch extension libraries; define the operators in Python with torch.library instead")


def ops_getattr(name: str):
    """The module ``__getattr__`` of ``gradstep.ops`` (torch.ops) for names it lacks."""
    if name == "load_library":
        return load_library
    if name.startswith("_"):
        raise AttributeError(f"module 'torch.ops' has no attribute '{name}'")
    return namespace(name)
