"""gradstep.doctor.explain: the explained terms re-derive the actual update (SGD and the Adam family
in every flag combination), the printed numbers are the real ones, other optimizers show their state."""

import io
import re

import numpy as np
import pytest

import gradstep as torch
from gradstep import nn
from gradstep.doctor import explain


def _setup(make, dtype=torch.float64):
    torch.manual_seed(0)
    model = nn.Linear(5, 3).to(dtype)
    opt = make(model.parameters())
    x = torch.randn(7, 5, dtype=dtype)
    return model, opt, x


def _one_step(model, opt, x):
    opt.zero_grad()
    (model(x) ** 2).mean().backward()
    opt.step()


CASES = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd-momentum-wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "sgd-dampening-maximize": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3,
                                                        maximize=True),
    "sgd-nesterov-loop": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, foreach=False),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adam-l2-amsgrad": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1, amsgrad=True),
    "adam-maximize-loop": lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), maximize=True,
                                                     foreach=False),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_terms_rederive_the_actual_update(name):
    model, opt, x = _setup(CASES[name])
    _one_step(model, opt, x)  # state exists before the explained steps (momentum, moments)
    out = io.StringIO()
    ex = explain(opt, steps=2, file=out)
    w = model.weight
    befores = []
    for _ in range(3):
        befores.append(w.detach().numpy().copy())
        _one_step(model, opt, x)
    assert len(ex.sections) == 2 and not ex.active  # stopped after 2 steps
    before, last = befores[1], befores[2]
    for s in ex.sections:
        assert s.predicted_after is not None
        np.testing.assert_allclose(s.predicted_after, s.param_after, rtol=0, atol=1e-12)
        assert s.max_error < 1e-12
    # the explained param is the first of group 0 and its "after" is the real value
    np.testing.assert_array_equal(ex.sections[1].param_before, before)
    text = out.getvalue()
    assert text == str(ex) + "\n"
    assert "zero_grad: .grad set to None" in text and "backward: gradient accumulated" in text
    # the printed 'param after' values are the real ones to 1e-6
    printed = re.findall(r"param after: +first values \[([^\]]*)\]", text)[-1]
    values = [float(v) for v in printed.split(",")[:4]]
    np.testing.assert_allclose(values, last.reshape(-1)[:4], atol=1e-6)


def test_the_update_is_the_last_term_and_adds_up():
    model, opt, x = _setup(CASES["sgd-momentum-wd"])
    _one_step(model, opt, x)
    ex = explain(opt, model.bias, show=False)
    b0 = model.bias.detach().numpy().copy()
    buf0 = opt.state[model.bias]["momentum_buffer"].numpy().copy()
    _one_step(model, opt, x)
    terms = {t.name.split(":")[0].split(" =")[0]: t.value for t in ex.sections[0].terms}
    grad = model.bias.grad.numpy()
    np.testing.assert_allclose(terms["weight decay"], 0.01 * b0, atol=1e-15)
    np.testing.assert_allclose(terms["momentum buffer b"], 0.9 * buf0 + grad + 0.01 * b0, atol=1e-12)
    np.testing.assert_allclose(b0 + terms["update"], model.bias.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(terms["momentum buffer b"], opt.state[model.bias]["momentum_buffer"].numpy(),
                               atol=1e-12)


def test_first_adam_step_and_float32():
    model, opt, x = _setup(lambda p: torch.optim.Adam(p, lr=0.01), dtype=torch.float32)
    ex = explain(opt, show=False)
    _one_step(model, opt, x)
    s = ex.sections[0]
    assert s.max_error < 1e-6  # float32 update against the float64 re-derivation
    assert "step t = 1" in s.text and "bias correction" in s.text


def test_other_optimizers_show_state_and_actual_change():
    model, opt, x = _setup(lambda p: torch.optim.RMSprop(p, lr=0.01))
    ex = explain(opt, show=False)
    _one_step(model, opt, x)
    s = ex.sections[0]
    assert s.predicted_after is None
    assert "state 'square_avg'" in s.text and "|change| =" in s.text


def test_no_gradient_and_errors():
    model, opt, x = _setup(CASES["sgd"])
    ex = explain(opt, show=False)
    opt.zero_grad()
    opt.step()  # no backward: the parameter is skipped
    np.testing.assert_array_equal(ex.sections[0].param_after, ex.sections[0].param_before)
    assert "no gradient" in ex.sections[0].text
    with pytest.raises(ValueError, match="not in any parameter group"):
        explain(opt, torch.zeros(2))
    with pytest.raises(ValueError, match="steps must be at least 1"):
        explain(opt, steps=0)
    with explain(opt, show=False) as ex:
        pass
    assert not ex.active and "zero_grad" not in opt.__dict__


def test_explain_inside_a_watch():
    model, opt, x = _setup(CASES["sgd-momentum-wd"])
    with torch.doctor.watch(model, opt) as dr:
        ex = explain(opt, show=False)
        for _ in range(3):
            _one_step(model, opt, x)
        assert not ex.active and "zero_grad" in opt.__dict__  # the doctor's wrapper is back
    assert "zero_grad" not in opt.__dict__
    assert ex.sections[0].max_error < 1e-12 and dr.steps == 3
