"""clamp with scalar bounds passes no gradient outside the bounds, even an inf/nan one
(torch masks with where; a multiply by the 0/1 mask would give nan)."""

from __future__ import annotations

import pytest

from tests.helpers import check


@pytest.mark.parametrize("kw", [dict(min=2.0), dict(max=-0.5), dict(min=-1.0, max=1.0)])
def test_clamp_blocks_nonfinite_gradient(kw):
    def fn(lib, x):
        y = x.clamp(**kw)
        bound = kw.get("min", kw.get("max"))
        return 1.0 / (y - bound)  # inf where clamped to that bound

    check(fn, [(3, 4)], low=-3.0, high=3.0)
