"""Matrix products: matmul (all of torch's 1-D/batched cases), mm, bmm, dot, outer, einsum."""

from __future__ import annotations

from ..amp._policy import autocast_op
from ..autograd.function import Node, as_torch_node
from ..backend import xp
from . import _flops
from ._lowp import F32, float32_compute, is_lowp
from ._util import matmul_arrays, sum_to, to_tensor


def _shape_str(shape):
    return "x".join(str(s) for s in shape)


@float32_compute(backward=False)  # bfloat16: float32 accumulation, one rounding
class MatMul(Node):
    saves = (0, 1)

    def forward(self, a, b):
        return matmul_arrays(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        na, nb = a.ndim, b.ndim
        if na >= 2 and nb >= 2 and (self._next[0] is None or self._next[1] is None):
            return self._one_grad(g, a, b)
        if na == 1 and nb == 1:
            return g * b, g * a
        if na == 1:
            ga = (g.unsqueeze(-2) @ b.mT).squeeze(-2)
            gb = a.unsqueeze(-1) @ g.unsqueeze(-2)
            return sum_to(ga, a.shape), sum_to(gb, b.shape)
        if nb == 1:
            ga = g.unsqueeze(-1) @ b.unsqueeze(-2)
            gb = (a.mT @ g.unsqueeze(-1)).squeeze(-1)
            return sum_to(ga, a.shape), sum_to(gb, b.shape)
        if nb == 2 and na > 2:
            k, m = b.shape
            rows = _prod(a.shape[:-1])  # not -1: a size-0 dim leaves -1 ambiguous
            ga = g @ b.mT
            gb = a.reshape(rows, k).mT @ g.reshape(rows, m)
            return ga, gb
        return sum_to(g @ b.mT, a.shape), sum_to(a.mT @ g, b.shape)

    def _one_grad(self, g, a, b):
        """Only one operand needs a gradient: one product, as torch's ``mm``/``bmm`` backward."""
        if self._next[0] is not None:
            return sum_to(g @ b.mT, a.shape), None
        if b.ndim == 2 and a.ndim > 2:
            rows = _prod(a.shape[:-1])
            return None, a.reshape(rows, b.shape[0]).mT @ g.reshape(rows, b.shape[1])
        return None, sum_to(a.mT @ g, b.shape)

    def _default_name(self):
        na, nb = len(self._metas[0][0]), len(self._metas[1][0])
        if na == 2 and nb == 2:
            return "MmBackward0"
        if na == 1 and nb == 1:
            return "DotBackward0"
        if nb == 1 and na == 2:
            return "MvBackward0"
        return "BmmBackward0" if na == nb == 3 else "MatmulBackward0"


def _check_matmul(a, b):
    """torch's errors for ``a @ b``, following the path torch takes for each rank pair.

    A >=3-D ``a`` with a 1-D/2-D ``b`` is folded to a matrix (so the message shows the
    folded rows); any >=3-D ``b`` takes the batched path and reports batch2's sizes.
    """
    na, nb = a.ndim, b.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D"
        )
    ka = a.shape[-1]
    kb = b.shape[-2] if nb >= 2 else b.shape[0]
    if nb >= 3 or (na >= 3 and nb >= 3):
        batch = _batch_shape(a.shape[:-2], b.shape[:-2])
        if ka != kb:
            n = _prod(batch)
            raise RuntimeError(
                f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {ka}] "
                f"but got: [{n}, {kb}]."
            )
        return
    if ka == kb:
        return
    if na == 1 and nb == 1:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] "
            "to have the same number of elements, but got "
            f"{ka} and {kb} elements respectively"
        )
    rows = _prod(a.shape[:-1])  # a >=3-D is folded into a (rows x k) matrix
    if nb == 1:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{ka}), vec ({kb})")
    raise RuntimeError(
        f"mat1 and mat2 shapes cannot be multiplied ({rows}x{ka} and {_shape_str(b.shape)})"
    )


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _batch_shape(sa, sb):
    """The broadcast batch shape, with torch's error naming both sizes."""
    from ._util import check_broadcast

    check_broadcast(sa, sb)
    return tuple(xp.broadcast_shapes(sa, sb))


# the sparse COO tensor class and its ops module, set by gradstep._sparse_ops (import
# cycle): mm/matmul/addmm hand a sparse operand over to it (one identity test per operand)
_SPARSE = _SPARSE_OPS = None


@autocast_op("matmul")
def matmul(a, b):
    if type(a) is _SPARSE or type(b) is _SPARSE:
        return _SPARSE_OPS.matmul(a, b)
    return _matmul(a, b)


def _matmul(a, b, flop_key=None):
    """``matmul`` without autocast (``mv`` and ``dot`` are not on autocast's list).
    ``flop_key``: the fused op (``addmm``) a FlopCounterMode counts this product as."""
    a, b = to_tensor(a), to_tensor(b)
    _check_matmul(a, b)
    if _flops.COUNTER is not None:
        _flops.matmul(a, b, flop_key)
    if a.dtype is not b.dtype or a.dtype._category != 2:
        if a.dtype is not b.dtype or a.dtype.name == "bool":
            _dtype_error(a, b)
        if a.dtype._category == 3:
            from .._complex import holomorphic

            return holomorphic(MatMul).apply(a, b)
    return MatMul.apply(a, b)


