"""nn.utils fusion (conv/linear + eval BatchNorm), skip_init and the memory-format converters.

The fused weights are compared with torch's fused weights (oracle tolerance: a handful of
elementwise ops), and the fused module with ``bn(conv(x))`` computed by gradstep itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.nn import utils as gu
from tests.helpers import assert_close


def _copy(gm, tm):
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})


def _bn(L, n, dtype):
    return L.nn.BatchNorm2d(n).to(getattr(L, dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn_eval(dtype, bias, transpose):
    Conv = "ConvTranspose2d" if transpose else "Conv2d"
    tc = getattr(torch.nn, Conv)(3, 4, 3, bias=bias).to(getattr(torch, dtype)).eval()
    gc = getattr(gradstep.nn, Conv)(3, 4, 3, bias=bias).to(getattr(gradstep, dtype)).eval()
    tb, gb = _bn(torch, 4, dtype), _bn(gradstep, 4, dtype)
    with torch.no_grad():
        tb.running_mean.uniform_(-1, 1)
        tb.running_var.uniform_(0.5, 2)
        tb.weight.uniform_(0.5, 2)
        tb.bias.uniform_(-1, 1)
    tb.eval()
    gb.eval()
    _copy(gc, tc)
    _copy(gb, tb)
    tf = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    gf = gu.fuse_conv_bn_eval(gc, gb, transpose=transpose)
    assert type(gf) is type(gc) and gf is not gc
    assert isinstance(gf.weight, gradstep.nn.Parameter) and gf.bias is not None
    assert_close(gf.weight, tf.weight, dtype)
    assert_close(gf.bias, tf.bias, dtype)
    x = gradstep.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(dtype))
    assert_close(gf(x), torch.tensor(gb(gc(x)).detach().numpy()), dtype, scale=10)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        gu.fuse_conv_bn_eval(gc.train(), gb)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fuse_linear_bn_eval(dtype):
    tl = torch.nn.Linear(3, 4).to(getattr(torch, dtype)).eval()
    gl = gradstep.nn.Linear(3, 4).to(getattr(gradstep, dtype)).eval()
    tb = torch.nn.BatchNorm1d(4).to(getattr(torch, dtype))
    gb = gradstep.nn.BatchNorm1d(4).to(getattr(gradstep, dtype))
    with torch.no_grad():
        tb.running_mean.uniform_(-1, 1)
        tb.running_var.uniform_(0.5, 2)
    tb.eval()
    gb.eval()
    _copy(gl, tl)
    _copy(gb, tb)
    tf = torch.nn.utils.fuse_linear_bn_eval(tl, tb)
    gf = gu.fuse_linear_bn_eval(gl, gb)
    assert_close(gf.weight, tf.weight, dtype)
    assert_close(gf.bias, tf.bias, dtype)
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        gu.fuse_linear_bn_eval(gl, gradstep.nn.BatchNorm1d(3).eval())


def test_skip_init_and_memory_format_converters():
    m = gu.skip_init(gradstep.nn.Linear, 6, 2, bias=False)
    assert tuple(m.weight.shape) == (2, 6) and m.bias is None
    with pytest.raises(RuntimeError, match="Expected a Module"):
        gu.skip_init(int)
    conv = gradstep.nn.Conv2d(2, 3, 1)
    assert gu.convert_conv2d_weight_memory_format(conv, gradstep.channels_last) is conv
    assert gu.convert_conv3d_weight_memory_format(conv, gradstep.channels_last_3d) is conv
