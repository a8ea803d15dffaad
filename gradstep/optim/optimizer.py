"""``Optimizer``: the base class of every optimizer (torch.optim.Optimizer's contract).

An optimizer holds ``param_groups`` (a list of dicts: ``params`` plus every
hyperparameter of ``defaults``) and ``state`` (a dict keyed by parameter, filled
lazily by ``step``). Subclasses implement ``step(closure=None)``; the base class
wraps every subclass's ``step`` so that the step hooks run around it (see
``__init_subclass__``). As in torch, only the built-in optimizers turn graph
recording off for their update (``_use_grad_for_differentiable``); a user
subclass's ``step`` runs in the caller's grad mode, and its closure with it.

``state_dict()`` uses torch's format, so a gradstep state dict converted to
torch tensors loads into the matching torch optimizer and the reverse.
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from itertools import chain
from typing import Any, Union

from .._errstate import silent
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, set_grad_enabled
from ..backend import float32, float64, get_default_dtype, is_float_array, xp
from ..ops._util import numpy_broadcast_error
from ..utils._foreach_utils import (  # noqa: F401  (torch's optimizer module re-exports them)
    _foreach_supported_types,
    _get_foreach_kernels_supported_devices,
    _get_fused_kernels_supported_devices,
    _group_tensors_by_device_and_dtype,
)
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook",
           "required"]


class _RequiredParameter:
    """Marks a hyperparameter that every parameter group must give (no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

# ``params``' type, as custom optimizers annotate it (``from torch.optim.optimizer import ParamsT``)
ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]], Iterable[tuple[str, Tensor]]]  # noqa: UP007

# torch's docstring fragments, which optimizers copied from torch's sources format into theirs
_params_doc = ("params (iterable): iterable of parameters or named_parameters to optimize\n"
               "            or iterable of dicts defining parameter groups.")
_foreach_doc = ("foreach (bool, optional): whether foreach implementation of optimizer\n"
                "            is used (default: None)")
_fused_doc = "fused (bool, optional): whether the fused implementation is used. (default: None)"
_capturable_doc = ("capturable (bool, optional): whether this instance is safe to\n"
                   "            capture in a graph (default: False)")
_differentiable_doc = ("differentiable (bool, optional): whether autograd should\n"
                       "            occur through the optimizer step in training (default: False)")
_maximize_doc = ("maximize (bool, optional): maximize the objective with respect to the\n"
                 "            params, instead of minimizing (default: False)")


def _default_to_fused_or_foreach(params, differentiable, use_fused=False):
    """``(fused, foreach)`` as torch decides them on a CPU: fused only when asked for and
    every parameter is floating; foreach never (torch has no CPU foreach kernels)."""
    if differentiable:
        return False, False
    fused = bool(use_fused) and all(p is None or p.is_floating_point() for p in params)
    return fused, False


def _get_scalar_dtype(is_fused=None):
    """The dtype of the ``step`` counters: float32, or float64 under a float64 default dtype."""
    if is_fused:
        return float32
    return float64 if get_default_dtype() == float64 else float32


def _disable_dynamo_if_unsupported(single_tensor_fn=None):
    """torch's decorator for its functional optimizers: there is no dynamo here, so it
    returns the function unchanged."""
    return lambda func: func


def _stack_if_compiling(x):
    return x


def _to_scalar(x):
    """A one-element tensor hyperparameter as a 0-d tensor; anything else as it is."""
    return x.squeeze() if isinstance(x, Tensor) and x.dim() != 0 else x


def _view_as_real(params, *state_and_grads):
    """Replace each complex parameter, and the same position of every other list, by its
    ``view_as_real`` (in place in the lists), as torch's multi-tensor optimizers do."""
    from .. import view_as_real  # the top-level package imports this module

    for i, p in enumerate(params):
        if p.is_complex():
            params[i] = view_as_real(p)
            for s in state_and_grads:
                s[i] = view_as_real(s[i])


def _get_capturable_supported_devices(supports_xla=True):
    """The device types where ``capturable=True`` is allowed (torch's list; not ``cpu``)."""
    devices = ["cuda", "xpu", "hpu", "privateuseone"]
    return devices + ["xla"] if supports_xla else devices


def _device_dtype_check_for_fused(p, cuda_unsupported=False):
    """torch's refusal of ``fused=True`` for a non-floating parameter."""
    devices = _get_fused_kernels_supported_devices()
    if cuda_unsupported:
        devices.remove("cuda")
    if not (p.device.type in devices and p.is_floating_point()):
        raise RuntimeError(
            "`fused=True` requires all the params to be floating point Tensors of "
            f"supported devices: {devices} but {p.dtype} and {p.device.type}")


