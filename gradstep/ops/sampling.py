"""Random sampling ops: ``torch.poisson``, ``torch.binomial``, ``torch.bernoulli`` (and the
``Tensor.bernoulli`` method), ``Tensor.multinomial`` and the in-place samplers
``log_normal_``, ``cauchy_`` and ``geometric_``.

Draws come from torch's mt19937 stream with torch's CPU samplers (``gradstep._mt19937``,
``gradstep._mt_discrete``), so a seeded program draws torch's numbers. In the graph they behave as
in torch: a draw depends on its parameters only through randomness, so ``poisson``,
``bernoulli(input)`` and the in-place samplers pass a zero gradient (``PoissonBackward0``,
``BernoulliBackward0``, ``LogNormalBackward0``, ...), while ``binomial`` and
``bernoulli(input, p)`` have no derivative (backward raises, as torch's ``NotImplemented``).
"""

from __future__ import annotations

from .. import _mt19937 as _mt
from .. import _mt_discrete as _mtd
from .._tensor import Tensor
from ..autograd.function import Node
from ..backend import xp
from ..random import _gen
from ._util import check_float_input, dtype_title

_NOT_IMPLEMENTED = "torch::autograd::NotImplemented"  # torch's name() for a node without backward
# rates above this go to the normal approximation: NumPy's Poisson sampler stops near 9.2e18
_POISSON_NORMAL_FROM = 1e15


class _Drawn(Node):
    """A random draw in the graph: the value is fixed (``value``); the gradient is zero for
    every input, or (``no_derivative``) backward raises torch's not-implemented error."""

    no_derivative = None  # the aten op's name when torch has no derivative for it

    def forward(self, *arrays):
        return self.value

    def backward(self, g):
        if self.no_derivative is not None:
            raise RuntimeError(f"derivative for aten::{self.no_derivative} is not implemented")
        zeros = tuple(g.new_zeros(shape) for shape, _ in self._metas)
        return zeros if len(zeros) > 1 else zeros[0]


def _result(value, inputs, name, no_derivative=None):
    """``value`` as a tensor, recorded in the graph when an input requires grad."""
    return _Drawn.apply(*inputs, value=value, _name=name, no_derivative=no_derivative)


# ---------------------------------------------------------------- poisson / binomial
def _poisson_draws(rates, generator):
    """Poisson counts for the float64 ``rates`` (checked non-negative, not NaN): torch's
    sampler on torch's stream, element by element in order (``_mt_discrete``)."""
    from .._torch_random import generator_of

    gen = generator_of(generator)
    huge = ~(rates <= _POISSON_NORMAL_FROM)
    if not huge.any():
        return _mtd.poisson(gen, rates).reshape(rates.shape)
    out = xp.empty(rates.shape)
    out[~huge] = _mtd.poisson(gen, rates[~huge])
    big = rates[huge]
    with xp.errstate(invalid="ignore"):
        approx = xp.rint(big + xp.sqrt(big) * _gen(generator).standard_normal(big.shape))
    out[huge] = xp.where(xp.isinf(big), big, xp.maximum(approx, 0))
    return out


