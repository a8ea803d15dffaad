"""The Tensor API against torch: attributes, conversions, in-place ops, versions, views, repr."""

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close, check


def _both(f):
    return f(gradstep), f(torch)


def _same_dtype(ours, theirs):
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")


# ---------------------------------------------------------------- attributes
def test_attributes():
    a = gradstep.zeros(2, 3, 4)
    assert a.shape == (2, 3, 4) and a.size() == (2, 3, 4) and a.size(1) == 3 and a.size(-1) == 4
    assert repr(a.shape) == "gradstep.Size([2, 3, 4])" and isinstance(a.shape, tuple)
    assert a.ndim == 3 and a.dim() == 3 and a.numel() == 24
    assert a.dtype is gradstep.float32 and str(a.device) == "cpu" and a.device == gradstep.device("cpu")
    assert not a.requires_grad and a.grad is None and a.grad_fn is None and a.is_leaf
    assert a.mT.shape == (2, 4, 3)
    m = gradstep.arange(6.0).reshape(2, 3)
    assert m.T.tolist() == torch.arange(6.0).reshape(2, 3).T.tolist()
    assert m.mT.tolist() == m.T.tolist()
    with pytest.raises(IndexError):
        a.size(3)
    with pytest.raises(RuntimeError, match="mT"):
        _ = gradstep.zeros(3).mT


