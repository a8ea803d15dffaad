"""Optimizer constructors validate their arguments as torch's do: a differential table.

Each case builds the same parameters in both libraries and calls the constructor; gradstep must
raise exactly when torch raises, with the same exception type, and accept what torch accepts.
The hyperparameter cases are generated per class from the keyword names torch's constructor
has (a case is skipped for a class that has no such keyword); the ``params`` cases (empty, a
generator, a set, groups, named parameters, duplicates) run for every class.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import gradstep

CLASSES = ["Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "ASGD", "LBFGS", "Muon",
           "NAdam", "RAdam", "RMSprop", "Rprop", "SGD"]


def matrix(lib):
    """Muon takes 2-D parameters only; a matrix suits every optimizer."""
    return lib.zeros(3, 2, requires_grad=True)


def one_matrix(lib):
    return [matrix(lib)]


def scalar(lib, v):
    return lib.tensor(v)


# (case id, {keyword: value or lib -> value}); a callable value is built per library
HYPER = [
    ("lr=0", dict(lr=0.0)),
    ("lr<0", dict(lr=-0.1)),
    ("lr=tensor", dict(lr=lambda lib: scalar(lib, 0.01))),
    ("lr=tensor[1]", dict(lr=lambda lib: lib.tensor([0.01]))),
    ("lr=tensor<0", dict(lr=lambda lib: scalar(lib, -0.01))),
    ("lr=int", dict(lr=1)),
    ("lr=str", dict(lr="0.1")),
    ("lr=None", dict(lr=None)),
    ("eps<0", dict(eps=-1e-8)),
    ("eps=0", dict(eps=0.0)),
    ("eps=tuple<0", dict(eps=(None, -1e-3))),
    ("eps=tuple-first<0", dict(eps=(-1.0, 1e-3))),
    ("weight_decay<0", dict(weight_decay=-0.1)),
    ("weight_decay=tensor", dict(weight_decay=lambda lib: scalar(lib, 0.1))),
    ("momentum<0", dict(momentum=-0.1)),
    ("momentum=1.5", dict(momentum=1.5)),
    ("momentum=1", dict(momentum=1.0)),
    ("dampening<0", dict(dampening=-0.5)),
    ("nesterov-no-momentum", dict(nesterov=True)),
    ("nesterov-dampening", dict(nesterov=True, momentum=0.9, dampening=0.5)),
    ("nesterov-momentum", dict(nesterov=True, momentum=0.9)),
    ("betas0=1", dict(betas=(1.0, 0.999))),
    ("betas0<0", dict(betas=(-0.1, 0.999))),
    ("betas1=1", dict(betas=(0.9, 1.0))),
    ("betas1>1", dict(betas=(0.9, 1.5))),
    ("betas=tensors", dict(betas=lambda lib: (scalar(lib, 0.9), scalar(lib, 0.999)))),
    ("betas=tensors+lr-tensor", dict(betas=lambda lib: (scalar(lib, 0.9), scalar(lib, 0.999)),
                                     lr=lambda lib: scalar(lib, 0.01))),
    ("betas=3", dict(betas=(0.9, 0.99, 0.999))),
    ("amsgrad=1", dict(amsgrad=1)),
    ("amsgrad=str", dict(amsgrad="yes")),
    ("maximize", dict(maximize=True)),
    ("foreach=True", dict(foreach=True)),
    ("foreach=False", dict(foreach=False)),
    ("capturable", dict(capturable=True)),
    ("differentiable", dict(differentiable=True)),
    ("fused", dict(fused=True)),
    ("fused+foreach", dict(fused=True, foreach=True)),
    ("fused+differentiable", dict(fused=True, differentiable=True)),
    ("fused=False", dict(fused=False)),
    ("rho<0", dict(rho=-0.1)),
    ("rho>1", dict(rho=1.1)),
    ("rho=1", dict(rho=1.0)),
    ("lr_decay<0", dict(lr_decay=-0.1)),
    ("initial_accumulator_value<0", dict(initial_accumulator_value=-0.1)),
    ("alpha<0", dict(alpha=-0.1)),
    ("alpha=0", dict(alpha=0.0)),
    ("lambd<0", dict(lambd=-1e-4)),
    ("t0<0", dict(t0=-1.0)),
    ("momentum_decay<0", dict(momentum_decay=-0.1)),
    ("etas-wrong-order", dict(etas=(1.2, 0.5))),
    ("etas0<0", dict(etas=(-0.5, 1.2))),
    ("etas1<1", dict(etas=(0.5, 0.9))),
    ("step_sizes-negative", dict(step_sizes=(-1e-6, 50))),
    ("beta2_decay>0", dict(beta2_decay=0.8)),
    ("d<0", dict(d=-1.0)),
    ("max_iter=0", dict(max_iter=0)),
    ("history_size=0", dict(history_size=0)),
    ("line_search_fn=bad", dict(line_search_fn="armijo")),
    ("line_search_fn=strong_wolfe", dict(line_search_fn="strong_wolfe")),
    ("ns_steps=0", dict(ns_steps=0)),
    ("ns_steps>100", dict(ns_steps=101)),
    ("adjust_lr_fn=bad", dict(adjust_lr_fn="bad")),
    ("adjust_lr_fn=match_rms_adamw", dict(adjust_lr_fn="match_rms_adamw")),
    ("decoupled_weight_decay", dict(decoupled_weight_decay=True)),
    ("unknown-keyword", dict(nonsense=1)),
    ("lr=nan", dict(lr=float("nan"))),
    ("eps=nan", dict(eps=float("nan"))),
    ("weight_decay=nan", dict(weight_decay=float("nan"))),
    ("lr=tensor+foreach", dict(lr=lambda lib: scalar(lib, 0.01), foreach=True)),
    ("lr=tensor+capturable+foreach", dict(lr=lambda lib: scalar(lib, 0.01), capturable=True,
                                          foreach=True)),
    ("lr=tensor+fused", dict(lr=lambda lib: scalar(lib, 0.01), fused=True)),
    ("betas=tensors+foreach", dict(betas=lambda lib: (scalar(lib, 0.9), scalar(lib, 0.999)),
                                   foreach=True)),
    ("betas=tensor[1]", dict(betas=lambda lib: (lib.tensor([0.9]), 0.999))),
    ("betas=tensor<0", dict(betas=lambda lib: (scalar(lib, -0.9), 0.999))),
    ("weight_decay=tensor[1]", dict(weight_decay=lambda lib: lib.tensor([0.1]))),
    ("capturable+foreach", dict(capturable=True, foreach=True)),
    ("maximize=str", dict(maximize="yes")),
    ("amsgrad=None", dict(amsgrad=None)),
    ("eps=None", dict(eps=None)),
    ("momentum=None", dict(momentum=None)),
    ("ns_coefficients-2", dict(ns_coefficients=(1.0, 2.0))),
    ("max_eval<max_iter", dict(max_iter=5, max_eval=2)),
    ("tolerance_grad<0", dict(tolerance_grad=-1.0)),
    ("history_size<0", dict(history_size=-1)),
    ("lr=bool", dict(lr=True)),
    ("momentum=nan", dict(momentum=float("nan"))),
    ("dampening=nan", dict(dampening=float("nan"))),
]

# (case id, lib -> params)
PARAMS = [
    ("list", lambda lib: [matrix(lib), matrix(lib)]),
    ("empty-list", lambda lib: []),
    ("generator", lambda lib: (p for p in [matrix(lib), matrix(lib)])),
    ("set", lambda lib: {matrix(lib)}),
    ("single-tensor", lambda lib: matrix(lib)),
    ("groups", lambda lib: [{"params": [matrix(lib)]}, {"params": [matrix(lib)], "lr": 0.5}]),
    ("group-single-tensor", lambda lib: [{"params": matrix(lib)}]),
    ("group-set", lambda lib: [{"params": {matrix(lib)}}]),
    ("group-without-params", lambda lib: [{"lr": 0.1}]),
    ("group-empty-params", lambda lib: [{"params": []}]),
    ("group-unknown-key", lambda lib: [{"params": [matrix(lib)], "my_tag": "x"}]),
    ("duplicate-in-list", lambda lib: (lambda p: [p, p])(matrix(lib))),
    ("duplicate-across-groups", lambda lib: (lambda p: [{"params": [p]}, {"params": [p]}])(matrix(lib))),
    ("named", lambda lib: list(_named(lib))),
    ("named-generator", lambda lib: _named(lib)),
    ("named-groups", lambda lib: [{"params": list(_named(lib))}]),
    ("mixed-named-and-plain", lambda lib: [("w", matrix(lib)), matrix(lib)]),
    ("non-leaf", lambda lib: [matrix(lib) * 2]),
    ("not-a-tensor", lambda lib: [1.0]),
    ("int-tensor", lambda lib: [lib.zeros(3, 2, dtype=lib.int64)]),
    ("no-requires-grad", lambda lib: [lib.zeros(3, 2)]),
]


def _named(lib):
    lib.manual_seed(0)
    return lib.nn.Linear(2, 3, bias=False).named_parameters()


def outcome(fn):
    """``None`` when ``fn()`` succeeds, else the exception's type."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e)
    return None


