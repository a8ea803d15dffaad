"""Published optimizers, round 6: the authors' own code runs on gradstep and matches torch.

Each source (``published_optimizers6.py`` to ``6e.py``) is exec'd twice, with ``torch`` bound to
real torch and to gradstep, and both copies train the two-layer tanh network of round 5 from
the same initial weights, in two parameter groups (unless the optimizer's README groups them
otherwise), driven as each README drives it: Schedule-Free's ``.train()``/``.eval()``, Sophia's
``update_hessian`` every third step on half the batch, a ``closure`` under ``torch.enable_grad``,
Barlow Twins' per-step lr assignment for LARS, an inner SGD under Lookahead. Every parameter is
compared after every step, then the optimizer state dicts structurally (types too), then
``torch.save``/``torch.load`` of them, and a fresh optimizer loaded from the state dict
continues like torch's.

Tolerances are round 5's (``test_published_optimizers5.py`` says why): float64 rtol=1e-9 /
atol=1e-11 (three orders above the matmul/mean reordering error after 20 steps); float32
rtol=atol=2e-4 (eps32 through ~10-20 elementwise ops per step, and the ``sqrt(v) + eps``
quotients). GaLore's projection is an SVD (backward stable, ``eps * ||G||`` absolute): with a
rank-1 projection of a gradient whose two singular values differ by a factor > 3 the singular
vector is well conditioned, so the same bounds hold; its sign is LAPACK's choice, so the
projected Adam moments are compared up to sign while the parameters (sign-invariant, since the
update is ``(m / sqrt(v)) @ B`` with ``m`` and ``B`` flipping together) are compared as usual.
SOAP's eigenvectors (``eigh``, then ``qr``) carry the same sign freedom, so its state is
compared in absolute value; it runs float32 only (its float32 Kronecker factors refuse a
float64 gradient on both sides, which the float64 case checks). GaLore takes its SVD in
float32 whatever the parameter dtype (``module_params.data.float()``), so it gets the float32
tolerance in both runs (as RangerVA did in round 5).
NovoGrad keeps its layer norm in ``torch.zeros([])``, float32 for any parameter, and divides
the float64 gradient by its float32 ``sqrt``: torch's float32 ``sqrt`` (MKL's vector math) is not
correctly rounded (1 ulp off on ~15% of inputs, measured), gradstep's is, so one ulp of float32
(6e-8) reaches the float64 parameters; float32 tolerance in both runs.
"""

from __future__ import annotations

import copy
import importlib
import io
import math
import warnings
from collections import defaultdict
from contextlib import contextmanager
from itertools import chain

import numpy as np
import pytest
import torch

import gradstep

from .published_optimizers6d import OPTIMIZERS
from .test_optimizer_subclass import _assert_same_structure, _normalize
from .test_published_optimizers5 import _data, _loss

TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-4)}
STEPS = 20
FROM_OPTIMIZER_MODULE = ("_default_to_fused_or_foreach", "_get_scalar_dtype", "_get_value",
                         "_stack_if_compiling", "_use_grad_for_differentiable", "_view_as_real")
FLOAT32_ONLY = {"galore_adamw", "novograd"}  # SOAP: float32 only (float64_raises), eigh in it


def _load(lib, source, name):
    required = importlib.import_module(lib.__name__ + ".optim.optimizer").required
    ns = {"torch": lib, "Optimizer": lib.optim.Optimizer, "required": required, "math": math,
          "copy": copy, "F": lib.nn.functional, "nn": lib.nn, "defaultdict": defaultdict,
          "contextmanager": contextmanager, "warnings": warnings, "optim": lib.optim,
          "chain": chain}
    private = importlib.import_module(lib.__name__ + ".optim.optimizer")
    ns.update({n: getattr(private, n) for n in FROM_OPTIMIZER_MODULE})  # the forks' imports
    exec(compile(source, f"<{name} on {lib.__name__}>", "exec"), ns)  # noqa: S102
    return ns


def _groups(params, kwargs, options):
    if "groups" in options:
        return options["groups"](params)
    second = {"params": params[2:], **options.get("extra", {})}
    if kwargs.get("lr") is not None and not options.get("same_lr"):
        second["lr"] = kwargs["lr"] * 0.5
    return [{"params": params[:2]}, second]


def _make(name, lib, params):
    source, cls_name, kwargs, options = OPTIMIZERS[name]
    ns = _load(lib, source, name)
    mode = options.get("mode")
    if mode == "lookahead":
        inner = lib.optim.SGD(_groups(params, {"lr": 0.05}, options), lr=0.05, momentum=0.9)
        return ns[cls_name](inner, **kwargs)
    if mode == "lars":
        kwargs = dict(kwargs, weight_decay_filter=ns["exclude_bias_and_norm"],
                      lars_adaptation_filter=ns["exclude_bias_and_norm"])
    return ns[cls_name](_groups(params, kwargs, options), **kwargs)