_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """Register ``hook(optimizer, args, kwargs) -> None | (args, kwargs)`` run before every step."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` run after every optimizer's step."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _get_value(x):
    """A hyperparameter as a Python number (``lr`` may be a one-element tensor)."""
    return x.item() if isinstance(x, Tensor) else x


def _as_scalar(x):
    """A hyperparameter for arithmetic that rounds like torch's: a one-element tensor becomes a
    NumPy scalar of its dtype (float32 math stays float32, as with torch's 0-d tensors)."""
    return x._data.reshape(())[()] if isinstance(x, Tensor) else x


def _check_lr(lr):
    """torch's learning-rate validation: non-negative; a tensor lr must have one element."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_differentiable(differentiable):
    """``differentiable=True`` would need the update recorded in the graph; we update raw arrays."""
    if differentiable:
        raise NotImplementedError(
            "differentiable=True is not supported: gradstep's optimizers update raw arrays "
            "without recording a graph. Construct the optimizer with differentiable=False."
        )


def _check_fused_foreach(fused, foreach):
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _scalar_dtype(fused=False):
    """torch's dtype for ``step``-like state: float64 under a float64 default dtype, else float32
    (always float32 for ``fused=True`` optimizers)."""
    return xp.float64 if get_default_dtype() is float64 and not fused else xp.float32


def _step_tensor(value=0.0, fused=False):
    """A 0-d scalar state entry (``step``, ``mu_product``) in torch's scalar dtype."""
    return Tensor._make(xp.asarray(value, dtype=_scalar_dtype(fused)).reshape(()).copy())


def _group_defaults(optimizer, **defaults):
    """Fill hyperparameters missing from each group (state pickled by an older version)."""
    for group in optimizer.param_groups:
        for key, value in defaults.items():
            group.setdefault(key, value)


def _scalar_state_as_tensors(optimizer, keys):
    """Turn scalar state loaded as plain numbers (older state dicts) into 0-d tensors, as torch does."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p_state = optimizer.state.get(p)
            if not p_state:
                continue
            for key in keys:
                if key in p_state and not isinstance(p_state[key], Tensor):
                    p_state[key] = _step_tensor(float(p_state[key]))


def _zeros_like(p):
    """A zero state tensor with ``p``'s shape and dtype."""
    return Tensor._make(xp.zeros_like(p._data))


def _data_or_none(t):
    """The raw array of an optional state tensor."""
    return None if t is None else t._data


def _use_grad_for_differentiable(step):
    """Run a built-in optimizer's ``step`` with grad mode set to its ``differentiable`` flag.

    torch decorates its own optimizers' ``step`` this way; a third-party subclass is not
    affected (it usually decorates its ``step`` with ``@torch.no_grad()`` itself).
    """

    @functools.wraps(step)
    def step_without_graph(self, *args, **kwargs):
        with set_grad_enabled(self.defaults.get("differentiable", False)):
            return step(self, *args, **kwargs)

    return step_without_graph


def _with_step_hooks(step):
    """Wrap a subclass's ``step``: pre hooks, the step, post hooks (torch's profile_hook_step)."""

    @functools.wraps(step)
    def hooked_step(*args, **kwargs):
        self = args[0]
        if "_optimizer_step_pre_hooks" not in self.__dict__:
            # a wrapper (Lookahead, ...) that never called Optimizer.__init__: torch patches
            # ``step`` with its hooks in ``__init__``, so such a class's step runs bare
            return step(*args, **kwargs)
        # the hooks see ``args`` with the optimizer first, as torch's (a pre hook that
        # replaces them returns ``((optimizer, ...), kwargs)``)
        # snapshots: a hook may remove itself (doctor.explain after its last step)
        for pre_hook in tuple(chain(_global_optimizer_pre_hooks.values(),
                                    self._optimizer_step_pre_hooks.values())):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                        f"{result}."
                    )
                args, kwargs = result
        with silent():
            try:
                out = step(*args, **kwargs)  # NumPy silent about inf/nan, as torch is
            except NotImplementedError:  # a sparse gradient where a dense array was read
                from ._sparse import refusal

                error = refusal(self)
                if error is None:
                    raise
                raise error from None
            except ValueError as error:  # state of the wrong shape (a bad load_state_dict):
                torch_error = numpy_broadcast_error(error)  # torch's broadcast RuntimeError
                if torch_error is None:
                    raise
                raise torch_error from None
        for post_hook in tuple(chain(self._optimizer_step_post_hooks.values(),
                                     _global_optimizer_post_hooks.values())):
            post_hook(self, args, kwargs)
        return out

    hooked_step._hooked = True
    return hooked_step


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of Tensors, of dicts (parameter groups, each with its
            own hyperparameters), or of ``(name, tensor)`` pairs (then each group
            records ``param_names``). It must have a deterministic order (no sets).
        defaults: the hyperparameters used where a group does not specify them.
    """

    def __init_subclass__(cls, **kwargs):
        # Every ``step`` a subclass defines runs the step hooks, as torch's ``profile_hook_step``
        # does; grad mode is left to the step (built-ins: ``_use_grad_for_differentiable``).
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_typename(params)}"
            )
        # a top-level set is accepted, as torch does (its order is the set's); a group's is not
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    @staticmethod
    def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices=False):
        """What forks of torch's ``_multi_tensor_*`` functions group their lists with."""
        return _group_tensors_by_device_and_dtype(tensorlistlist, with_indices)

    def _accelerator_graph_capture_health_check(self):
        """torch's check before a CUDA-graph-captured step: no accelerator here, nothing to
        check (torch's CPU build returns at once too)."""

    def _cuda_graph_capture_health_check(self):
        """The old name, deprecated as in torch (timm's and other forks still call it)."""
        warnings.warn("Use _accelerator_graph_capture_health_check instead",
                      DeprecationWarning, stacklevel=2)
        self._accelerator_graph_capture_health_check()

    # ------------------------------------------------------------ pickling / repr
    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def __repr__(self):
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``params`` and optional hyperparameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are missing"
                )
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(p)
                )
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            param_group.setdefault(name, default)
        ids = {id(p) for p in tensors}
        if len(ids) != len(tensors):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                UserWarning,
                stacklevel=3,
            )
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True):
        """Reset every parameter's gradient.

        With ``set_to_none=True`` (the default) each ``.grad`` becomes ``None``, so
        the next backward allocates a fresh one and ``step`` skips parameters that
        received none. With ``False`` each gradient is detached from any graph and
        zeroed in place (the classic behaviour); gradients then accumulate into
        the same arrays.
        """
        # read first, as torch's zero_grad reads it first: an optimizer whose ``__init__`` never
        # called ``Optimizer.__init__`` fails with torch's AttributeError, naming ``defaults``
        self.defaults  # noqa: B018
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._rg = False
                try:
                    g._data[...] = 0
                except NotImplementedError:  # a sparse .grad: no entries left (torch's zero_)
                    g.zero_()
                    continue
                g._vc[0] += 1

    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    @staticmethod
    def _eval_closure(closure):
        """Run ``closure`` with gradients enabled (a built-in ``step`` runs under no_grad)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------ state dict
    def state_dict(self):
        """The optimizer's state in torch's format.

        ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``,
        where parameters are numbered in group order starting at 0. Tensors are
        referenced, not copied (as in torch); ``load_state_dict`` copies.
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        index_of = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index_of:
                    index_of[id(p)] = len(index_of)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            packed_groups.append(packed)
        packed_state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        state_dict = {"state": packed_state, "param_groups": packed_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict):
        """Load a state dict made by ``state_dict`` (ours, or torch's converted to gradstep tensors).

        The group count and each group's size must match. Floating state tensors
        are cast to their parameter's dtype (except ``step``) and everything is
        copied, so the source dict is never aliased.
        """
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} saved, but the optimizer has {len(groups)}"
            )
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: group {i} has {len(sg['params'])} parameters in the state "
                    f"dict but {len(g['params'])} in the optimizer"
                )
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v)
            else:
                state[k] = copy.deepcopy(v)
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # ------------------------------------------------------------ hooks
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None | (args, kwargs)``, run before ``step``."""
        return _register(self._optimizer_step_pre_hooks, hook, False)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)``, run after ``step``."""
        return _register(self._optimizer_step_post_hooks, hook, False)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)``, run before ``state_dict`` builds the dict."""
        return _register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict | None``, run on the finished dict."""
        return _register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict | None``, run before loading."""
        return _register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)``, run after loading."""
        return _register(self._optimizer_load_state_dict_post_hooks, hook, prepend)