# C++ type names torch prints in matmul dtype errors
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
              "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool", "bfloat16": "c10::BFloat16"}


def _dtype_error(a, b):
    """torch's matmul does not promote: mixed dtypes raise, naming both (per the path taken)."""
    if a.dtype is b.dtype:  # bool
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    ta, tb = (_title(t.dtype) for t in (a, b))
    if a.ndim == 1 and b.ndim == 1:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {ta} and {tb}")
    if b.ndim == 1:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {tb}, {ta}, and {tb}")
    if b.ndim >= 3:
        if a.dtype.name == "bool":  # the batched kernel refuses a bool first operand first
            raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
        raise RuntimeError(f"expected scalar type {ta} but found {tb}")
    raise RuntimeError(
        "expected m1 and m2 to have the same dtype, but got: "
        f"{_CPP_NAMES[a.dtype.name]} != {_CPP_NAMES[b.dtype.name]}"
    )


def _title(dt):
    """torch's ScalarType name: Float, Double, Half, Long, Int, Short, Char, Byte, Bool."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "bfloat16": "BFloat16", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}[dt.name]


@autocast_op("mm")
def mm(a, b):
    if type(a) is _SPARSE or type(b) is _SPARSE:
        return _SPARSE_OPS.mm(a, b)
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return _matmul(a, b)


@autocast_op("bmm")
def bmm(a, b):
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
            f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
        )
    return _matmul(a, b)


def mv(a, v):
    return _matmul(a, v)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors"
        )
    return _matmul(a, b)


def outer(a, b):
    for t, name in ((a, "self"), (b, "vec2")):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return a.reshape(-1, 1) * b  # torch's composition (its graph: one view)


@float32_compute(backward=False)
class AddMm(Node):
    """``beta * c + alpha * (a @ b)`` of float16/bfloat16 matrices, as torch's gemm: float32
    accumulation, ``c`` added in float32, one rounding (``beta == 0`` ignores ``c``). The
    backward is torch's: ``grad * beta``, ``(grad @ b.T) * alpha``, ``(a.T @ grad) * alpha``."""

    _name = "AddmmBackward0"
    saves = (0, 1)

    def forward(self, a, b, c):
        self.c_shape = c.shape
        out = matmul_arrays(a, b)
        if self.alpha != 1:
            out *= F32.type(self.alpha)
        if self.beta == 0:
            return out
        return out + (c if self.beta == 1 else F32.type(self.beta) * c)

    def backward(self, g):
        a, b = self.saved_tensors
        alpha, beta = self.alpha, self.beta
        gc = None if beta == 0 else sum_to(g if beta == 1 else g * beta, self.c_shape)
        ga, gb = g @ b.mT, a.mT @ g
        if alpha != 1:
            ga, gb = ga * alpha, gb * alpha
        return ga, gb, gc


@autocast_op("addmm")
def addmm(input, mat1, mat2, beta=1, alpha=1):  # noqa: A002
    if type(mat1) is _SPARSE:
        return _SPARSE_OPS.addmm(input, mat1, mat2, beta=beta, alpha=alpha)
    if _lowp_addmm(input, mat1, mat2):
        from ._util import check_broadcast

        check_broadcast((mat1.shape[0], mat2.shape[1]), input.shape)
        if _flops.COUNTER is not None:
            _flops.matmul(mat1, mat2, "addmm")
        return AddMm.apply(mat1, mat2, input, alpha=alpha, beta=beta)
    out = _matmul(mat1, mat2, "addmm")
    if alpha != 1:
        out = out * alpha
    if beta == 0:  # torch ignores input entirely (nan/inf in it do not propagate)
        from ._util import check_broadcast

        check_broadcast(out.shape, input.shape)
        return out
    return as_torch_node(out + (input * beta if beta != 1 else input), "AddmmBackward0")


def _lowp_addmm(c, a, b):
    """Whether addmm takes ``AddMm``: 2-D float16/bfloat16 matrices and an input of their dtype."""
    T = type(a)
    if not isinstance(b, T) or not isinstance(c, T) or a.ndim != 2 or b.ndim != 2:
        return False
    dt = a._data.dtype
    return is_lowp(dt) and b._data.dtype == dt and c._data.dtype == dt and a.shape[1] == b.shape[0]


# ---------------------------------------------------------------- einsum
def _parse_einsum(eq, ndims):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs, out = eq, None
    subs = lhs.split(",")
    for c in (out or "").replace("...", ""):
        if out.count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    if len(subs) != len(ndims):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(ndims) > len(subs) else "einsum(): fewer operands were provided than specified in the equation"
        )
    used = set(c for c in eq if c.isalpha())
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = max((nd - len(s.replace("...", "")) for s, nd in zip(subs, ndims) if "..." in s), default=0)
    ell = "".join(spare[:n_ell])
    full = []
    for s, nd in zip(subs, ndims):
        if "..." in s:
            k = nd - len(s.replace("...", ""))
            s = s.replace("...", ell[n_ell - k:] if k else "")
        if len(s) != nd:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the "
                f"number of dimensions ({nd}) for operand and no ellipsis was given"
            )
        full.append(s)
    if out is None:
        counts = {}
        for s in full:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return full, out


