"""F.pad in every mode against torch (values and gradients)."""

import pytest

import gradstep
from gradstep import nn
from tests.helpers import check


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pads", [((2, 3, 5), (2, 1)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                        ((2, 4, 3), (0, 2)), ((1, 1, 3, 4, 4), (1, 1, 2, 0, 1, 2))])
def test_pad_matches_torch(mode, shape, pads):
    check(lambda L, x: L.nn.functional.pad(x, pads, mode=mode), [shape])


def test_pad_constant_value_and_crop():
    check(lambda L, x: L.nn.functional.pad(x, (1, -1, 2, 0), value=2.5), [(3, 4)])


def test_pad_errors():
    x = gradstep.randn(1, 1, 3, 3)
    with pytest.raises(RuntimeError, match=r"Padding size should be less than the corresponding "
                                           r"input dimension, but got: padding \(3, 3\)"):
        nn.functional.pad(x, (3, 3, 1, 1), mode="reflect")
    with pytest.raises(RuntimeError, match=r"expects a 2D \(unbatched\) or 3D"):
        nn.functional.pad(x, (1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        nn.functional.pad(x, (1, 1), mode="mirror")
    with pytest.raises(RuntimeError, match="divisible by 2"):
        nn.functional.pad(x, (1,))
