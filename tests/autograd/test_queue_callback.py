"""engine.queue_callback: final callbacks of a backward pass (torch's _execution_engine.queue_callback)."""

import pytest

import gradstep
from gradstep.autograd import engine


def test_callbacks_run_after_every_gradient_in_queue_order():
    a = gradstep.ones(3, requires_grad=True)
    b = gradstep.ones(3, requires_grad=True)
    log = []

    def hook(t):
        log.append(("hook", t is a))
        if len(log) == 1:  # queued during backward, from the first leaf that finishes
            engine.queue_callback(lambda: log.append(("first", a.grad is not None and b.grad is not None)))
            engine.queue_callback(lambda: (log.append(("second", None)),
                                           engine.queue_callback(lambda: log.append(("third", None)))))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert [k for k, _ in log] == ["hook", "hook", "first", "second", "third"]
    assert log[2] == ("first", True)  # both grads exist when the callbacks run


def test_callbacks_belong_to_one_pass():
    a = gradstep.ones(2, requires_grad=True)
    calls = []
    handle = a.register_post_accumulate_grad_hook(lambda t: engine.queue_callback(lambda: calls.append(1)))
    a.sum().backward()
    a.sum().backward()
    assert calls == [1, 1]
    handle.remove()
    a.sum().backward()
    assert calls == [1, 1]


def test_nested_backward_in_a_callback_keeps_its_own_queue():
    a = gradstep.ones(2, requires_grad=True)
    c = gradstep.ones(2, requires_grad=True)
    order = []

    def outer_cb():
        order.append("outer")
        c.sum().backward()  # a backward inside a callback: its callbacks run at its own end
        order.append("outer done")

    c.register_post_accumulate_grad_hook(lambda t: engine.queue_callback(lambda: order.append("inner")))
    a.register_post_accumulate_grad_hook(lambda t: engine.queue_callback(outer_cb))
    a.sum().backward()
    assert order == ["outer", "inner", "outer done"]


def test_outside_backward_is_an_error():
    with pytest.raises(RuntimeError, match="only be installed during backward pass"):
        engine.queue_callback(lambda: None)


def test_error_in_backward_drops_the_queue():
    a = gradstep.ones(2, requires_grad=True)
    calls = []

    def hook(t):
        engine.queue_callback(lambda: calls.append(1))
        raise ValueError("hook failed")

    a.register_post_accumulate_grad_hook(hook)
    with pytest.raises(ValueError, match="hook failed"):
        a.sum().backward()
    assert calls == []
    with pytest.raises(RuntimeError, match="during backward pass"):
        engine.queue_callback(lambda: None)  # the failed pass left no queue behind