@float32_compute(backward=False)
class Einsum(Node):
    def forward(self, *arrays):
        self.shapes = [a.shape for a in arrays]
        return xp.einsum(self.eq, *arrays, optimize=len(arrays) > 2)

    @property
    def saves(self):
        return tuple(range(self.n_in))

    def backward(self, g):
        ops = self.saved_tensors
        subs, out = self.subs, self.out
        grads = []
        for i, s in enumerate(subs):
            if not ops[i].requires_grad and not self._needs(i):
                grads.append(None)
                continue
            others = [subs[j] for j in range(len(subs)) if j != i]
            avail = set(out).union(*others) if others else set(out)
            u = "".join(dict.fromkeys(s))  # a repeated index ("ii") reads a diagonal
            target = "".join(c for c in u if c in avail)
            eq = ",".join([out] + others) + "->" + target
            gi = einsum(eq, g, *[ops[j] for j in range(len(ops)) if j != i])
            shape = self.shapes[i]
            if u == s:
                grads.append(_fit_grad(gi, s, target, shape))
            else:
                diag = _fit_grad(gi, u, target, tuple(shape[s.index(c)] for c in u))
                grads.append(_undiagonal(diag, u, s, shape))
        return tuple(grads)

    def _needs(self, i):
        return self._next[i] is not None


def _undiagonal(d, u, subs, shape):
    """Scatter ``d`` (indexed by the unique letters ``u``) onto the diagonal of ``subs``.

    Each repeat of a letter gets a fresh letter tied to the first by an identity
    matrix, so the result is an einsum and stays differentiable.
    """
    from .._tensor import Tensor

    spare = [c for c in _LETTERS if c not in subs]
    seen, renamed, eyes = set(), [], []
    for k, c in enumerate(subs):
        if c in seen:
            c2 = spare.pop()
            eyes.append((c + c2, shape[k]))
            renamed.append(c2)
        else:
            seen.add(c)
            renamed.append(c)
    eq = ",".join([u] + [e for e, _ in eyes]) + "->" + "".join(renamed)
    return einsum(eq, d, *[Tensor._make(xp.eye(n, dtype=d.dtype.np)) for _, n in eyes])


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _fit_grad(gi, subs, target, shape):
    """Bring an operand's gradient (indexed by ``target``) to its ``shape`` (indexed by ``subs``).

    Indices summed away in forward come back by expanding; size-1 dims that were
    broadcast against a larger size in another operand are summed back to 1.
    """
    full = tuple(gi.shape[target.index(c)] if c in target else 1 for c in subs)
    if gi.shape != full:
        gi = gi.reshape(full)
    shrink = tuple(k for k, (n, m) in enumerate(zip(full, shape)) if m == 1 and n != 1)
    if shrink:
        gi = gi.sum(dim=shrink, keepdim=True)
    return gi.expand(shape) if gi.shape != tuple(shape) else gi


def _sublist_equation(args):
    """torch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as (equation, operands):
    integer subscripts 0-51 stand for letters, ``...`` (Ellipsis) for itself."""
    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif not 0 <= int(s) < 52:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid "
                                 f"range [0, 52), got {s}")
            else:
                out.append(chr(ord("a") + int(s)) if int(s) < 26 else chr(ord("A") + int(s) - 26))
        return "".join(out)

    n = len(args) // 2  # (operand, sublist) pairs, then the output sublist if the count is odd
    operands = list(args[0:2 * n:2])
    equation = ",".join(letters(s) for s in args[1:2 * n:2])
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


@autocast_op("einsum")
def einsum(equation, *operands):
    if not isinstance(equation, str):  # the sublist form
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [to_tensor(o) for o in operands]
    subs, out = _parse_einsum(equation, [o.ndim for o in operands])
    for o in operands[1:]:
        if o.dtype is not operands[0].dtype:  # torch's einsum does not promote either
            raise RuntimeError(
                f"expected scalar type {_title(operands[0].dtype)} but found {_title(o.dtype)}"
            )
    eq = ",".join(subs) + "->" + out
    sizes = {}
    for s, o in zip(subs, operands):
        for c, n in zip(s, o.shape):
            if c in sizes and sizes[c] != n and 1 not in (sizes[c], n):
                raise RuntimeError(
                    f"einsum(): operands do not broadcast with remapped shapes (original->remapped)"
                    f": subscript '{c}' has size {sizes[c]} and {n}"
                )
            sizes[c] = n
    node = Einsum
    if operands and operands[0].dtype._category == 3:
        from .._complex import holomorphic

        node = holomorphic(Einsum)
    return node.apply(*operands, eq=eq, subs=subs, out=out, n_in=len(operands))
