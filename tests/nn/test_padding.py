"""F.pad in every mode against torch (values and gradients)."""

import pytest

import gradstep
from gradstep import nn
from tests.helpers import check
from tests.nn.bad_input import assert_same_outcome, rand


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
    with pytest.raises(NotImplementedError, match=r"Padding size 2 is not supported for 4D"):
        nn.functional.pad(x, (1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        nn.functional.pad(x, (1, 1), mode="mirror")
    with pytest.raises(RuntimeError, match="divisible by 2"):
        nn.functional.pad(x, (1,))


@pytest.mark.parametrize("name,args,shape", [
    ("ZeroPad2d", ((1, 2, 0, 1),), (2, 3, 4, 4)), ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ConstantPad1d", ((1, 2), 3.5), (2, 3, 4)), ("ConstantPad3d", (1, -0.5), (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 4)), ("ReflectionPad2d", (1,), (1, 2, 3, 4)),
    ("ReplicationPad2d", ((1, 0, 2, 3),), (1, 2, 3, 4)), ("ReplicationPad3d", (1,), (1, 2, 3, 3, 2)),
    ("CircularPad1d", ((1, 2),), (2, 3, 4)), ("CircularPad2d", (1,), (1, 2, 3, 3)),
])
def test_padding_layers_match_torch(name, args, shape):
    import torch

    from tests.nn.layer_twin import compare_layer

    compare_layer(lambda L: getattr(L.nn, name)(*args), [shape], modes=("train",))
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_distance_layers_match_torch():
    from tests.nn.layer_twin import compare_layer

    compare_layer(lambda L: L.nn.CosineSimilarity(dim=1), [(4, 5), (4, 5)], modes=("train",))
    compare_layer(lambda L: L.nn.PairwiseDistance(p=3.0, keepdim=True), [(4, 5), (4, 5)],
                  modes=("train",))


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(-1, 2), (2, -1), (-1, -1), (-2, 1), (1, -2, -1, 1)])
def test_non_constant_modes_take_negative_pads_as_torch(mode, pads):
    import numpy as np

    from tests.ops.fuzz_ops import disagreement
    x = np.random.default_rng(0).standard_normal((1, 3, 4))
    assert disagreement(lambda L, x: L.nn.functional.pad(x, pads, mode=mode), x) is None


def test_unsupported_rank_for_non_constant_padding_is_not_implemented():
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D"):
        gradstep.nn.functional.pad(gradstep.zeros(2, 2, 2, 2), [1, 0], mode="reflect")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pads", [
    ((2, 1), (-1, 0)), ((2, 3), (-2, -1)), ((2, 3), (-2, -2)), ((2, 3), (-4, 0)),
    ((1, 2, 3), (-3, 0, -1, 0)), ((1, 2, 3), (-3, 0, -2, 0)), ((1, 2, 3), (-4, 0, 0, 0)),
    ((1, 1, 2, 3), (-3, 0, -2, 0, -1, 0)), ((1, 1, 2, 3), (-3, 0, 0, 0, 0, 0)),
])
def test_negative_pads_cropping_to_nothing_as_torch(mode, shape, pads):
    # reflect and replicate refuse an output empty in every padded dim (torch's kernels);
    # every mode refuses a negative size; one empty dim among others is fine
    import numpy as np

    from tests.ops.fuzz_ops import disagreement
    x = np.random.default_rng(0).standard_normal(shape)
    assert disagreement(lambda L, x: L.nn.functional.pad(x, pads, mode=mode), x, rg=False) is None
    xt = gradstep.tensor(x, requires_grad=True)
    try:
        out = gradstep.nn.functional.pad(xt, pads, mode=mode)
    except RuntimeError:
        return  # refused, as torch refuses it (compared above)
    if out.numel():
        assert disagreement(lambda L, x: L.nn.functional.pad(x, pads, mode=mode), x) is None
    else:  # torch's gradient here is uninitialized memory (an empty grad_output): not compared
        out.sum().backward()
        assert not xt.grad.numpy().any()


@pytest.mark.parametrize("shape,pads", [((1, 3), (3, -1)), ((1, 3), (-1, 3)), ((1, 2), (-1, 2))])
def test_circular_pad_wrapping_past_what_a_negative_pad_leaves_raises_as_torch(shape, pads):
    # torch's copy overlaps the output it writes and raises; with nothing left (a (-1, 1) pad
    # of one element) it returns uninitialized memory instead, where gradstep raises too
    import numpy as np

    from tests.ops.fuzz_ops import disagreement
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    assert disagreement(lambda L, x: L.nn.functional.pad(x, pads, mode="circular"), x) is None
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        gradstep.nn.functional.pad(gradstep.zeros(1, 1), [-1, 1], mode="circular")


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pads", [
    ((), (1, 1)), ((3,), (1, 1, 1, 1)), ((2, 3), (1, 1, 1, 1, 1, 1)), ((3,), (1, 1)),
    ((2, 3), (1, 1, 1, 1)), ((1, 1, 2, 3, 4), (1, 1)), ((2, 3, 4), (1, 1, 1, 1, 1, 1, 1, 1)),
])
def test_pad_length_and_rank_errors_as_torch(mode, shape, pads):
    """Too long a pad for the input's dims is torch's RuntimeError in every mode; a rank that
    no non-constant kernel takes is its NotImplementedError listing the combinations."""
    assert_same_outcome(lambda L: L.nn.functional.pad(rand(L, shape), pads, mode=mode))


@pytest.mark.parametrize("build", [
    lambda L: L.nn.functional.pad(rand(L, (2, 3, 4)), (1, 1), mode="reflect", value=1.0),
    lambda L: L.nn.functional.pad(rand(L, ()), (1, 1, 1, 1), mode="reflect", value=1.0),
    lambda L: L.nn.ReflectionPad2d(1)(rand(L, (2, 3, 4, 4), "bool")),
    lambda L: L.nn.ReflectionPad1d(1)(rand(L, (2, 3, 4), "bool")),
    lambda L: L.nn.ReplicationPad2d(1)(rand(L, (2, 3, 4, 4), "bool")),
    lambda L: L.nn.CircularPad2d(1)(rand(L, (2, 3, 4, 4), "bool")),
    lambda L: L.nn.CircularPad2d(1)(rand(L, (3, 3))),
    lambda L: L.nn.CircularPad1d(1)(rand(L, (1, 2, 3, 3))),
    lambda L: L.nn.ZeroPad2d(1)(rand(L, (3,))),
], ids=["value_reflect", "value_0d", "reflect_bool", "reflect1d_bool", "replicate_bool",
        "circular_bool", "circular_module_rank", "circular1d_module_rank", "zero_pad_too_long"])
def test_pad_value_dtype_and_module_checks_as_torch(build):
    assert_same_outcome(build)
