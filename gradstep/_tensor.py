"""``Tensor``: an array from the backend, plus what autograd needs (grad, grad_fn, version)."""

from __future__ import annotations

import weakref

from . import _argparse, _device, _tensor_convert, _tensor_device, _tensor_numpy
from . import _creation_args as CA
from . import _vmap_batched as _vmap
from . import autograd as _autograd
from . import backend as B
from ._size import Size, _new_size  # noqa: F401 - Size: gradstep._tensor.Size in old pickles
from .autograd import _saved_mutation, _view_meta
from .autograd import engine as _engine
from .autograd import forward_ad as _forward_ad
from .autograd import function as _function
from .autograd.grad_mode import _GradState
from .backend import xp

device = _device.device  # gradstep._tensor.device, as before the device layer moved out
_check_device = _device.check_device
_DTYPE_OF = B._BY_NP  # numpy dtype -> gradstep dtype
_np_generic = xp.generic
_ops_index = _ops_util = None  # gradstep.ops.index / ops._util, set by _bind_ops (import cycle)


class _InternalRef(weakref.ref):
    """A weak reference gradstep keeps for its own bookkeeping (torch keeps these in C++, so
    ``torch.utils.swap_tensors``'s weakref check must not see them)."""

    __slots__ = ()


def _leaf_inplace_error():
    return RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


def _in_compute_dtype(self, operands, arrays):
    """``arrays`` (the operands' data) cast to torch's computation dtype, the promoted type of
    ``self`` and ``operands``: NumPy would compute ``float32 /= float64 0-d`` in float64 and
    round twice, torch in float32 (a 0-d tensor does not promote)."""
    np_dt = B.result_type(self, *operands).np
    return [a.astype(np_dt) if isinstance(o, Tensor) and a.dtype != np_dt else a
            for o, a in zip(operands, arrays)]