class Run:
    """One library's copy of the experiment."""

    def __init__(self, lib, dtype, name):
        self.lib, self.name = lib, name
        self.mode = OPTIMIZERS[name][3].get("mode")
        init, x, y = _data(dtype)
        self.params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        self.x, self.y = lib.tensor(x), lib.tensor(y)
        self.opt = _make(name, lib, self.params)
        self.it = 0
        if self.mode == "schedule_free":
            self.opt.train()

    def closure(self):
        self.opt.zero_grad()
        loss = _loss(self.lib, self.params, self.x, self.y)
        loss.backward()
        return loss

    def step(self):
        if self.mode == "closure":
            loss = self.opt.step(self.closure)
        else:
            loss = self.closure()
            if self.mode == "lars":  # Barlow Twins' adjust_learning_rate: cosine after warmup
                base = 0.2 * min(1.0, (self.it + 1) / 5) * 0.5 * (1 + math.cos(math.pi * self.it / 40))
                self.opt.param_groups[0]["lr"] = base
                self.opt.param_groups[1]["lr"] = base * 0.048
            self.opt.step()
        if self.mode == "sophia" and self.it % 3 == 2:
            self.opt.zero_grad(set_to_none=True)
            _loss(self.lib, self.params, self.x[:8], self.y[:8]).backward()
            self.opt.update_hessian()
            self.opt.zero_grad(set_to_none=True)
        self.it += 1
        return float(loss.detach())

    def values(self):
        return [np.array(p.detach().numpy()) for p in self.params]


def _compare(ours, theirs, tol, what):
    for i, (a, b) in enumerate(zip(ours.values(), theirs.values())):
        np.testing.assert_allclose(a, b, err_msg=f"{what}: parameter {i}", **tol)


def _plain(obj, lib, sign_free=False):
    """A state dict as data: exec'd objects (GaLore's projector, LARS's filters) by contents."""
    if isinstance(obj, dict):
        return {k: _plain(v, lib, sign_free or k in ("exp_avg", "ortho_matrix"))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v, lib, sign_free) for v in obj)
    if callable(obj) and not isinstance(obj, lib.Tensor):
        return ("function", obj.__name__)
    if hasattr(obj, "__dict__") and not isinstance(obj, lib.Tensor):
        return ("object", type(obj).__name__, _plain(vars(obj), lib, sign_free))
    if sign_free and isinstance(obj, lib.Tensor) and obj.dim() == 2 and obj.shape[1] == 1:
        return obj.abs()  # a rank-1 GaLore moment: LAPACK picks the singular vector's sign
    if sign_free and isinstance(obj, lib.Tensor) and obj.dim() == 2 and obj.shape[0] == 1:
        return obj.abs()
    return _normalize(obj, lib)


def _state_matches(sd_ours, sd_theirs, tol, name):
    galore = name.startswith("galore")
    plain_ours = _plain(sd_ours, gradstep, False) if galore else _normalize(sd_ours, gradstep)
    plain_theirs = _plain(sd_theirs, torch, False) if galore else _normalize(sd_theirs, torch)
    if name == "lars":
        plain_ours, plain_theirs = _plain(sd_ours, gradstep), _plain(sd_theirs, torch)
    plain_ours, plain_theirs = _normalize_all(plain_ours), _normalize_all(plain_theirs)
    if name.startswith("soap"):  # eigenvectors, and the moments in their basis, up to sign
        plain_ours, plain_theirs = _abs_arrays(plain_ours), _abs_arrays(plain_theirs)
    _assert_same_structure(plain_ours, plain_theirs, tol)