def build(value, lib):
    if callable(value):
        return value(lib)
    return value


def construct(name, lib, params, kwargs):
    cls = getattr(lib.optim, name)
    kw = {k: build(v, lib) for k, v in kwargs.items()}
    return outcome(lambda: cls(build(params, lib), **kw))


def hyper_cases():
    for name in CLASSES:
        keywords = set(inspect.signature(getattr(torch.optim, name).__init__).parameters)
        for cid, kwargs in HYPER:
            if set(kwargs) <= keywords or cid == "unknown-keyword":
                yield pytest.param(name, kwargs, id=f"{name}-{cid}")


def expected(theirs, kwargs):
    """torch's outcome, except one known difference: gradstep refuses ``differentiable=True``
    with NotImplementedError (its updates run on raw arrays, so no graph could be recorded)
    where torch accepts it; where torch refuses the combination, gradstep refuses it alike."""
    if theirs is None and kwargs.get("differentiable"):
        return NotImplementedError
    return theirs


@pytest.mark.parametrize("name, kwargs", list(hyper_cases()))
def test_hyperparameters_are_validated_like_torch(name, kwargs):
    theirs = expected(construct(name, torch, one_matrix, kwargs), kwargs)
    ours = construct(name, gradstep, one_matrix, kwargs)
    assert ours is theirs, f"expected: {theirs and theirs.__name__}, gradstep: {ours and ours.__name__}"


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("cid, params", PARAMS, ids=[c for c, _ in PARAMS])
def test_params_are_validated_like_torch(name, cid, params):
    theirs = construct(name, torch, params, {})
    ours = construct(name, gradstep, params, {})
    assert ours is theirs, f"torch: {theirs and theirs.__name__}, gradstep: {ours and ours.__name__}"