def poisson(input, generator=None):  # noqa: A002 - torch's keyword name
    """Counts drawn from Poisson distributions with the rates in ``input`` (same dtype).

    Rates above 1e15 are drawn from the normal approximation (exact to a part in 1e7) and an
    infinite rate gives infinity; torch's sampler gives an overflowed integer for both.
    """
    _check_tensor("poisson", input)
    check_float_input(input, "poisson_cpu")
    rates = input._data.astype(xp.float64)
    if not (rates >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    draws = _poisson_draws(rates, generator)
    return _result(draws.astype(input._data.dtype), (input,), "PoissonBackward0")


def _binomial_draws(count, prob, generator, single):
    """torch's ``sample_binomial`` element by element on torch's stream (``_mt_discrete``):
    no trials or prob <= 0 give 0, prob >= 1 gives ``count``, NaN gives NaN. ``single``:
    the float32 kernel's arithmetic."""
    from .._torch_random import generator_of

    out = _mtd.binomial(generator_of(generator), count, prob, single)
    return out.reshape(count.shape)


def binomial(count, prob, generator=None):
    """Successes in ``count`` trials of success probability ``prob`` (broadcast; ``count``'s
    dtype). torch has no derivative for it: backward through the result raises."""
    _check_tensor("binomial", count)
    _check_tensor("binomial", prob, "prob")
    for what, t in (("count", count), ("prob", prob)):
        if not t.dtype.is_floating_point:
            raise ValueError(f"binomial only supports floating-point dtypes for {what}, got: "
                             f"{dtype_title(t.dtype)}")
    if prob.dtype != count.dtype:
        raise RuntimeError(f"Found dtype {dtype_title(prob.dtype)} but expected "
                           f"{dtype_title(count.dtype)}")
    if count.dtype.name not in ("float32", "float64"):  # torch's kernel has no 16-bit types
        raise NotImplementedError(f"\"binomial_cpu\" not implemented for '{dtype_title(count.dtype)}'")
    c, p = xp.broadcast_arrays(count._data.astype(xp.float64), prob._data.astype(xp.float64))
    draws = _binomial_draws(c, p, generator, count.dtype.name == "float32")
    return _result(draws.astype(count._data.dtype), (count, prob), _NOT_IMPLEMENTED, "binomial")


# ---------------------------------------------------------------- bernoulli / multinomial
def _check_probability(p, what="bernoulli_"):
    if not 0 <= p <= 1:
        raise RuntimeError(f"{what} expects p to be in [0, 1], but got p={p}")


def bernoulli(input, p=None, *, generator=None):  # noqa: A002
    """0/1 draws of ``input``'s dtype: with probabilities ``input`` (a float tensor), or with
    the one probability ``p`` (any dtype; the values of ``input`` are then not read)."""
    _check_tensor("bernoulli", input)
    if isinstance(p, Tensor):
        raise TypeError("bernoulli(): argument 'p' must be float, not Tensor")
    from .._torch_random import bernoulli_like

    if p is None:
        check_float_input(input, "bernoulli_tensor_cpu_p_")
        probs = input._data
        if not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false. "
                               "(bernoulli: every probability in input must be in [0, 1])")
        value = bernoulli_like(xp.empty(probs.shape, probs.dtype), probs, generator)
        return _result(value, (input,), "BernoulliBackward0")
    _check_probability(p)
    value = bernoulli_like(xp.empty_like(input._data), float(p), generator)
    if not input.dtype.is_floating_point:
        return Tensor._make(value)
    return _result(value, (input,), _NOT_IMPLEMENTED, "bernoulli")


def bernoulli_method(self, p=None, *, generator=None):
    """``Tensor.bernoulli(*, generator=None)`` / ``Tensor.bernoulli(p, *, generator=None)``."""
    return bernoulli(self, p, generator=generator)


def multinomial_method(self, num_samples, replacement=False, *, generator=None):
    """``Tensor.multinomial``: ``torch.multinomial(self, ...)``."""
    from .._creation import multinomial

    return multinomial(self, num_samples, replacement, generator=generator)


# ---------------------------------------------------------------- in-place samplers
def _fill_drawn(self, value, name):
    """Write the draws ``value`` into ``self`` as torch's in-place samplers do: the leaf
    check, a version bump and, when ``self`` is in a graph, a zero-gradient ``name`` node."""
    if self._needs_graph():
        return self._inplace_graph(lambda old: _result(value, (old,), name))
    self._write(value)
    return self


def log_normal_(self, mean=1, std=2, *, generator=None):
    """Fill with ``exp(N(mean, std^2))`` draws."""
    check_float_input(self, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    draws = _torch_draws(self, generator, _mt.log_normal, mean, std)
    return _fill_drawn(self, draws, "LogNormalBackward0")


def cauchy_(self, median=0, sigma=1, *, generator=None):
    """Fill with draws from the Cauchy distribution ``median + sigma * tan(pi (U - 1/2))``."""
    if not self.dtype.is_floating_point:
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. dtype "
                           f"must be a floating point but you specified {self.dtype.name}")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    draws = _torch_draws(self, generator, _mt.cauchy, median, sigma)
    return _fill_drawn(self, draws, "CauchyBackward0")


def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...).

    Integer dtypes take counts beyond their range as their largest value (torch's cast
    overflows there).
    """
    if self.dtype.name == "bool":
        raise NotImplementedError("\"geometric_cpu\" not implemented for 'Bool'")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    draws = _torch_draws(self, generator, _mt.geometric, p, dtype=xp.float64)
    if not self.dtype.is_floating_point:
        draws = xp.minimum(draws, float(xp.iinfo(self._data.dtype).max))
    return _fill_drawn(self, draws.astype(self._data.dtype), "GeometricBackward0")


def _torch_draws(self, generator, draw, *args, dtype=None):
    """``draw(generator, n, *args)`` (torch's float64 values) laid out in ``self``'s memory
    order, cast to ``dtype`` (default: ``self``'s)."""
    from .. import _mt19937
    from .._torch_random import generator_of

    values = draw(generator_of(generator), self._data.size, *args)
    out = xp.empty_like(self._data, dtype=dtype or self._data.dtype)  # self's layout
    _mt19937.fill_in_memory_order(out, values.astype(out.dtype))
    return out


def _check_tensor(name, t, what="input"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(t).__name__}")


FUNCTIONS = {"poisson": poisson, "binomial": binomial, "bernoulli": bernoulli}
METHODS = {"bernoulli": bernoulli_method, "multinomial": multinomial_method,
           "log_normal_": log_normal_, "cauchy_": cauchy_, "geometric_": geometric_}


def bind():
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
