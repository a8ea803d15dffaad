"""``gradstep.doctor``: a training-loop checker.

``watch(model, optimizer, scheduler=None)`` hooks a running loop and reports the classic
mistakes (gradients never zeroed, a step without gradients, parameters missing from the
optimizer, scheduler order and cadence, NaN losses and where they came from, train/eval
mode, learning rate too high or low, a diverging or flat loss, unscaled gradient
accumulation, backward without a graph, zero_grad between backward and step), each once,
with its evidence and the fix::

    with gradstep.doctor.watch(model, optimizer, scheduler) as dr:
        for inputs, labels in loader:
            ...  # the loop, unchanged
    print(dr.report())

``explain(optimizer, param=None, steps=1)`` spells out what the next step(s) do to one
parameter: the gradient, every term of the update with its numbers, before and after.

``check_accumulation(model, loss_fn, batch, micro_batches=k)`` compares k accumulated
micro-batch gradients with the whole batch's and names the cause when they differ.
"""

from .accumulation import AccumulationReport, check_accumulation
from .checks import Finding
from .explain import explain
from .watcher import Doctor, watch

__all__ = ["watch", "explain", "Finding", "Doctor", "check_accumulation", "AccumulationReport"]
