"""``--opt-arg`` / ``--sched-arg`` values typed by the signature of the optimizer or scheduler."""

from collections.abc import Callable
from typing import Optional, Union

import pytest

from gradstep import optim
from gradstep.optim import lr_scheduler
from gradstep.training.config import UsageError, suggest
from gradstep.training.options import parse_kv, typed_options


def _opt(cls, **text):
    return typed_options(cls, text, ("self", "params"), cls.__name__, "--opt-arg")


def _sched(cls, **text):
    return typed_options(cls, text, ("self", "optimizer"), cls.__name__, "--sched-arg")


@pytest.mark.parametrize("text,value", [("true", True), ("True", True), ("yes", True), ("1", True),
                                        ("false", False), ("NO", False), ("0", False)])
def test_bool_accepts_the_six_words(text, value):
    assert _opt(optim.SGD, nesterov=text) == {"nesterov": value}


@pytest.mark.parametrize("text", ["maybe", "2", "on", "", "truee"])
def test_bool_refuses_anything_else(text):
    with pytest.raises(UsageError, match=f"--opt-arg nesterov={text}: SGD's nesterov expects a bool "
                                         r"\(true/false/yes/no/1/0\), got '" + text + "'"):
        _opt(optim.SGD, nesterov=text)


def test_numbers_tuples_and_none():
    got = _opt(optim.Adam, betas="0.9,0.99", eps="1e-7", weight_decay="0", foreach="none", amsgrad="yes")
    assert got == {"betas": (0.9, 0.99), "eps": 1e-7, "weight_decay": 0.0, "foreach": None, "amsgrad": True}
    assert type(got["weight_decay"]) is float  # default 0 (an int) but a float hyperparameter
    assert _opt(optim.Adam, betas="(0.8, 0.9)")["betas"] == (0.8, 0.9)
    assert _opt(optim.Adam, betas="[0.8,0.9]")["betas"] == (0.8, 0.9)
    assert _opt(optim.Adafactor, eps="none,1e-3")["eps"] == (None, 1e-3)  # default (None, 1e-3)


def test_ints_lists_and_strings():
    assert _sched(lr_scheduler.StepLR, step_size="5", gamma="0.5") == {"step_size": 5, "gamma": 0.5}
    assert _sched(lr_scheduler.MultiStepLR, milestones="3,6") == {"milestones": [3, 6]}
    assert _sched(lr_scheduler.MultiStepLR, milestones="[3, 6]") == {"milestones": [3, 6]}
    assert _sched(lr_scheduler.ReduceLROnPlateau, mode="max", patience="2") == {"mode": "max", "patience": 2}
    assert _sched(lr_scheduler.OneCycleLR, total_steps="none", max_lr="0.1") == \
        {"total_steps": None, "max_lr": 0.1}


@pytest.mark.parametrize("cls,key,text,expected", [
    (lr_scheduler.StepLR, "step_size", "x", "an integer"),
    (lr_scheduler.StepLR, "step_size", "1.5", "an integer"),
    (lr_scheduler.StepLR, "gamma", "half", "a number"),
    (lr_scheduler.StepLR, "step_size", "none", "an integer"),  # step_size cannot be None
    (lr_scheduler.MultiStepLR, "milestones", "3,x", "a list of integers"),
    (optim.Adam, "betas", "0.9", "a tuple of 2 numbers"),
    (optim.Adam, "betas", "0.9,0.99,0.5", "a tuple of 2 numbers"),
])
def test_bad_values_name_option_type_and_value(cls, key, text, expected):
    flag = "--opt-arg" if issubclass(cls, optim.Optimizer) else "--sched-arg"
    with pytest.raises(UsageError) as info:
        (_opt if flag == "--opt-arg" else _sched)(cls, **{key: text})
    msg = str(info.value)
    assert msg.startswith(f"{flag} {key}={text}: {cls.__name__}'s {key} expects {expected}")
    assert msg.endswith(f"got '{text}'") and "\n" not in msg


def test_unknown_key_suggests_and_lists():
    with pytest.raises(UsageError, match=r"SGD does not take 'nesterv' \(did you mean 'nesterov'\?\); "
                                         r"it takes: lr, momentum"):
        _opt(optim.SGD, nesterv="1")


def test_functions_cannot_be_given_as_text():
    with pytest.raises(UsageError, match="CyclicLR's scale_fn takes a Python function or none, which cannot"):
        _sched(lr_scheduler.CyclicLR, scale_fn="lambda x: x")
    assert _sched(lr_scheduler.CyclicLR, scale_fn="none") == {"scale_fn": None}
    with pytest.raises(UsageError, match="SequentialLR's schedulers takes Python objects, which cannot"):
        _sched(lr_scheduler.SequentialLR, schedulers="[a, b]")


def test_typed_values_are_checked_and_conversion_is_idempotent():
    once = _opt(optim.Adam, betas="0.9,0.99", amsgrad="true")
    assert _opt(optim.Adam, **once) == once
    assert _opt(optim.Adam, betas=[0.9, 0.99]) == {"betas": (0.9, 0.99)}  # a list from config.json
    with pytest.raises(UsageError, match="amsgrad expects a bool"):
        _opt(optim.Adam, amsgrad=1)  # a TOML integer is not a bool
    with pytest.raises(UsageError, match="step_size expects an integer"):
        _sched(lr_scheduler.StepLR, step_size=2.5)


class _Annotated:
    """A torch-style signature (typing.Union/Optional, as torch writes them): annotations win."""

    def __init__(self, params, lr: Union[float, "Tensor"] = 1e-3,  # noqa: F821, UP007
                 flag: Optional[bool] = None, steps: "int | None" = None,  # noqa: UP045
                 pair: "tuple[float, float]" = (0.5, 0.5), ms: "list[int]" = (),
                 fn: Optional[Callable] = None, name: str = "a"):  # noqa: UP045
        pass


def test_annotations_give_the_type():
    got = _opt(_Annotated, lr="0.1", flag="no", steps="3", pair="1,2", ms="4,5", name="b")
    assert got == {"lr": 0.1, "flag": False, "steps": 3, "pair": (1.0, 2.0), "ms": [4, 5], "name": "b"}
    assert _opt(_Annotated, flag="none", steps="null") == {"flag": None, "steps": None}
    with pytest.raises(UsageError, match="steps expects an integer or none, got '2.5'"):
        _opt(_Annotated, steps="2.5")
    with pytest.raises(UsageError, match="expects a number, got 'x'"):
        _opt(_Annotated, lr="x")
    with pytest.raises(UsageError, match="fn takes a Python function or none, which cannot"):
        _opt(_Annotated, fn="print")


def test_parse_kv_keeps_text_and_checks_the_form():
    assert parse_kv(["step-size=5", "milestones=3,6", "x="], "--sched-arg") == \
        {"step_size": "5", "milestones": "3,6", "x": ""}
    with pytest.raises(UsageError, match="--sched-arg expects KEY=VALUE, got 'gamma'"):
        parse_kv(["gamma"], "--sched-arg")


def test_suggest():
    assert suggest("adam", ["Adam", "AdamW", "SGD"]) == " (did you mean 'Adam'?)"
    assert suggest("Adamm", ["Adam", "SGD"]) == " (did you mean 'Adam'?)"
    assert suggest("cosine", ["CosineAnnealingLR", "StepLR", "none"]) == " (did you mean 'CosineAnnealingLR'?)"
    assert suggest("--optimzer", ["--optimizer", "--opt-arg", "--lr"]) == " (did you mean '--optimizer'?)"
    assert suggest("zzz", ["Adam", "SGD"]) == ""