def _register(hooks_dict, hook, prepend):
    handle = RemovableHandle(hooks_dict)
    hooks_dict[handle.id] = hook
    if prepend:
        hooks_dict.move_to_end(handle.id, last=False)
    return handle


def _cast_state(param, value, key=None):
    """``value`` with floating tensors cast to ``param``'s dtype (``step`` kept), as torch's
    ``value.to(param.dtype)``: a tensor already of that dtype is kept, not copied, so a
    stride-0 view in a file stays one view (its copy could be far larger than the file).
    A read-only array (a stride-0 view from a file) shaped like the parameter is copied, which
    costs no more than the parameter; one of another shape is kept (torch fails at step)."""
    if isinstance(value, Tensor):
        data = value._data
        if data.shape != param._data.shape and data.ndim:
            pass  # not an elementwise state of this parameter: never expanded into memory
        elif key != "step" and param.is_floating_point() and is_float_array(data) and \
                data.dtype != param._data.dtype:
            data = data.astype(param._data.dtype)
        elif not data.flags.writeable:
            data = data.copy()
        return value if data is value._data and type(value) is Tensor else Tensor._make(data)
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return copy.deepcopy(value)


def _typename(obj):
    if isinstance(obj, Tensor):  # torch's legacy name: torch.FloatTensor
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"