def _leaf(lib, n=3):
    return lib.nn.Parameter(lib.ones(n))


def _add_group(lib, group):
    opt = lib.optim.SGD([_leaf(lib)], lr=0.1)
    opt.add_param_group(group(lib, opt))


def _load(lib, saved_params, own_params):
    ps = [_leaf(lib), _leaf(lib)]
    mine = lib.optim.Adam(own_params(ps), lr=0.1)
    mine.load_state_dict(lib.optim.Adam(saved_params(ps), lr=0.1).state_dict())


MISTAKES = [
    ("tensor-params", lambda lib: lib.optim.SGD(_leaf(lib), lr=0.1)),
    ("dict-params", lambda lib: lib.optim.SGD({"w": _leaf(lib)}, lr=0.1)),
    ("non-leaf", lambda lib: lib.optim.SGD([_leaf(lib) * 2], lr=0.1)),
    ("overlapping-groups", lambda lib: (lambda p: lib.optim.SGD([{"params": [p]}, {"params": [p]}],
                                                                lr=0.1))(_leaf(lib))),
    ("group-overlaps", lambda lib: _add_group(lib, lambda L, o: {"params": o.param_groups[0]["params"]})),
    ("group-non-leaf", lambda lib: _add_group(lib, lambda L, o: {"params": [_leaf(L) * 2]})),
    ("group-not-dict", lambda lib: _add_group(lib, lambda L, o: [_leaf(L)])),
    ("load-group-count", lambda lib: _load(lib, lambda ps: [{"params": ps[:1]}, {"params": ps[1:]}],
                                           lambda ps: ps)),
    ("load-group-size", lambda lib: _load(lib, lambda ps: ps, lambda ps: ps[:1])),
]


@pytest.mark.parametrize("cid, call", MISTAKES, ids=[c for c, _ in MISTAKES])
def test_parameter_mistakes_raise_torch_exceptions(cid, call):
    """The exception class as torch's and its message's opening (gradstep's may add detail)."""
    def raised(lib):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared with torch's below
            call(lib)
        return info.value
    theirs, ours = raised(torch), raised(gradstep)
    assert type(ours) is type(theirs)
    assert str(ours).replace("gradstep.", "torch.").startswith(str(theirs)), (str(ours), str(theirs))