def test_requires_grad_leaf_and_grad_fn():
    a = gradstep.ones(2, requires_grad=True)
    b = a * 2
    assert a.is_leaf and not b.is_leaf and b.requires_grad and b.grad_fn is not None
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert b.grad is None
    assert any("not a leaf" in str(x.message) for x in w)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        gradstep.ones(2, dtype=gradstep.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf variables"):
        (a * 2).requires_grad_(False)
    c = gradstep.ones(2)
    assert c.requires_grad_() is c and c.requires_grad
    c.requires_grad = False
    assert not c.requires_grad
    assert gradstep.ones(2).requires_grad_(True).is_leaf


def test_retain_grad():
    for L in (gradstep, torch):
        a = L.tensor([1.0, 2.0], requires_grad=True)
        b = a * a
        b.retain_grad()
        (b * 3).sum().backward()
        if L is gradstep:
            ours = (b.grad.tolist(), a.grad.tolist(), b.retains_grad)
    assert ours == (b.grad.tolist(), a.grad.tolist(), True)
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        gradstep.ones(2).retain_grad()


def test_data_read_and_assign():
    a = gradstep.ones(3, requires_grad=True)
    d = a.data
    assert not d.requires_grad and d.is_leaf
    d[0] = 5.0  # shares memory with a
    assert a[0].item() == 5.0
    a.data = gradstep.zeros(3)
    assert a.tolist() == [0.0, 0.0, 0.0] and a.requires_grad
    a.data = gradstep.zeros(4, dtype=gradstep.float64)
    assert a.shape == (4,) and a.dtype is gradstep.float64


# ---------------------------------------------------------------- conversions
def test_item_tolist_numpy():
    assert gradstep.tensor(2.5).item() == 2.5 and isinstance(gradstep.tensor(3).item(), int)
    assert isinstance(gradstep.tensor(True).item(), bool)
    assert gradstep.tensor([[7]]).item() == 7
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        gradstep.tensor([1, 2]).item()
    for L in (gradstep, torch):
        x = L.arange(6).reshape(2, 3)
        assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
        assert L.tensor(1.5).tolist() == 1.5
    a = gradstep.ones(3)
    n = a.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[0] = 7
    assert a[0].item() == 7  # shares memory
    g = gradstep.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        g.numpy()
    assert g.detach().numpy().tolist() == [1.0, 1.0]
    assert float(gradstep.tensor(2.5)) == 2.5 and int(gradstep.tensor(3.7)) == 3
    assert bool(gradstep.tensor([1])) and len(gradstep.zeros(4, 2)) == 4
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(gradstep.ones(2))
    assert [2, 3, 4][gradstep.tensor(1)] == 3


def test_detach_and_detach_():
    a = gradstep.ones(3, requires_grad=True)
    b = a * 2
    d = b.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 9.0
    assert b[0].item() == 9.0 and b._version == d._version
    c = a * 3
    assert c.detach_() is c and c.grad_fn is None and not c.requires_grad and c.is_leaf


def test_clone_contiguous_copy():
    check(lambda L, a: a.clone() * 2, [(2, 3)])
    check(lambda L, a: a.t().contiguous(), [(2, 3)])
    a = gradstep.ones(2, 3)
    assert a.contiguous() is a
    t = a.t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    c = a.clone()
    c[0, 0] = 5
    assert a[0, 0].item() == 1.0
    # copy_ with broadcasting, dtype conversion and gradient to the source
    check(lambda L, a, b: (a * 1).copy_(b), [(2, 3), (3,)])
    check(lambda L, a, b: (a * 1)[0].copy_(b[0]) * 2, [(2, 3), (2, 3)])
    for L in (gradstep, torch):
        x = L.zeros(2, 3)
        x.copy_(L.arange(3))
        y = L.zeros(2, dtype=L.int64)
        y.copy_(L.tensor([1.7, -2.2]))
        if L is gradstep:
            ours = (x.tolist(), y.tolist())
    assert ours == (x.tolist(), y.tolist())
    with pytest.raises(RuntimeError):
        gradstep.zeros(2, 3).copy_(gradstep.zeros(4))


def test_zero_fill():
    for L in (gradstep, torch):
        x = L.arange(6.0).reshape(2, 3)
        x[0].zero_()
        x[1].fill_(2.5)
        y = L.arange(3)
        y.fill_(L.tensor(7))
        if L is gradstep:
            ours = (x.tolist(), y.tolist())
    assert ours == (x.tolist(), y.tolist())
    check(lambda L, a, v: (a * 1).fill_(v.sum()), [(2, 3), (2,)])
    check(lambda L, a: (a * 1).zero_() + a, [(2, 3)])


@pytest.mark.parametrize("conv", ["float", "double", "half", "long", "int", "bool"])
def test_dtype_conversions(conv):
    vals = [[-1.5, 0.0, 2.7], [3.0, -0.2, 100.9]]
    ours, theirs = _both(lambda L: getattr(L.tensor(vals), conv)())
    _same_dtype(ours, theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_to_and_type_as():
    a = gradstep.tensor([1.5, -2.0])
    assert a.to(gradstep.float64).dtype is gradstep.float64
    assert a.to("cpu") is a and a.to(device="cpu") is a and a.to(gradstep.float32) is a
    assert a.to("cpu", gradstep.int64).tolist() == [1, -2]
    assert a.to(dtype=gradstep.int32).dtype is gradstep.int32
    assert a.to(gradstep.zeros(1, dtype=gradstep.float16)).dtype is gradstep.float16
    assert a.to(gradstep.float32, copy=True) is not a
    assert a.type_as(gradstep.zeros(1, dtype=gradstep.int64)).dtype is gradstep.int64
    with pytest.raises(RuntimeError, match="cuda"):
        a.to("cuda")
    check(lambda L, x: x.to(L.float64) * x.double(), [(3,)], dtypes=("float32",))
    check(lambda L, x: x.float().sum() + x.type_as(L.zeros(1)).sum(), [(3,)], dtypes=("float64",))
    x = gradstep.ones(2, requires_grad=True)
    assert x.double().grad_fn.name() == "ToCopyBackward0"


def test_new_factories():
    for dt in ("float32", "float64", "int64"):
        base_g = gradstep.zeros(2, dtype=getattr(gradstep, dt))
        base_t = torch.zeros(2, dtype=getattr(torch, dt))
        for f in [lambda b: b.new_zeros(3), lambda b: b.new_zeros((2, 3)), lambda b: b.new_ones(2, 2),
                  lambda b: b.new_full((2,), 3), lambda b: b.new_tensor([1, 2]),
                  lambda b: b.new_tensor([1.5]), lambda b: b.new_empty(4),
                  lambda b: b.new_zeros(2, dtype=None)]:
            ours, theirs = f(base_g), f(base_t)
            _same_dtype(ours, theirs)
            assert tuple(ours.shape) == tuple(theirs.shape)
            if ours.shape != (4,):
                assert ours.tolist() == theirs.tolist()
    n = gradstep.zeros(1).new_ones(2, dtype=gradstep.int32, requires_grad=False)
    assert n.dtype is gradstep.int32
    r = gradstep.zeros(1).new_zeros(2, requires_grad=True)
    assert r.requires_grad and r.is_leaf
    src = gradstep.ones(2)
    t = gradstep.zeros(1).new_tensor(src)
    t[0] = 5
    assert src[0].item() == 1.0


# ---------------------------------------------------------------- in-place arithmetic
INPLACE = {
    "add_": lambda x, a, b: x.add_(b),
    "add_alpha": lambda x, a, b: x.add_(b, alpha=-2.5),
    "add_scalar": lambda x, a, b: x.add_(3),
    "sub_": lambda x, a, b: x.sub_(b, alpha=0.5),
    "mul_": lambda x, a, b: x.mul_(b),
    "mul_scalar": lambda x, a, b: x.mul_(-1.5),
    "div_": lambda x, a, b: x.div_(b.abs() + 1),
    "div_scalar": lambda x, a, b: x.div_(4),
    "addcmul_": lambda x, a, b: x.addcmul_(a, b, value=0.3),
    "addcdiv_": lambda x, a, b: x.addcdiv_(a, b * b + 1, value=-2),
    "lerp_": lambda x, a, b: x.lerp_(b, 0.25),
    "lerp_tensor_w": lambda x, a, b: x.lerp_(b, a.sigmoid()),
    "clamp_": lambda x, a, b: x.clamp_(-0.5, 0.7),
    "clamp_min_": lambda x, a, b: x.clamp_(min=0.1),
    "sqrt_": lambda x, a, b: x.abs_().add_(0.1).sqrt_(),
    "mul_div_chain": lambda x, a, b: x.mul_(b).add_(1).div_(2),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_matches_torch(name):
    def f(L, a, b):
        x = a * 1
        out = INPLACE[name](x, a, b)
        assert out is x
        return x
    check(f, [(3, 4), (4,)])


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_without_grad(name):
    rng = np.random.default_rng(3)
    a_np, b_np = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (4,))
    for dt in ("float32", "float64"):
        ours = [gradstep.tensor(v.astype(dt)) for v in (a_np, b_np)]
        theirs = [torch.tensor(v.astype(dt)) for v in (a_np, b_np)]
        x, tx = ours[0].clone(), theirs[0].clone()
        v0 = x._version
        INPLACE[name](x, *ours)
        INPLACE[name](tx, *theirs)
        assert_close(x, tx, dt)
        assert x._version > v0


def test_maximum_in_place():
    check(lambda L, a, b: (a * 1).maximum_(b), [(3, 4), (4,)],
          torch_fn=lambda L, a, b: L.maximum(a * 1, b))
    x, tx = gradstep.tensor([1.0, 5.0, -2.0]), torch.tensor([1.0, 5.0, -2.0])
    y, ty = gradstep.tensor([3.0, 0.0, -1.0]), torch.tensor([3.0, 0.0, -1.0])
    assert x.maximum_(y) is x
    torch.maximum(tx, ty, out=tx)
    assert x.tolist() == tx.tolist()


def test_inplace_dtype_rules():
    x = gradstep.zeros(3, dtype=gradstep.int64)
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.add_(gradstep.ones(3))
    x.add_(2)
    assert x.tolist() == [2, 2, 2] and x.dtype is gradstep.int64
    y = gradstep.zeros(3)
    y.add_(gradstep.ones(3, dtype=gradstep.float64))
    assert y.dtype is gradstep.float32
    with pytest.raises(RuntimeError):
        gradstep.zeros(3).add_(gradstep.ones(2, 3))


def test_inplace_computes_in_the_promoted_dtype():
    # float32 /= float64 0-d: torch computes in float32 (a 0-d tensor does not promote); NumPy's
    # ufunc computed in float64 and rounded twice, 1 ulp off (found by the ops fuzzer)
    x = np.array([-0.40076318, 0.7, 1.3], dtype=np.float32)
    for name in ("div_", "mul_", "add_", "sub_", "pow_", "remainder_"):
        ours = getattr(gradstep.tensor(x), name)(gradstep.tensor(np.float64(0.3)))
        theirs = getattr(torch.tensor(x), name)(torch.tensor(0.3, dtype=torch.float64))
        assert ours.dtype.name == "float32"
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)


@pytest.mark.parametrize("call", [
    lambda lib: lib.tensor([1, 200], dtype=lib.uint8).clamp_min_(lib.tensor([3, -1], dtype=lib.int32)),
    lambda lib: lib.tensor([1, 200], dtype=lib.uint8).mul_(lib.tensor([3, 2])),
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8).pow_(lib.tensor([2, 3])),
    lambda lib: lib.tensor([[1, 2], [3, 4]], dtype=lib.int32).pow_(lib.tensor([-1, 2])),
    lambda lib: lib.tensor([1, 5], dtype=lib.uint8).add_(-2),
])
def test_inplace_integer_casts_follow_torchs_rule(call):
    # torch casts any integer result into any integer tensor (int64 -> uint8 wraps); NumPy's
    # same_kind rule refused a signed result into an unsigned tensor, and an integer pow_ with a
    # negative exponent raised NumPy's ValueError (ops fuzzer)
    assert call(gradstep).tolist() == call(torch).tolist()


