"""Transform functors applying a sequence of transforms to consecutive pieces of one dim, as
``cat`` or ``stack`` would assemble them.  (Re-exported by ``transforms``, where torch
defines them.)"""

from __future__ import annotations

import gradstep

from . import constraints
from .transforms import Transform
from .utils import _sum_rightmost, lazy_property

__all__ = ["CatTransform", "StackTransform"]


def _check_dim(t, dim, what="tensor"):
    if not (-t.dim() <= dim < t.dim()):
        raise AssertionError(f"dim {dim} out of range for {what} with {t.dim()} dimensions")


def _check_transforms(tseq, cache_size):
    if not all(isinstance(t, Transform) for t in tseq):
        raise AssertionError("All elements of tseq must be Transform instances")
    return [t.with_cache(cache_size) for t in tseq] if cache_size else tseq


class CatTransform(Transform):
    """Applies ``tseq[k]`` to the k-th piece (of length ``lengths[k]``) of dim ``dim``."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        tseq = _check_transforms(tseq, cache_size)
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        if lengths is None:
            lengths = [1] * len(self.transforms)
        self.lengths = list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match transforms "
                                 f"({len(self.transforms)})")
        self.dim = dim

    @lazy_property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _check(self, t, name, what="tensor"):
        _check_dim(t, self.dim, what)
        if t.size(self.dim) != self.length:
            raise AssertionError(f"{name}.size({self.dim}) = {t.size(self.dim)} must equal "
                                 f"length {self.length}")

    def _pieces(self, t):
        start = 0
        for length in self.lengths:
            yield t.narrow(self.dim, start, length)
            start = start + length

    def _call(self, x):
        self._check(x, "x")
        return gradstep.cat([f(p) for f, p in zip(self.transforms, self._pieces(x))],
                            dim=self.dim)

    def _inverse(self, y):
        self._check(y, "y")
        return gradstep.cat([f.inv(p) for f, p in zip(self.transforms, self._pieces(y))],
                            dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        self._check(x, "x", "x")
        self._check(y, "y", "y")
        logdetjacs = []
        for f, xs, ys in zip(self.transforms, self._pieces(x), self._pieces(y)):
            ldj = f.log_abs_det_jacobian(xs, ys)
            if f.event_dim < self.event_dim:
                ldj = _sum_rightmost(ldj, self.event_dim - f.event_dim)
            logdetjacs.append(ldj)
        # the pieces concatenate where dim is a batch dim, and add up where it is an event dim
        dim = self.dim - x.dim() if self.dim >= 0 else self.dim
        dim = dim + self.event_dim
        if dim < 0:
            return gradstep.cat(logdetjacs, dim=dim)
        return sum(logdetjacs)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """Applies ``tseq[k]`` to the k-th slice (``select``) of dim ``dim``."""

    def __init__(self, tseq, dim=0, cache_size=0):
        tseq = _check_transforms(tseq, cache_size)
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z):
        return [z.select(self.dim, i) for i in range(z.size(self.dim))]

    def _check(self, t, name, what="tensor"):
        _check_dim(t, self.dim, what)
        if t.size(self.dim) != len(self.transforms):
            raise AssertionError(f"{name}.size({self.dim}) = {t.size(self.dim)} must equal "
                                 f"len(transforms) {len(self.transforms)}")

    def _call(self, x):
        self._check(x, "x")
        return gradstep.stack([f(s) for s, f in zip(self._slice(x), self.transforms)],
                              dim=self.dim)

    def _inverse(self, y):
        self._check(y, "y")
        return gradstep.stack([f.inv(s) for s, f in zip(self._slice(y), self.transforms)],
                              dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        self._check(x, "x", "x")
        self._check(y, "y", "y")
        return gradstep.stack([f.log_abs_det_jacobian(xs, ys) for xs, ys, f
                               in zip(self._slice(x), self._slice(y), self.transforms)],
                              dim=self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)