class Tensor:
    """A multi-dimensional array with reverse-mode autograd.

    ``_data`` holds the backend array; ``_vc`` is the version counter shared with
    views, bumped by every in-place change so saved tensors can be validated.
    """

    __slots__ = ("_data", "_rg", "_grad", "grad_fn", "_vc", "_out_nr", "_acc", "_hooks",
                 "_post_hooks", "_base", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000  # numpy defers to our reflected operators
    # (Function name, whether it has several differentiable outputs) on an output of a custom
    # autograd.Function that is a view or an input returned as is (and on the tensors a module's
    # full backward hooks pass through): in-place changes are refused, as torch does
    _custom_fn_view = None
    # how a view was made, where torch refuses to change it in place with autograd on (an output
    # of unbind/split/chunk, a view made under no_grad): see autograd._view_meta
    _view_meta = None

    # ------------------------------------------------------------ construction
    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        """Legacy constructor: ``Tensor(data)`` (float) or ``Tensor(*sizes)`` (uninitialised)."""
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor):
                arr = data._data
            else:
                arr = xp.asarray(data, dtype=(B.as_dtype(dtype) if dtype else B.get_default_dtype()).np)
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            arr = xp.zeros(tuple(sizes), (B.as_dtype(dtype) if dtype else B.get_default_dtype()).np)
        self._init(arr, requires_grad, None)

    def _init(self, data, rg, grad_fn):
        self._data = data
        self._rg = rg
        self._grad = None
        self.grad_fn = grad_fn
        self._vc = [0]
        self._out_nr = 0
        self._acc = None
        self._hooks = None
        self._post_hooks = None
        self._base = None
        self._retains_grad = False

    @classmethod
    def _make(cls, data, rg=False, grad_fn=None):
        t = object.__new__(Tensor)
        if isinstance(data, _np_generic):  # a full reduction's NumPy scalar is read-only
            data = xp.asarray(data)  # a 0-d array can be written in place, as torch's 0-d tensors
        t._data = data
        t._rg = rg
        t._grad = None
        t.grad_fn = grad_fn
        t._vc = [0]
        t._out_nr = 0
        t._acc = None
        t._hooks = None
        t._post_hooks = None
        t._base = None
        t._retains_grad = False
        return t

    def _alias(self):
        """A new Tensor object sharing data and version counter (a no-op view)."""
        t = Tensor._make(self._data, self._rg, self.grad_fn)
        t._vc = self._vc
        return t

    # ------------------------------------------------------------ attributes
    @property
    def shape(self):
        return _new_size(Size, self._data.shape)  # NumPy's ints: skips Size's item checks

    def size(self, dim=None):
        if dim is None:
            return _new_size(Size, self._data.shape)
        if type(dim) is not int:
            dim = _argparse.int_arg(dim, "size", "dim", 1)
        if not self._data.ndim:  # torch's message for a 0-d tensor (not "out of range")
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[_ops_util.normalize_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        dt = _DTYPE_OF.get(self._data.dtype)  # a plain dict hit on the hot path
        return dt if dt is not None else B.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def stride(self, dim=None):
        data = self._data
        if data.size or any(data.strides):
            st = tuple(s // data.itemsize for s in data.strides)
        else:  # np.empty gives an empty array zero strides; torch's empty tensors keep contiguous ones
            from ._storage import _contiguous_strides

            st = _contiguous_strides(data.shape)
        return st if dim is None else st[dim]

    def is_floating_point(self):
        return B.is_float_array(self._data)

    def is_complex(self):
        return self._data.dtype.kind == "c"

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        if value is not True and value is not False:
            raise RuntimeError("requires_grad must be a bool")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if requires_grad is not True and requires_grad is not False:  # torch takes no 0/1
            raise TypeError("requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {_c_type_name(requires_grad)}")
        if not self.is_leaf:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return self
        if requires_grad and not B.is_differentiable_array(self._data):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad and type(self._vc) is not list:
            from .autograd._inference import check_requires_grad

            check_requires_grad()
        self._rg = bool(requires_grad)
        return self

    @property
    def grad(self):
        if self.grad_fn is not None and not self._retains_grad and self._grad is None:
            import warnings

            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
            if tuple(value.shape) != self._data.shape:  # .shape: a sparse grad has no _data
                raise RuntimeError("assigned grad has data of a different size")
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def data(self):
        t = Tensor._make(self._data)
        self._remember_data_alias(t)
        return t

    def _remember_data_alias(self, t):
        """Remember a live alias of this storage: the optimizers' flat-buffer path must not move
        it while one is kept (an alias shares the storage for good in torch)."""
        aliases = self.__dict__.setdefault("_data_aliases", [])
        if len(aliases) >= 8:
            aliases[:] = [r for r in aliases if r() is not None]
        aliases.append(_InternalRef(t))

    def _has_data_alias(self):
        """Whether a tensor returned by ``.data`` is still alive (see ``optim/_flat.py``)."""
        return any(r() is not None for r in self.__dict__.get("_data_aliases", ()))

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            self._data = value._data
            # ``value`` now shares our storage for good (SAM's ``p.data = state[p]["old_p"]``)
            self._remember_data_alias(value)
        else:
            self._data = xp.asarray(value)

    @property
    def retains_grad(self):
        return self._retains_grad

    @property
    def T(self):
        if self.ndim not in (0, 2):
            import warnings

            warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their "
                          "shape is deprecated.", UserWarning, stacklevel=2)
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self):
        return self.T.conj() if self._data.dtype.kind == "c" else self.T

    @property
    def mH(self):
        return self.mT.conj() if self._data.dtype.kind == "c" else self.mT

    @property
    def _version(self):
        from .autograd._inference import version

        return version(self)

    # ------------------------------------------------------------ conversion
    # item, tolist, len/iter, bool/float/int/index, hash, pickling, deepcopy: _tensor_convert.py
    # numpy, __array__, __array_wrap__: see _tensor_numpy.py

    def detach(self):
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None and self.grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        return self

    def retain_grad(self):
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        self._retains_grad = True
        self.grad_fn._retain = _InternalRef(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a replacement."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._register_tensor_prehook(hook)
        if self._hooks is None:
            self._hooks = {}
        key = object()
        self._hooks[key] = hook
        return _function._RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a gradient has been accumulated into this leaf's ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_hooks is None:
            self._post_hooks = {}
        self._post_hooks[object()] = hook
        return _function._RemovableHandle(self._post_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------ dtype
    # to, cpu, cuda, device, is_contiguous: see _tensor_device.py; type: _tensor_types.py
    def float(self):
        return self.to(B.float32)

    def double(self):
        return self.to(B.float64)

    def half(self):
        return self.to(B.float16)

    def bfloat16(self):
        return self.to(B.bfloat16)

    def long(self):
        return self.to(B.int64)

    def int(self):
        return self.to(B.int32)

    def short(self):
        return self.to(B.int16)

    def bool(self):
        return self.to(B.bool_)

    def byte(self):
        return self.to(B.uint8)

    def char(self):
        return self.to(B.int8)

    def type_as(self, other):
        return self.to(other.dtype)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import _size, zeros

        return zeros(_size(size, None, "new_zeros"), dtype=CA.new_dtype(dtype, self.dtype, "new_zeros"),
                     device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import _size, ones

        return ones(_size(size, None, "new_ones"), dtype=CA.new_dtype(dtype, self.dtype, "new_ones"),
                     device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import _size, empty

        return empty(_size(size, None, "new_empty"), dtype=CA.new_dtype(dtype, self.dtype, "new_empty"),
                     device=device, requires_grad=requires_grad)

    def new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False,
                          pin_memory=False):
        from ._creation import empty_strided

        return empty_strided(size, stride, dtype=dtype or self.dtype, device=device,
                             requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from ._creation import _size_arg, full

        if type(fill_value) not in (float, int, bool):
            CA.check_fill(fill_value, "new_full")
        return full(_size_arg(size, "new_full", 1), fill_value,
                    dtype=CA.new_dtype(dtype, self.dtype, "new_full"), device=device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from ._creation import tensor

        if isinstance(data, Tensor):
            data = data._data.copy()
        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    # ------------------------------------------------------------ in-place machinery
    def _check_inplace(self):
        if self._view_meta is not None:
            _view_meta.check(self)
        if _GradState.enabled and self._rg:
            if self.grad_fn is None:
                raise _leaf_inplace_error()
            if self._custom_fn_view is not None:
                from .autograd.function import custom_fn_view_inplace_error

                raise custom_fn_view_inplace_error(self)
            base = self._base
            if base is not None and base.grad_fn is None and base._rg:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place operation."
                )

    def _check_writable(self):
        if _saved_mutation.active is not None:  # allow_mutation_on_saved_tensors: clone on write
            _saved_mutation.before_write(self)
        if not self._data.flags.writeable:
            root = self._data
            while isinstance(root.base, xp.ndarray):
                root = root.base
            if not root.flags.writeable:  # not an expanded view: the memory itself is read-only
                raise RuntimeError(
                    "this tensor's memory is a non-writable NumPy array or buffer (from_numpy, "
                    "as_tensor or frombuffer of read-only memory), so it cannot be written in "
                    "place. clone() the tensor, or make the array writable before converting it.")
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the operation."
            )

    def _needs_graph(self, *others):
        if _forward_ad._seed is not None and _forward_ad.involved((self, *others)):
            return True  # a write that changes a forward AD tangent (autograd.forward_ad)
        if not _GradState.enabled:
            return False
        if self._rg:
            return True
        for o in others:
            if isinstance(o, Tensor) and o._rg:
                return True
        if self._view_meta is not None:  # made under no_grad from a tensor that requires grad
            _view_meta.check(self)
        return False

    def _inplace_graph(self, fn):
        """Record an in-place op: compute ``fn(old_self)`` out of place, write it back, rebase."""
        self._check_inplace()
        tracked_view = self._base is not None and self.__dict__.get("_view_vc") is not None
        if tracked_view:
            _function._edge(self)  # brings a view up to date with its base's history
        old = Tensor._make(self._data.copy(), self._rg, self.grad_fn)
        old._out_nr = self._out_nr
        if _forward_ad._seed is not None:
            _forward_ad.carry(self, old)
        out = fn(old)
        if self._view_meta is not None and out._rg:  # recorded because an operand requires grad
            raise _view_meta.inplace_error(self)
        self._write(out._data)
        if _forward_ad._seed is not None:
            _forward_ad.carry(out, self)  # the written value's tangent
            if not _GradState.enabled:  # recorded for the tangent alone: no graph to rebase
                return self
        node = out.grad_fn
        if node is not None and node.saves_output and node.__dict__.get("_out_vc") is out._vc:
            # the op's saved output is now this tensor: a later in-place change must invalidate it
            node._out_vc, node._out_version = self._vc, self._vc[0]
        if tracked_view and out._rg:
            from .ops.index import rebase_view

            rebase_view(self, out)  # the base's history now includes the change (CopySlices)
            return self
        self.grad_fn = out.grad_fn
        self._out_nr = out._out_nr
        self._rg = out._rg
        return self

    def _inplace_apply(self, node_cls, others, **attrs):
        """Apply ``node_cls`` to (self, *others) and write the result into self."""
        if self._needs_graph(*others):
            return self._inplace_graph(lambda old: node_cls.apply(old, *others, **attrs))
        out = node_cls.apply(self.detach(), *[o.detach() for o in others], **attrs)
        self._write(out._data)
        return self

    def _write(self, arr):
        if (arr.dtype != self._data.dtype
                and not xp.can_cast(arr.dtype, self._data.dtype, "same_kind")
                and B.from_numpy_dtype(arr.dtype)._category > self.dtype._category):
            # torch's rule: no float -> integer, no integer -> bool (signedness may change)
            from .ops._util import dtype_title  # torch's names: Float, Long, ...

            raise RuntimeError(
                f"result type {dtype_title(B.from_numpy_dtype(arr.dtype))} can't be cast to the "
                f"desired output type {dtype_title(self.dtype)}"
            )
        if arr.shape != self._data.shape:
            try:
                arr = xp.broadcast_to(arr, self._data.shape)
            except ValueError:
                raise RuntimeError(
                    f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                    f"{list(arr.shape)}"
                ) from None
        self._check_writable()
        if _vmap.depth:  # inside vmap: torch refuses a batched value written into an unbatched one
            _vmap.check_write(self._data, arr)
        self._data[...] = arr
        self._vc[0] += 1

    def _ufunc_(self, ufunc, *operands):
        """Fast in-place path without a graph: ``ufunc(self, *operands, out=self)``."""
        ops = [o._data if isinstance(o, Tensor) else o for o in operands]
        if any(isinstance(o, Tensor) and o._data.dtype != self._data.dtype for o in operands):
            ops = _in_compute_dtype(self, operands, ops)
        try:
            self._check_writable()
            if _vmap.depth:
                _vmap.check_write(self._data, ops)
            ufunc(self._data, *ops, out=self._data, casting="same_kind")
        except TypeError:  # numpy's UFuncTypeError: torch's rule is looser (int32 -> uint8)
            from .ops._util import dtype_title

            try:
                res = ufunc(self._data, *ops)  # its kind: true division of integers is float
            except ValueError:
                raise self._broadcast_error(ops) from None
            rt = B.result_type(self, *operands)
            res_cat = B.from_numpy_dtype(res.dtype)._category
            if res_cat > rt._category:
                rt = B.get_default_dtype() if res_cat == 2 else B.from_numpy_dtype(res.dtype)
            if rt._category > self.dtype._category:
                raise RuntimeError(f"result type {dtype_title(rt)} can't be cast to the "
                                   f"desired output type {dtype_title(self.dtype)}") from None
            if res.shape != self._data.shape:
                raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match "
                                   f"the broadcast shape {list(res.shape)}") from None
            self._data[...] = res
        except OverflowError:  # a Python int beyond the dtype (uint8 - 2): torch wraps it
            ops = [xp.asarray(o).astype(self._data.dtype) if type(o) is int else o for o in ops]
            ufunc(self._data, *ops, out=self._data, casting="unsafe")
        except ValueError:
            raise self._broadcast_error(ops) from None
        self._vc[0] += 1
        return self

    def _broadcast_error(self, ops):
        """torch's error for in-place operands that do not broadcast to ``self``."""
        from .ops._util import into_shape_error

        return into_shape_error(self._data.shape, *(xp.shape(o) for o in ops))

    def _set_raw(self, arr):
        self._write(arr)
        return self

    def zero_(self):
        if self._needs_graph():
            return self._inplace_graph(lambda s: s * 0)
        self._check_writable()
        self._data[...] = 0
        self._vc[0] += 1
        return self

    def fill_(self, value):
        if self._needs_graph(value):
            return self._inplace_graph(lambda s: s * 0 + value)
        self._check_writable()
        self._data[...] = value._data if isinstance(value, Tensor) else value
        self._vc[0] += 1
        return self

    def masked_fill_(self, mask, value):
        from .ops.masked import check_masked_fill_args, check_masked_fill_inplace_shape

        check_masked_fill_inplace_shape(self._data.shape, mask)
        if self._needs_graph(value):
            return self._inplace_graph(lambda s: s.masked_fill(mask, value))
        self._check_writable()

        check_masked_fill_args(mask, value)
        self._data[...] = xp.where(mask._data, value._data if isinstance(value, Tensor) else value,
                                   self._data)
        self._vc[0] += 1
        return self

    # uniform_/normal_/.../exponential_, index_add_, scatter_, scatter_add_: _tensor_inplace.py
    def __setitem__(self, key, value):
        if not isinstance(value, (Tensor, int, float, complex, xp.integer)):  # as torch's
            raise TypeError(f"can't assign a {_c_type_name(value)} to a {self.type()}")
        try:
            if self._view_meta is not None:
                _ops_index.check_view_setitem(self, key, value)
            if self._needs_graph(value):
                _ops_index.setitem(self, key, value)
                return
            k, _ = _ops_index.convert_key(key)
            self._check_writable()
            if _vmap.depth and isinstance(value, Tensor):
                _vmap.check_write(self._data, value._data)
            _ops_index.put(self._data, k, value._data if isinstance(value, Tensor) else value)
        except IndexError as e:
            _ops_index.raise_zero_dim_index(self, key)
            raise _ops_index.in_torch_words(e) from None
        self._vc[0] += 1

    # ------------------------------------------------------------ repr
    def __repr__(self):
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec):
        # as torch: a plain 0-d tensor formats as its number; anything else only with an empty
        # spec (object.__format__ raises "unsupported format string passed to Tensor.__format__")
        if self._data.ndim == 0 and type(self) is Tensor:
            return self.detach().item().__format__(spec)
        if spec:
            raise TypeError(f"unsupported format string passed to {type(self).__name__}.__format__")
        return str(self)


def _c_type_name(value):
    """The type's name as CPython's ``tp_name`` gives it in torch's messages (numpy.float32)."""
    cls = type(value)
    return f"numpy.{cls.__name__}" if cls.__module__.startswith("numpy") else cls.__name__


def _rebuild_tensor(data, rg):
    t = Tensor._make(data)
    t._rg = rg
    return t




_function._Tensor = Tensor
_engine._Tensor = Tensor


# ---------------------------------------------------------------- methods that call the ops
def _operator_with_fallback(fn):
    """``==``/``!=`` that defer to Python for non-numeric objects (``t == None`` is False)."""

    def op(a, b):
        if b is None or isinstance(b, (str, type(Ellipsis))):
            return NotImplemented
        return fn(a, b)

    return op


def _bind_ops():
    global _ops_index, _ops_util
    from .ops import _util as _ops_util
    from .ops import cumulative as C
    from .ops import elementwise as E
    from .ops import index as I
    from .ops import linalg as L
    from .ops import masked as M
    from .ops import reduce as R
    from .ops import shape as S
    from .ops import sorting as O

    _ops_index = I  # for the methods above that use them (no import per call)
    T = Tensor
    # arithmetic
    T.__add__ = T.add = E.add
    T.__radd__ = lambda a, b: E.add(a, b)
    T.__sub__ = T.sub = T.subtract = E.sub
    T.__rsub__ = lambda a, b: E.sub(b, a)
    T.__mul__ = T.mul = T.multiply = E.mul
    T.__rmul__ = lambda a, b: E.mul(a, b)
    T.__truediv__ = T.div = T.divide = T.true_divide = E.div
    T.__rtruediv__ = lambda a, b: E.rdiv(a, b) if not isinstance(b, Tensor) else E.div(b, a)
    T.__floordiv__ = T.floor_divide = E.floor_divide
    T.__rfloordiv__ = lambda a, b: E.floor_divide(b, a)
    T.__mod__ = T.remainder = E.remainder
    T.__rmod__ = lambda a, b: E.remainder(b, a)
    T.__pow__ = T.pow = E.pow
    T.__rpow__ = lambda a, b: E.pow(b, a)
    T.__neg__ = T.neg = T.negative = E.neg
    T.__pos__ = lambda a: a
    T.__abs__ = T.abs = T.absolute = E.abs
    T.__matmul__ = T.matmul = L.matmul
    T.__rmatmul__ = lambda a, b: L.matmul(b, a)
    T.__iadd__ = lambda a, b: a.add_(b)
    T.__isub__ = lambda a, b: a.sub_(b)
    T.__imul__ = lambda a, b: a.mul_(b)
    T.__itruediv__ = lambda a, b: a.div_(b)
    # comparisons and logic
    T.eq, T.ne = E.eq, E.ne
    T.__eq__ = _operator_with_fallback(E.eq)
    T.__ne__ = _operator_with_fallback(E.ne)
    T.__lt__ = T.lt = T.less = E.lt
    T.__le__ = T.le = E.le
    T.__gt__ = T.gt = T.greater = E.gt
    T.__ge__ = T.ge = E.ge
    T.__and__ = T.__rand__ = lambda a, b: E.bitwise(a, b, xp.bitwise_and)
    T.__or__ = T.__ror__ = lambda a, b: E.bitwise(a, b, xp.bitwise_or)
    T.__xor__ = T.__rxor__ = lambda a, b: E.bitwise(a, b, xp.bitwise_xor)
    T.__invert__ = T.bitwise_not = E.invert
    T.logical_and, T.logical_or, T.logical_xor = E.logical_and, E.logical_or, E.logical_xor
    T.logical_not = E.logical_not
    T.isnan, T.isinf, T.isfinite = E.isnan, E.isinf, E.isfinite
    T.allclose, T.isclose, T.equal = E.allclose, E.isclose, E.equal
    # elementwise functions
    for name in ("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh",
                 "sigmoid", "erf", "reciprocal", "sign", "floor", "ceil", "trunc", "round",
                 "square", "relu", "log2", "log10", "clamp", "maximum", "minimum", "lerp"):
        setattr(T, name, getattr(E, name))
    T.clip = E.clamp
    T.clamp_min = E.clamp_min
    T.copy_ = S.copy_into  # dst.copy_(src, non_blocking=False)
    T.clamp_max = E.clamp_max
    T.where = lambda a, cond, other: E.where(cond, a, other)
    # reductions
    for name in ("sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "var",
                 "std", "norm", "logsumexp", "softmax", "log_softmax", "all", "any", "count_nonzero"):
        setattr(T, name, getattr(R, name))
    T.cumsum, T.cumprod = C.cumsum, C.cumprod
    # linear algebra
    T.mm, T.bmm, T.mv, T.dot, T.outer = L.mm, L.bmm, L.mv, L.dot, L.outer
    # shape
    for name in ("reshape", "view", "flatten", "unflatten", "squeeze", "unsqueeze", "permute",
                 "transpose", "t", "movedim", "expand", "repeat", "tile", "split", "chunk",
                 "unbind", "narrow", "select", "flip", "fliplr", "flipud", "roll", "tril", "triu",
                 "contiguous", "clone", "repeat_interleave"):
        setattr(T, name, getattr(S, name))
    T.swapaxes = T.swapdims = S.transpose
    T.moveaxis = S.movedim
    T.view_as = lambda a, b: S.view(a, b.shape)
    T.reshape_as = lambda a, b: S.reshape(a, b.shape)
    T.expand_as = lambda a, b: S.expand(a, b.shape)
    T.broadcast_to = S.broadcast_to
    # indexing
    T.__getitem__ = I.getitem
    for name in ("index_select", "gather", "scatter", "scatter_add", "take_along_dim", "nonzero"):
        setattr(T, name, getattr(I, name))
    T.masked_fill, T.masked_select = M.masked_fill, M.masked_select
    T.sort, T.argsort, T.topk = O.sort, O.argsort, O.topk
    T.detach_ = Tensor.detach_


_bind_ops()
_tensor_convert.bind(Tensor, _rebuild_tensor)
_tensor_device.bind(Tensor)
_tensor_numpy.bind(Tensor)
