"""The doctor wraps ``Tensor.backward`` for the whole process: other threads' graphs pass through."""

from __future__ import annotations

import threading

import pytest

import gradstep
from gradstep import nn


def test_a_backward_in_another_thread_is_not_the_watched_models():
    model = nn.Linear(3, 2)
    opt = gradstep.optim.SGD(model.parameters(), lr=0.1)
    errors = {}

    def other():
        try:
            gradstep.ones(2).sum().backward()  # an unrelated tensor without a graph
        except RuntimeError as e:
            errors["other"] = str(e)

    with gradstep.doctor.watch(model, opt) as doctor:
        t = threading.Thread(target=other)
        t.start()
        t.join(30)
        assert "gradstep doctor" not in errors["other"]  # the engine's own error, unexplained
        assert errors["other"].startswith("element 0 of tensors does not require grad")
        assert doctor.findings == []
        with pytest.raises(RuntimeError, match="gradstep doctor"):  # this thread's still explained
            gradstep.ones(2).sum().backward()
    assert [f.code for f in doctor.findings] == ["backward-without-graph"]
