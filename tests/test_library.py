"""torch.library: the same custom-op programs in torch and in gradstep give the same values,
gradients and errors. torch's registrations are global per process, so every test uses
its own namespace (``_ns``)."""

import itertools
import warnings

import numpy as np
import pytest
import torch

import gradstep

_COUNTER = itertools.count()
X = np.array([0.3, -1.2, 2.0], dtype=np.float64)


def _ns(tag):
    return f"gstest_{tag}_{next(_COUNTER)}"


def both(program):
    """Run ``program(lib, ns)`` with lib=torch and lib=gradstep, each in a fresh namespace."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return program(torch, _ns("t")), program(gradstep, _ns("g"))


def _np(t):
    return t.detach().numpy()


def _sin_op(lib, ns):
    T = lib.Tensor

    @lib.library.custom_op(f"{ns}::scaled_sin", mutates_args=())
    def scaled_sin(x: T, k: float = 2.0) -> T:
        return x.sin() * k

    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k = k
        ctx.seen_needs_input_grad = ctx.needs_input_grad

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        backward.needs = ctx.needs_input_grad
        return grad * x.cos() * ctx.k, None

    scaled_sin.register_autograd(backward, setup_context=setup_context)
    return scaled_sin, backward


def test_custom_op_values_and_gradients_match_torch():
    def program(lib, ns):
        op, backward = _sin_op(lib, ns)
        x = lib.tensor(X, requires_grad=True)
        y = op(x, 3.0)
        (y * y).sum().backward()
        via_ops = getattr(lib.ops, ns).scaled_sin(x.detach())
        return _np(y), _np(x.grad), _np(via_ops), backward.needs

    (ty, tg, tops, tneeds), (gy, gg, gops, gneeds) = both(program)
    np.testing.assert_allclose(gy, ty, rtol=1e-12)
    np.testing.assert_allclose(gg, tg, rtol=1e-12)
    np.testing.assert_allclose(gops, tops, rtol=1e-12)  # default k=2.0 filled in
    assert gneeds == tneeds == (True, False)


def test_default_overload_and_keyword_arguments():
    def program(lib, ns):
        op, _ = _sin_op(lib, ns)
        packet = getattr(lib.ops, ns).scaled_sin
        x = lib.tensor(X)
        return _np(packet.default(x, k=0.5)), _np(op(x=x)), repr(op).replace(ns, "NS")

    (t1, t2, trepr), (g1, g2, grepr) = both(program)
    np.testing.assert_allclose(g1, t1, rtol=1e-12)
    np.testing.assert_allclose(g2, t2, rtol=1e-12)
    assert grepr == trepr == "<CustomOpDef(NS::scaled_sin)>"


def test_backward_without_register_autograd_raises_like_torch():
    def program(lib, ns):
        T = lib.Tensor

        @lib.library.custom_op(f"{ns}::noback", mutates_args=())
        def noback(x: T) -> T:
            return x * 2

        x = lib.tensor(X, requires_grad=True)
        y = noback(x)
        with pytest.raises(RuntimeError, match="no autograd formula was registered") as e:
            y.sum().backward()
        return y.requires_grad, _np(noback(lib.tensor(X))), str(e.value).replace(ns, "NS")

    (treq, tval, tmsg), (greq, gval, gmsg) = both(program)
    assert greq == treq is True
    np.testing.assert_allclose(gval, tval)
    assert gmsg == tmsg


def test_multiple_outputs_and_kwarg_only_setup_context():
    def program(lib, ns):
        T = lib.Tensor

        @lib.library.custom_op(f"{ns}::mulpair", mutates_args=())
        def mulpair(x: T, y: T, *, alpha: float = 1.0) -> tuple[T, T]:
            return x * y * alpha, x + y

        def setup_context(ctx, inputs, keyword_only_inputs, output):
            ctx.save_for_backward(*inputs)
            ctx.alpha = keyword_only_inputs["alpha"]

        def backward(ctx, g_prod, g_sum):
            x, y = ctx.saved_tensors
            return g_prod * y * ctx.alpha + g_sum, g_prod * x * ctx.alpha + g_sum

        mulpair.register_autograd(backward, setup_context=setup_context)
        x = lib.tensor(X, requires_grad=True)
        y = lib.tensor(X[::-1].copy() + 1, requires_grad=True)
        p, s = mulpair(x, y, alpha=0.5)
        (p * 3 + s * s).sum().backward()
        return _np(p), _np(s), _np(x.grad), _np(y.grad)

    for theirs, ours in zip(*both(program)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_mutating_custom_op_changes_its_argument():
    def program(lib, ns):
        T = lib.Tensor

        @lib.library.custom_op(f"{ns}::add_into", mutates_args={"out"})
        def add_into(x: T, out: T) -> None:
            out.add_(x)

        out = lib.zeros(3, dtype=lib.float64)
        result = add_into(lib.tensor(X), out)
        with pytest.raises(RuntimeError, match="non-functional operator") as e:
            add_into.register_autograd(lambda ctx, g: g)
        return result, _np(out), type(e.value)

    (tres, tout, terr), (gres, gout, gerr) = both(program)
    assert gres is None and tres is None
    np.testing.assert_allclose(gout, tout)
    assert gerr is terr


def test_register_kernel_and_set_kernel_enabled():
    def program(lib, ns):
        T = lib.Tensor

        @lib.library.custom_op(f"{ns}::f", mutates_args=())
        def f(x: T) -> T:
            return x + 1

        f.register_kernel("cpu")(lambda x: x + 100)
        x = lib.tensor(X)
        cpu = _np(f(x))
        with f.set_kernel_enabled("cpu", enabled=False):
            disabled = _np(f(x))
        return cpu, disabled, _np(f(x))

    for theirs, ours in zip(*both(program)):
        np.testing.assert_allclose(ours, theirs)


def test_register_fake_returns_the_function_and_opcheck_passes():
    def program(lib, ns):
        T = lib.Tensor

        @lib.library.custom_op(f"{ns}::double", mutates_args=())
        def double(x: T) -> T:
            return x * 2

        def fake(x):
            return lib.empty_like(x)

        assert double.register_fake(fake) is fake
        double.register_autograd(lambda ctx, g: g * 2)
        result = lib.library.opcheck(double, (lib.tensor(X, requires_grad=True),))
        return sorted(result.items())

    theirs, ours = both(program)
    assert ours == theirs


def test_opcheck_reports_an_undeclared_mutation():
    def program(lib, ns):
        T = lib.Tensor

        @lib.library.custom_op(f"{ns}::sneaky", mutates_args=())
        def sneaky(x: T) -> T:
            x.add_(1)
            return x.clone()

        sneaky.register_fake(lambda x: lib.empty_like(x))
        result = lib.library.opcheck(sneaky, (lib.tensor(X),), raise_exception=False,
                                     test_utils="test_schema")
        return isinstance(result["test_schema"], Exception)

    assert both(program) == (True, True)


@pytest.mark.parametrize("name", ["foo", "a::b::c", "a.b"])
def test_bad_op_names_raise_value_error(name):
    def f(x: gradstep.Tensor) -> gradstep.Tensor:
        return x

    def tf(x: torch.Tensor) -> torch.Tensor:
        return x

    with pytest.raises(ValueError):
        torch.library.custom_op(name, tf, mutates_args=())
    with pytest.raises(ValueError, match="namespace::opname"):
        gradstep.library.custom_op(name, f, mutates_args=())


def _errors(lib, make_fn, **kwargs):
    try:
        lib.library.custom_op(f"{_ns('err')}::op", make_fn(lib), **kwargs)
    except Exception as e:  # noqa: BLE001 - the oracle comparison is on the type and message
        return type(e), str(e).split(" Got func with signature")[0]
    return None, None


_BAD_FUNCTIONS = {
    "missing annotation": lambda lib: (lambda x: x),
    "tuple input": lambda lib: _annotated(lib, "tuple"),
    "dict input": lambda lib: _annotated(lib, "dict"),
    "varargs": lambda lib: _varargs(lib),
}


def _annotated(lib, kind):
    T = lib.Tensor
    if kind == "tuple":
        def f(x: T, t: tuple) -> T:
            return x
    else:
        def f(x: T, d: dict) -> T:
            return x
    return f


def _varargs(lib):
    T = lib.Tensor

    def f(x: T, *a) -> T:
        return x
    return f


@pytest.mark.parametrize("case", sorted(_BAD_FUNCTIONS))
def test_schema_inference_failures_match_torch(case):
    t_type, t_msg = _errors(torch, _BAD_FUNCTIONS[case], mutates_args=())
    g_type, g_msg = _errors(gradstep, _BAD_FUNCTIONS[case], mutates_args=())
    assert g_type is t_type is ValueError
    # the type lists name each library's own classes; the reason before them must agree
    assert g_msg.split("The valid types")[0].replace("gradstep", "torch") == \
        t_msg.split("The valid types")[0]


@pytest.mark.parametrize("mutates_args", [("y",), "x", ()])
def test_mutates_args_validation_matches_torch(mutates_args):
    def make(lib):
        T = lib.Tensor

        def f(x: T) -> T:
            return x.sin()
        return f

    assert _errors(gradstep, make, mutates_args=mutates_args) == \
        _errors(torch, make, mutates_args=mutates_args)


def test_missing_mutates_args_is_a_type_error():
    def f(x: gradstep.Tensor) -> gradstep.Tensor:
        return x

    with pytest.raises(TypeError, match="mutates_args"):
        torch.library.custom_op(f"{_ns('t')}::foo", lambda x: x)
    with pytest.raises(TypeError, match="mutates_args"):
        gradstep.library.custom_op(f"{_ns('g')}::foo", f)


def test_infer_schema_text_matches_torch():
    def make(lib):
        T = lib.Tensor

        def f(x: T, n: int = 3, s: float = 1.5, b: bool = True, o: T | None = None,
              st: str = "a", ls: list[int] | None = None, *, k: int = 2) -> tuple[T, T]:
            return x, x

        def m(x: T, y: T) -> None:
            pass
        return f, m

    theirs = [torch.library.infer_schema(make(torch)[0], mutates_args=()),
              torch.library.infer_schema(make(torch)[1], mutates_args={"x"}, op_name="m"),
              torch.library.infer_schema(make(torch)[1], mutates_args="unknown")]
    ours = [gradstep.library.infer_schema(make(gradstep)[0], mutates_args=()),
            gradstep.library.infer_schema(make(gradstep)[1], mutates_args={"x"}, op_name="m"),
            gradstep.library.infer_schema(make(gradstep)[1], mutates_args="unknown")]
    assert ours == theirs


def test_explicit_schema_must_agree_with_mutates_args():
    def program(lib, ns):
        T = lib.Tensor

        def f(x: T) -> None:
            pass
        with pytest.raises(ValueError, match="Please make these consistent") as e:
            lib.library.custom_op(f"{ns}::f", f, mutates_args=(), schema="(Tensor(a!) x) -> ()")
        return type(e.value)

    assert both(program) == (ValueError, ValueError)


# ------------------------------------------------------------------ Library / define / impl
def test_library_define_impl_and_autograd_fallthrough():
    def program(lib, ns):
        library = lib.library.Library(ns, "DEF")
        name = library.define("scale(Tensor x, float a=2.0) -> Tensor")
        library.impl("scale", lambda x, a=2.0: x * a, "CPU")
        x = lib.tensor(X, requires_grad=True)
        y = getattr(lib.ops, ns).scale(x, a=3.0)
        y.sum().backward()  # no autograd kernel: grads flow through the kernel's own ops
        out = name, _np(y), _np(x.grad), _np(getattr(lib.ops, ns).scale.default(x.detach()))
        library._destroy()
        return out

    (tn, ty, tg, td), (gn, gy, gg, gd) = both(program)
    assert gn == tn == "scale"
    for theirs, ours in ((ty, gy), (tg, gg), (td, gd)):
        np.testing.assert_allclose(ours, theirs)


def test_library_errors_match_torch():
    def program(lib, ns):
        library = lib.library.Library(ns, "DEF")
        library.define("foo(Tensor x) -> Tensor")
        errors = []
        for action in (lambda: lib.library.Library(ns, "DEF"),
                       lambda: lib.library.Library(ns, "BLA"),
                       lambda: library.define("foo(Tensor x) -> Tensor"),
                       lambda: library.define("bad(Tensor x -> Tensor"),
                       lambda: library.impl("foo", lambda x: x, "Bogus"),
                       lambda: getattr(lib.ops, ns).foo(lib.tensor(X)),
                       lambda: getattr(lib.ops, ns).nope,
                       lambda: getattr(lib.ops, ns).foo.nope):
            with pytest.raises(Exception) as e:
                action()
            errors.append(type(e.value))
        library._destroy()
        return errors

    theirs, ours = both(program)
    assert ours == theirs


def test_argument_checks_match_torch():
    def program(lib, ns):
        lib.library.define(f"{ns}::foo", "(Tensor x) -> Tensor")
        lib.library.impl(f"{ns}::foo", "cpu", lambda x: x * 2)
        op = getattr(lib.ops, ns).foo
        msgs = []
        for args, kwargs in (((lib.ones(2), 3), {}), ((), {}), ((3,), {})):
            with pytest.raises(RuntimeError) as e:
                op(*args, **kwargs)
            msgs.append(str(e.value).replace(ns, "NS").split("\nCast error")[0])
        return msgs

    theirs, ours = both(program)
    assert ours == theirs


def test_define_and_impl_decorator_with_composite_and_register_autograd():
    def program(lib, ns):
        lib.library.define(f"{ns}::cube", "(Tensor x) -> Tensor")

        @lib.library.impl(f"{ns}::cube", "cpu")
        def cube(x):
            return x * x * x

        lib.library.register_autograd(
            f"{ns}::cube", lambda ctx, g: g * 3 * ctx.x ** 2,
            setup_context=lambda ctx, inputs, output: setattr(ctx, "x", inputs[0]))
        x = lib.tensor(X, requires_grad=True)
        y = getattr(lib.ops, ns).cube(x)
        y.sum().backward()
        lib.library.define(f"{ns}::sq", "(Tensor x) -> Tensor")
        lib.library.impl(f"{ns}::sq", "CompositeImplicitAutograd", lambda x: x * x)
        z = lib.tensor(X, requires_grad=True)
        getattr(lib.ops, ns).sq(z).sum().backward()
        return _np(y), _np(x.grad), _np(z.grad)

    for theirs, ours in zip(*both(program)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_register_kernel_and_register_fake_by_name():
    def program(lib, ns):
        lib.library.define(f"{ns}::inc", "(Tensor x) -> Tensor")
        lib.library.register_kernel(f"{ns}::inc", "cpu", lambda x: x + 1)
        fake = lib.library.register_fake(f"{ns}::inc")(lambda x: lib.empty_like(x))
        return _np(getattr(lib.ops, ns).inc(lib.tensor(X))), callable(fake)

    (tv, tf), (gv, gf) = both(program)
    np.testing.assert_allclose(gv, tv)
    assert gf and tf


def test_impl_rejects_an_unknown_device_type():
    def program(lib, ns):
        lib.library.define(f"{ns}::foo", "(Tensor x) -> Tensor")
        with pytest.raises(RuntimeError, match="device type at start of device string") as e:
            lib.library.impl(f"{ns}::foo", "weird")
        return type(e.value)

    assert both(program) == (RuntimeError, RuntimeError)


def test_torch_ops_is_reachable_after_install_as_torch_names():
    assert gradstep.ops.elementwise.__name__ == "gradstep.ops.elementwise"  # submodules win
    with pytest.raises(NotImplementedError, match="compiled torch extension"):
        gradstep.ops.load_library("libfoo.so")
    with pytest.raises(AttributeError):
        _ = gradstep.ops._private