@pytest.mark.parametrize("call", [
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8).pow_(-4),
    lambda lib: lib.zeros(1, 2).sub_(lib.tensor([True])),
    lambda lib: lib.zeros(2, dtype=lib.int64).clamp_min_(lib.tensor([0.5])),
    lambda lib: lib.zeros(2, dtype=lib.int64).clamp_(None, lib.tensor(0.5)),
    lambda lib: lib.zeros(2, dtype=lib.int64).maximum_(lib.tensor([0.5]))
    if lib is gradstep else lib.maximum(lib.zeros(2, dtype=lib.int64), lib.tensor([0.5]),
                                        out=lib.zeros(2, dtype=lib.int64)),
    lambda lib: lib.zeros(1, 2).clamp_(lib.zeros(3)),
    lambda lib: lib.zeros(1, 2).clamp_(),
    lambda lib: lib.zeros(2, dtype=lib.uint8).clamp_min_(lib.zeros(1, 2, dtype=lib.int32)),
])
def test_inplace_errors_match_torch(call):
    # the fast paths (no graph) raised nothing (bool sub_) or NumPy's UFuncTypeError/ValueError
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep)
    assert str(ours.value).split(" ")[:3] == str(theirs.value).split(" ")[:3]


def test_inplace_on_leaf_requiring_grad_raises():
    a = gradstep.ones(3, requires_grad=True)
    for f in (lambda: a.add_(1), lambda: a.mul_(2), lambda: a.zero_(), lambda: a.sqrt_(),
              lambda: a.clamp_(0, 1), lambda: a.copy_(gradstep.ones(3)), lambda: a.fill_(1)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            f()
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        a[0].add_(1)
    with gradstep.no_grad():
        a.mul_(3).add_(1)
    assert a.tolist() == [4.0, 4.0, 4.0] and a.is_leaf and a.requires_grad


def test_modified_saved_tensor_raises():
    a = gradstep.ones(3, requires_grad=True)
    x = a * 2
    y = x.exp()  # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x = a * 2
    z = x * x  # saves x
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    x = a * 2
    z = x.sin()
    x[1:].zero_()  # through a view
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    x = a * 2
    z = x * x
    with gradstep.no_grad():
        x.add_(1)  # even without grad mode
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_version_counter():
    a = gradstep.zeros(3)
    v = a[1:]
    assert a._version == 0
    a.add_(1)
    v.mul_(2)
    a[0] = 3
    assert a._version == v._version == 3
    b = a.detach()
    b.zero_()
    assert a._version == 4


# ---------------------------------------------------------------- in-place through views
VIEW_INPLACE = {
    "row_mul": lambda L, a, b: _v(a, lambda x: x[0].mul_(b[0])),
    "col_add": lambda L, a, b: _v(a, lambda x: x[:, 1].add_(b[:, 2])),
    "view_flat": lambda L, a, b: _v(a, lambda x: x.view(-1)[2:7].mul_(3)),
    "transposed": lambda L, a, b: _v(a, lambda x: x.t()[1].mul_(b[:, 0])),
    "zero_slice": lambda L, a, b: _v(a, lambda x: x[1:, ::2].zero_()),
    "copy_row": lambda L, a, b: _v(a, lambda x: x[2].copy_(b[0] * b[1])),
    "view_of_view": lambda L, a, b: _v(a, lambda x: x[1:][:, 1:][0].addcmul_(b[0, 1:], b[1, 1:])),
    "old_view_then_base": lambda L, a, b: _old_view(a, b),
    "view_used_after": lambda L, a, b: _view_after(a, b),
    "no_grad_base": lambda L, a, b: _plain_base(L, a, b),
}


def _v(a, f):
    x = a * 1
    f(x)
    return x


def _old_view(a, b):
    x = a * 1
    v = x[0]
    x.mul_(b)
    return x + v.sum()


def _view_after(a, b):
    x = a * 1
    v = x[:, 0]
    v.mul_(b[:, 1])
    v.add_(1)
    return v * 2 + x.sum(1)


def _plain_base(L, a, b):
    x = L.zeros(3, 4, dtype=a.dtype)
    v = x[1]
    x[0].add_(a[0])
    x.mul_(b)
    return x + v.sum()


@pytest.mark.parametrize("name", sorted(VIEW_INPLACE))
def test_inplace_through_views(name):
    check(VIEW_INPLACE[name], [(3, 4), (3, 4)])


def test_inplace_view_marks_base():
    a = gradstep.ones(2, 3, requires_grad=True)
    x = a * 1
    x[0].mul_(2)
    assert x.grad_fn.name() == "torch::autograd::CopySlices"  # torch's name()


# ---------------------------------------------------------------- repr
REPRS = [
    lambda L: L.tensor([[1.0, 2.0]], requires_grad=True),
    lambda L: L.tensor([3.0], requires_grad=True)[0],
    lambda L: L.tensor([1, 2, -30]),
    lambda L: L.tensor([True, False]),
    lambda L: L.tensor(3.0),
    lambda L: L.tensor(0.0),
    lambda L: L.tensor(float("nan")),
    lambda L: L.tensor([1.5, 2.25, -3.0]),
    lambda L: L.tensor([1e-5, 1.0, 1000.0]),
    lambda L: L.tensor([1e10, 1.0]),
    lambda L: L.tensor([123456.789, 0.5]),
    lambda L: L.tensor([100000000.0, 1.5]),
    lambda L: L.tensor([0.1, float("nan"), float("inf")]),
    lambda L: L.tensor([1.0, float("nan"), -float("inf")]),
    lambda L: L.tensor([-0.0, 1.0]),
    lambda L: L.tensor([0.0, 0.0]),
    lambda L: L.tensor(1e-10),
    lambda L: L.tensor([1.0, 2.0], dtype=L.float64),
    lambda L: L.tensor([1.0, 2.0], dtype=L.float16),
    lambda L: L.tensor([1, 2], dtype=L.int32),
    lambda L: L.tensor(5, dtype=L.uint8),
    lambda L: L.zeros(2, 0),
    lambda L: L.zeros(0),
    lambda L: L.zeros(0, dtype=L.int64),
    lambda L: L.zeros(3, 0, dtype=L.float64),
    lambda L: L.arange(24.0).reshape(2, 3, 4),
    lambda L: L.arange(12.0).reshape(3, 4) / 7,
    lambda L: L.arange(30).reshape(10, 3),
    lambda L: L.arange(2000.0),
    lambda L: L.arange(2000),
    lambda L: L.arange(3000.0).reshape(30, 100) / 3,
    lambda L: L.arange(40.0) * 1.5,
    lambda L: L.arange(5000.0).reshape(5, 10, 100),
    lambda L: (L.arange(50.0) / 9).reshape(5, 10).requires_grad_(),
    lambda L: L.linspace(-1, 1, 30, dtype=L.float64),
    lambda L: L.ones(3, requires_grad=True).sum(),
    lambda L: L.ones(2, 2, requires_grad=True).mean(0),
    lambda L: L.ones(2, 40, requires_grad=True)[0],
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_matches_torch(i):
    ours, theirs = _both(REPRS[i])
    assert repr(ours) == repr(theirs).replace("torch.", "gradstep.")
    assert str(ours) == repr(ours)


def test_printoptions():
    set_printoptions = gradstep.set_printoptions
    x, tx = _both(lambda L: L.arange(10.0) / 3)
    try:
        set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        assert repr(x) == repr(tx)
        set_printoptions(threshold=5, edgeitems=2)
        torch.set_printoptions(threshold=5, edgeitems=2)
        assert repr(x) == repr(tx)
    finally:
        set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(x) == repr(tx)


def test_format():
    assert f"{gradstep.tensor(2.5):.2f}" == "2.50"
    assert f"{gradstep.tensor([1.0])}" == "tensor([1.])"


def test_compare_with_non_numbers():
    x = gradstep.tensor([1, 2])
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert Ellipsis not in [x] and x in [x]
    assert (x == "a") is False


def test_inplace_op_output_saved_then_modified_raises_like_torch():
    for L in (gradstep, torch):
        a = L.tensor([1.0, 4.0], requires_grad=True)
        x = a * 1
        x.sqrt_()  # sqrt saves its output, which is x itself now
        x.div_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            x.sum().backward()
        y = a * 1
        y.exp_()
        y.sum().backward()  # unmodified: fine
        assert a.grad.tolist() == pytest.approx([float(np.exp(1.0)), float(np.exp(4.0))])


def _normalize_suffix_wrap(r):
    # "gradstep." is 3 characters longer than "torch.", so a suffix may wrap where torch's fits
    import re

    return re.sub(r",\n +(dtype|grad_fn|requires_grad)", r", \1", r)


def test_repr_random_tensors_match_torch():
    rng = np.random.default_rng(0)
    for _ in range(120):
        shape = tuple(int(s) for s in rng.integers(1, 6, size=rng.integers(0, 4)))
        if rng.random() < 0.1:
            shape = tuple(int(s) for s in rng.integers(30, 60, size=max(len(shape), 1)))
        kind = rng.integers(0, 7)
        x = rng.standard_normal(shape)
        if kind == 1:
            x = x * 10.0 ** rng.integers(-8, 9)
        elif kind == 2:
            x = np.round(x * 100)
        elif kind == 3:
            x = rng.integers(-1000, 1000, size=shape)
        elif kind == 4:
            x = rng.random(shape) < 0.5
        elif kind == 5:
            x.flat[0] = np.nan
        elif kind == 6:
            x = x * np.where(rng.random(shape) < 0.5, 1e-6, 1e4)
        for dt in ([None] if x.dtype.kind in "ib" else ["float32", "float64", "float16"]):
            with np.errstate(over="ignore"):
                xx = x.astype(dt) if dt else x
            ours = repr(gradstep.tensor(xx))
            theirs = repr(torch.tensor(xx)).replace("torch.", "gradstep.")
            assert _normalize_suffix_wrap(ours) == _normalize_suffix_wrap(theirs)
            assert all(len(line) <= 80 for line in ours.splitlines())


def test_writing_into_expanded_tensor_raises():
    # (torch lets zero_/fill_/x[i] = v through, writing one value to the shared memory;
    # gradstep refuses every write into an expanded tensor)
    fns = [lambda L, x: x.add_(1), lambda L, x: x.copy_(L.ones(2, 3)), lambda L, x: x.clamp_(max=1),
           lambda L, x: x.mul_(L.ones(3, requires_grad=True))]
    for f in fns:
        for L in (gradstep, torch):
            with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
                f(L, L.zeros(3).expand(2, 3))
    for f in (lambda x: x.zero_(), lambda x: x.fill_(2), lambda x: x.__setitem__(0, 1.0)):
        with pytest.raises(RuntimeError, match="Please clone"):
            f(gradstep.zeros(3).expand(2, 3))


def test_float_of_a_tensor_that_requires_grad_warns_once_like_torch(monkeypatch):
    """torch warns (TORCH_WARN_ONCE) at the first ``float()`` of a tensor requiring grad."""
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    loss = (gradstep.ones(2, requires_grad=True) * 2).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert float(loss.detach()) == 4.0 and int(loss) == 4 and loss.item() == 4.0
        assert not caught  # neither a detached tensor, int() nor item() warns
        assert float(loss) == 4.0
        assert float(loss) == 4.0
    assert len(caught) == 1 and caught[0].category is UserWarning
    assert caught[0].filename == __file__  # attributed to the caller's line
    t = (torch.ones(2, requires_grad=True) * 2).sum()
    with warnings.catch_warnings(record=True) as torch_caught:
        warnings.simplefilter("always")
        float(t)
    ours = str(caught[0].message)
    # torch's text, up to its "(Triggered internally at <C++ file>)" suffix (absent when an
    # earlier test in this process already used torch's one warning)
    assert not torch_caught or str(torch_caught[0].message).startswith(ours)
    assert ours.startswith("Converting a tensor with requires_grad=True to a scalar")


def test_float_of_grad_tensor_is_quiet_under_no_grad(monkeypatch):
    """torch warns about float() of a requires_grad tensor only with grad mode on, so
    ``LBFGS.step`` (a ``no_grad`` method calling ``float(closure())``) stays quiet."""
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    loss = (gradstep.ones(2, requires_grad=True) * 2).sum()
    t = (torch.ones(2, requires_grad=True) * 2).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with gradstep.no_grad():
            assert float(loss) == 4.0
        with torch.no_grad():
            assert float(t) == 4.0
    assert not caught
    w = gradstep.zeros(3, requires_grad=True)
    opt = gradstep.optim.LBFGS([w], max_iter=2)

    def closure():
        opt.zero_grad()
        loss = ((w - 1) ** 2).sum()
        loss.backward()
        return loss

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt.step(closure)
    assert not caught


@pytest.mark.parametrize("convert", [float, int, complex, bool, lambda t: "%f" % t])  # noqa: UP031 -- %-format calls __float__
@pytest.mark.parametrize("values", [[1.0, 2.0], []])
def test_python_scalar_of_a_tensor_not_one_element_raises_as_torch(convert, values):
    """float()/int() raise torch's ValueError (``ReduceLROnPlateau.step(metric)`` given a
    per-sample loss surfaces it), bool() its RuntimeError, each with torch's text."""
    raised = []
    for L in (gradstep, torch):
        with pytest.raises((ValueError, RuntimeError)) as info:
            convert(L.tensor(values))
        raised.append((info.type, str(info.value)))
    assert raised[0] == raised[1]


def test_inplace_broadcast_error_after_a_dtype_refusal_is_torchs():
    """A bool tensor clamped in place by a uint8 one of another width: NumPy's dtype refusal
    came first and its retry leaked NumPy's broadcast ValueError."""
    messages = []
    for lib in (torch, gradstep):
        with pytest.raises(RuntimeError) as info:
            lib.zeros(0, 4, dtype=lib.bool).clamp_min_(lib.zeros(0, 6, dtype=lib.uint8))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
