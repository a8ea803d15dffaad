"""``Module``: the base class of every layer, with torch's registration, traversal,
state_dict, hooks and repr.

Parameters, buffers and submodules live in three ordered dicts (``_parameters``,
``_buffers``, ``_modules``) filled by ``__setattr__``; ``__getattr__`` reads them
back, so ``self.weight`` works as in torch and the state_dict keys match.
"""

from __future__ import annotations

from collections import OrderedDict

from ..._device import check_device, cuda_unavailable
from ..._tensor import Tensor
from ..._tensor_device import parse_to
from ...autograd.grad_mode import no_grad
from ...backend import as_dtype
from ...utils.hooks import RemovableHandle
from ..parameter import Buffer, Parameter
from ._state_dict import StateDictMixin, _IncompatibleKeys, _register  # noqa: F401 - torch's home of it

__all__ = ["Module", "RemovableHandle"]


def _addindent(text, num_spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * num_spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _check_name(kind, name, owner, store):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if hasattr(owner, name) and name not in store:
        raise KeyError(f"attribute '{name}' already exists")


def _typename(value):
    from ..._utils import typename

    return typename(value)


def _torch(name):
    """``torch.<name>`` as the messages spell it (gradstep's name outside the torch hook)."""
    from ... import backend

    return f"{backend.display_name}.{name}"


class Module(StateDictMixin):
    """Base class for all neural network modules (``torch.nn.Module``)."""

    training: bool
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments: "
                f"{args!r} {kwargs!r}; Module.__init__ takes none"
            )
        sa = object.__setattr__
        sa(self, "training", True)
        sa(self, "_parameters", OrderedDict())
        sa(self, "_buffers", OrderedDict())
        sa(self, "_non_persistent_buffers_set", set())
        sa(self, "_modules", OrderedDict())
        sa(self, "_forward_pre_hooks", OrderedDict())
        sa(self, "_forward_pre_hooks_with_kwargs", {})
        sa(self, "_forward_hooks", OrderedDict())
        sa(self, "_forward_hooks_with_kwargs", {})
        sa(self, "_backward_hooks", OrderedDict())
        sa(self, "_is_full_backward_hook", None)  # True/False once full/legacy hooks are added
        sa(self, "_backward_pre_hooks", OrderedDict())
        sa(self, "_state_dict_hooks", OrderedDict())
        sa(self, "_state_dict_pre_hooks", OrderedDict())
        sa(self, "_load_state_dict_pre_hooks", OrderedDict())
        sa(self, "_load_state_dict_post_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ------------------------------------------------------------ registration
    def register_parameter(self, name, param):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, self._parameters)
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                f"({_torch('nn.Parameter')} or None required)"
            )
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, compute "
                "the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                f"({_torch('')[:-1]} Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def _walk(self, target):
        """Follow a dotted path of submodules; returns (owner module, last name)."""
        *path, last = target.split(".")
        mod = self
        for item in path:
            if item not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod, last

    def get_submodule(self, target):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not isinstance(mod, Module) or item not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at the dotted path ``target``: replace what is there, or (unless
        ``strict``) add it to the existing parent."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        mod, name = self._walk(target)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def get_buffer(self, target):
        mod, name = self._walk(target)
        if name not in mod._buffers:
            raise AttributeError(f"{mod._get_name()} has no buffer `{name}`")
        return mod._buffers[name]

    # ------------------------------------------------------------ attribute protocol
    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    f"({_torch('nn.Parameter')} or None expected)"
                )
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if d.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            d["_modules"][name] = value
        elif name in d.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    f"({_torch('nn.Module')} or None expected)"
                )
            d["_modules"][name] = value
        elif isinstance(value, Buffer):
            if d.get("_buffers") is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self._forget(name, keep="_buffers")
            self.register_buffer(name, value, persistent=value.persistent)
        elif name in d.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    f"({_torch('nn.Buffer')}, {_torch('Tensor')} or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Remove ``name`` from the other stores (``keep`` keeps its position in its own)."""
        d = self.__dict__
        d.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                d[store].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d[store]:
                del d[store][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(dir(type(self))) | set(self.__dict__)
        keys |= set(self._parameters) | set(self._modules) | set(self._buffers)
        return sorted(k for k in keys if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ------------------------------------------------------------ traversal
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in get_members(mod):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (mod_prefix + ("." if mod_prefix else "") + k, v)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs; a parameter shared by two modules is listed once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def modules(self, remove_duplicate=True):
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    # ------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        if type(requires_grad) is not bool:  # torch's Tensor.requires_grad_ takes a bool only
            raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {type(requires_grad).__name__}")
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                g.zero_()

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first), then on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ dtype / device
    def _apply(self, fn, recurse=True):
        """Convert every parameter and buffer with ``fn``, keeping the Parameter objects."""
        if recurse:
            for m in self.children():
                m._apply(fn)
        with no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                new = fn(p)
                if new is not p:
                    p.data = new
                if p._grad is not None:
                    g = fn(p._grad)
                    if g is not p._grad:
                        p._grad = g.detach()
            for k, b in self._buffers.items():
                if b is not None:
                    self._buffers[k] = fn(b)
        return self

    def to(self, *args, **kwargs):
        """``to(device, dtype, non_blocking)``, ``to(dtype)``, ``to(tensor)``, ``to(memory_format=)``.

        Only floating tensors change dtype; the device must be the CPU and the memory
        format changes no values (gradstep stores row-major).
        """
        dtype, _, _ = parse_to(args, kwargs)
        if dtype is None:
            return self
        dtype = as_dtype(dtype)
        if not dtype.is_floating_point:
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}"
            )
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self):
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self):
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self):
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self):
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    def type(self, dst_type):
        return self._apply(lambda t: t.to(as_dtype(dst_type)))

    def cpu(self):
        return self

    def share_memory(self):
        """Move every parameter, gradient and buffer to shared memory (Hogwild training):
        processes forked afterwards update the same weights (see ``Tensor.share_memory_``)."""
        return self._apply(lambda t: t.share_memory_())

    def cuda(self, device=None):
        raise cuda_unavailable()

    def xpu(self, device=None):
        check_device("xpu")

    def to_empty(self, *, device=None, recurse=True):
        """Parameters and buffers replaced by uninitialized ones of the same shape (torch's way
        out of the ``meta`` device; here the device can only be the CPU)."""
        check_device(device)
        from ..._creation import empty_like

        return self._apply(empty_like, recurse=recurse)

    def compile(self, *args, **kwargs):
        """``torch.compile`` this module in place: gradstep runs Python, so calls are unchanged."""
        from ... import compile as _compile

        _compile(self.forward, *args, **kwargs)  # checks the arguments as torch does

    # ------------------------------------------------------------ hooks and calling
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (or ``(module, args, kwargs)``) runs before ``forward``."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        _add_hook(self._forward_pre_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` runs after ``forward``; a non-None result replaces it."""
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs)
        _add_hook(self._forward_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients of the outputs are known."""
        handle = RemovableHandle(self._backward_pre_hooks)
        _add_hook(self._backward_pre_hooks, handle.id, hook, prepend)
        return handle

    def register_backward_hook(self, hook):
        """torch's deprecated module backward hook, run as a full backward hook: the same
        ``(module, grad_input, grad_output)`` for a module of one op (a ReLU in guided
        backprop), and the gradients of the module's inputs where torch's would be those of
        its last op's inputs. Unlike full hooks, they let the module change its input or output
        in place (guided backprop on ``ReLU(inplace=True)``), as torch's do."""
        self._set_backward_hook_kind(False)
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def _set_backward_hook_kind(self, full):
        if getattr(self, "_is_full_backward_hook", None) is (not full):
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on "
                               "a single Module. Please use only one of them.")
        object.__setattr__(self, "_is_full_backward_hook", full)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the input gradients are known.

        It may return a replacement for ``grad_input``.
        """
        self._set_backward_hook_kind(True)
        handle = RemovableHandle(self._backward_hooks)
        _add_hook(self._backward_hooks, handle.id, hook, prepend)
        return handle

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _global_hooks["any"]):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        g = _global_hooks  # every module's hooks, registered with register_module_*_hook, first
        for hid, hook in list(g["forward_pre"].items()) + list(self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of "
                            f"(new_args, new_kwargs), but got {res}."
                        )
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw = None
        pre_bw = list(g["backward_pre"].values()) + list(self._backward_pre_hooks.values())
        full_bw = list(g["backward"].values()) + list(self._backward_hooks.values())
        if pre_bw or full_bw:
            from ._backward_hook import BackwardHook

            # torch wraps the inputs and outputs in a custom Function only for full hooks: the
            # module may not change those in place (legacy hooks alone allow it)
            legacy_only = (not (pre_bw or g["backward"])
                           and getattr(self, "_is_full_backward_hook", None) is False)
            bw = BackwardHook(self, pre_bw, full_bw, forbid_inplace=not legacy_only)
            args = bw.setup_input_hook(args)
        result = self.forward(*args, **kwargs)
        for hid, hook in list(g["forward"].items()) + list(self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs or hid in g["forward_with_kwargs"]:
                res = hook(self, args, kwargs, result)
            else:
                res = hook(self, args, result)
            if res is not None:
                result = res
        if bw is not None:
            result = bw.setup_output_hook(result)
        return result

    # ------------------------------------------------------------ repr
    def extra_repr(self):
        """Override to put layer settings between the parentheses of the repr."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return self._get_name() + "(" + body + ")"


def _add_hook(hooks, hid, hook, prepend):
    hooks[hid] = hook
    if prepend:
        hooks.move_to_end(hid, last=False)


# ---------------------------------------------------------------- hooks on every module
_global_hooks = {"any": False, "forward_pre": OrderedDict(), "forward": OrderedDict(),
                 "forward_with_kwargs": set(), "backward": OrderedDict(),
                 "backward_pre": OrderedDict()}


def _register_global(kind, hook, with_kwargs=False):
    handle = _register(_global_hooks[kind], hook)
    if with_kwargs:
        _global_hooks["forward_with_kwargs"].add(handle.id)
    _global_hooks["any"] = True  # stays set: one dict check per call is all it costs after
    return handle


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward (torch's global hook)."""
    return _register_global("forward_pre", hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` after every module's forward."""
    return _register_global("forward", hook, with_kwargs)


def register_module_full_backward_pre_hook(hook):
    return _register_global("backward_pre", hook)


def register_module_full_backward_hook(hook):
    return _register_global("backward", hook)
