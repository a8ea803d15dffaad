"""detect_anomaly / set_detect_anomaly: forward tracebacks and NaN checks in backward, as torch's."""

import warnings

import pytest
import torch as T

import gradstep as torch


def _nan_backward(L):
    x = L.tensor([-1.0, 2.0], requires_grad=True)
    y = x.sqrt()  # sqrt(-1): NaN in forward and backward
    return y.sum()


def test_nan_in_backward_raises_naming_the_node_like_torch():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = T.autograd.detect_anomaly()
    with ctx, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError) as theirs:
            _nan_backward(T).backward()
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        ctx = torch.autograd.detect_anomaly()
    with ctx, pytest.warns(UserWarning, match="Error detected in SqrtBackward0"):
        with pytest.raises(RuntimeError) as ours:
            _nan_backward(torch).backward()
    first = str(ours.value).splitlines()[0]
    assert first == str(theirs.value).splitlines()[0] == \
        "Function 'SqrtBackward0' returned nan values in its 0th output."
    # the forward traceback points at the user's line that made the node
    assert "Traceback of forward call" in str(ours.value)
    assert "y = x.sqrt()" in str(ours.value)


def test_off_by_default_and_restored():
    assert not torch.is_anomaly_enabled()
    _nan_backward(torch).backward()  # no check: NaN gradients flow silently, as in torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly(check_nan=False):
            assert torch.is_anomaly_enabled() and not torch.is_anomaly_check_nan_enabled()
            _nan_backward(torch).backward()  # check_nan=False: no error
        assert not torch.is_anomaly_enabled() and torch.is_anomaly_check_nan_enabled()


def test_set_detect_anomaly_takes_effect_at_once_and_as_context():
    torch.autograd.set_detect_anomaly(True)
    try:
        assert torch.is_anomaly_enabled()
    finally:
        torch.autograd.set_detect_anomaly(False)
    assert not torch.is_anomaly_enabled()
    with torch.autograd.set_detect_anomaly(True):
        assert torch.is_anomaly_enabled()
        with torch.autograd.set_detect_anomaly(False):
            assert not torch.is_anomaly_enabled()
        assert torch.is_anomaly_enabled()
    assert not torch.is_anomaly_enabled()


def test_infinite_gradient_is_not_an_anomaly_as_in_torch():
    grads = []
    for L in (T, torch):
        x = L.tensor([0.0, 4.0], requires_grad=True)
        with L.autograd.set_detect_anomaly(True), warnings.catch_warnings():
            warnings.simplefilter("error")  # and no warning either
            x.sqrt().sum().backward()  # finite forward, 1/(2*sqrt(0)) = inf in backward
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [float("inf"), 0.25]


def test_clean_backward_same_grads_and_forward_made_outside_has_no_trace():
    x = torch.tensor([1.0, 4.0], requires_grad=True)
    y = (x.sqrt() * x).sum()
    with torch.autograd.set_detect_anomaly(True):
        z = (x.log() * 2).sum()
        z.backward()
    assert torch.allclose(x.grad, torch.tensor([2.0, 0.5]))
    x.grad = None
    with torch.autograd.set_detect_anomaly(True):
        y.backward()  # made before the mode was on
    assert torch.allclose(x.grad, torch.tensor([1.5, 3.0]))
    bad = torch.tensor([-1.0], requires_grad=True)
    out = bad.sqrt().sum()  # NaN gradient, graph made with the mode off
    with torch.autograd.set_detect_anomaly(True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="No forward pass information available"):
            out.backward()


def test_error_inside_a_backward_warns_with_the_forward_trace():
    class Boom(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    x = torch.ones(2, requires_grad=True)
    with torch.autograd.set_detect_anomaly(True):
        y = Boom.apply(x).sum()
        with pytest.warns(UserWarning, match="Error detected in BoomBackward(.|\n)*Boom.apply"):
            with pytest.raises(ValueError, match="boom"):
                y.backward()