def _abs_arrays(obj):
    if isinstance(obj, tuple) and obj and obj[0] == "tensor":
        return obj[:3] + (np.abs(obj[3]),)
    if isinstance(obj, dict):
        return {k: _abs_arrays(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_abs_arrays(v) for v in obj)
    return obj


def _normalize_all(obj):
    """Tensors left by ``_plain`` (abs'd moments) become (dtype, shape, array) too."""
    for lib in (gradstep, torch):
        if isinstance(obj, lib.Tensor):
            return _normalize(obj, lib)
    if isinstance(obj, dict):
        return {k: _normalize_all(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_normalize_all(v) for v in obj)
    return obj


def _saved(lib, sd):
    buf = io.BytesIO()
    lib.save(sd, buf)
    buf.seek(0)
    return lib.load(buf, weights_only=False)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_published_optimizer_matches_torch(name, dtype):
    tol = TOL["float32" if name in FLOAT32_ONLY else dtype]
    ours, theirs = Run(gradstep, dtype, name), Run(torch, dtype, name)
    if dtype == "float64" and OPTIMIZERS[name][3].get("float64_raises"):
        messages = []
        for run in (ours, theirs):
            with pytest.raises(RuntimeError) as info:
                for _ in range(3):
                    run.step()
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        return
    for step in range(STEPS):
        loss_ours, loss_theirs = ours.step(), theirs.step()
        assert math.isclose(loss_ours, loss_theirs, rel_tol=tol["rtol"] * 10,
                            abs_tol=tol["atol"]), f"{name}: loss at step {step}"
        _compare(ours, theirs, tol, f"{name} step {step}")
    if ours.mode == "schedule_free":  # README: evaluate (and checkpoint) at x, not y
        ours.opt.eval(), theirs.opt.eval()
        _compare(ours, theirs, tol, f"{name} after eval()")
    start = _data(dtype)[0]
    for i in range(4):  # every trained parameter moved: two frozen copies would pass vacuously
        assert not np.allclose(ours.values()[i], start[i]), f"parameter {i} did not move"
    if ours.mode != "lookahead":  # Lookahead interpolates every parameter, with grad or not
        assert np.array_equal(ours.values()[4], start[4]), "the parameter without grad moved"

    sd_ours, sd_theirs = ours.opt.state_dict(), theirs.opt.state_dict()
    _state_matches(sd_ours, sd_theirs, tol, name)
    if name not in ("galore_adamw", "lars"):  # exec'd classes/functions do not pickle
        _state_matches(_saved(gradstep, sd_ours), _saved(torch, sd_theirs), tol, name)
    for run, sd in ((ours, sd_ours), (theirs, sd_theirs)):
        run.opt = _make(name, run.lib, run.params)
        run.opt.load_state_dict(copy.deepcopy(sd) if name != "galore_adamw" else sd)
        if run.mode == "schedule_free":
            run.opt.train()
    for step in range(4):
        ours.step(), theirs.step()
        _compare(ours, theirs, tol, f"{name} after load_state_dict, step {step}")


COMPLEX = ["sophia_g", "adamw_torch_fork", "adamw_torch_fork_foreach", "nadamw_timm"]


def _complex_run(lib, name, dtype):
    """A complex linear layer (and a real bias) fitted to complex targets: the optimizers
    step ``torch.view_as_real`` views of the complex parameter and its state."""
    rng = np.random.default_rng(1)
    cdtype = {"float32": np.complex64, "float64": np.complex128}[dtype]
    w = (rng.normal(size=(3, 2)) + 1j * rng.normal(size=(3, 2))).astype(cdtype)
    x = (rng.normal(size=(16, 3)) + 1j * rng.normal(size=(16, 3))).astype(cdtype)
    y = (rng.normal(size=(16, 2)) + 1j * rng.normal(size=(16, 2))).astype(cdtype)
    params = [lib.tensor(w, requires_grad=True),
              lib.tensor(rng.normal(size=2).astype(dtype), requires_grad=True),
              lib.zeros(1, dtype=getattr(lib, dtype), requires_grad=True)]
    opt = _make(name, lib, params)
    x, y = lib.tensor(x), lib.tensor(y)
    for _ in range(10):
        opt.zero_grad()
        (lib.abs(x @ params[0] + params[1] - y) ** 2).mean().backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt.state_dict()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", COMPLEX)
def test_complex_parameters_match_torch(name, dtype):
    tol = TOL[dtype]
    (ours, sd_ours), (theirs, sd_theirs) = (_complex_run(gradstep, name, dtype),
                                            _complex_run(torch, name, dtype))
    assert ours[0].dtype == theirs[0].dtype and np.iscomplexobj(ours[0])
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, err_msg=f"{name}: parameter {i}", **tol)
    _assert_same_structure(_normalize(sd_ours, gradstep), _normalize(sd_theirs, torch), tol)


SETSTATE = ["sophia_g", "nadamw_timm", "adamw_torch_fork"]


def _old_checkpoint_copy(lib, name):
    """Three steps, the step counters made ints (a checkpoint of an older release), then
    ``copy.deepcopy``: the authors' ``__setstate__`` turns them back into tensors."""
    run = Run(lib, "float64", name)
    for _ in range(3):
        run.step()
    for state in run.opt.state.values():
        state["step"] = int(state["step"].item())
    run.opt = copy.deepcopy(run.opt)
    run.params = [p for group in run.opt.param_groups for p in group["params"]]
    steps = [(str(s["step"].dtype).split(".")[-1], float(s["step"]))
             for s in run.opt.state.values()]
    for _ in range(2):
        run.step()
    return steps, run


@pytest.mark.parametrize("name", SETSTATE)
def test_setstate_override_runs_on_deepcopy(name):
    (steps_ours, ours), (steps_theirs, theirs) = (_old_checkpoint_copy(gradstep, name),
                                                  _old_checkpoint_copy(torch, name))
    assert steps_ours == steps_theirs and steps_ours[0][1] == 3.0
    _compare(ours, theirs, TOL["float64"], f"{name} after deepcopy")
