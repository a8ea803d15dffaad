"""Module backward hooks: identity autograd Functions placed on a module's inputs and outputs.

The output-side identity sees ``grad_output`` first (and runs the backward pre-hooks);
the input-side identity then sees ``grad_input`` and runs the full backward hooks.
"""

from __future__ import annotations

import warnings

from ..._creation import zeros
from ..._tensor import Tensor
from ..._warn_once import user_stacklevel
from ...autograd.function import Function


class BackwardHookFunction(Function):
    """torch's name for it, which its in-place error names."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        ctx.set_materialize_grads(False)
        out = tuple(t.detach() for t in tensors)
        # inputs that need no gradient stay so; torch hands their hooks zeros (below)
        ctx.constant = [not t.requires_grad for t in tensors]
        ctx.mark_non_differentiable(*[o for o, c in zip(out, ctx.constant) if c])
        ctx.shapes = [(t.shape, t.dtype) for t in tensors]
        return out

    @staticmethod
    def backward(ctx, *grads):
        grads = tuple(g if g is not None or not c else zeros(shape, dtype=dt)
                      for g, c, (shape, dt) in zip(grads, ctx.constant, ctx.shapes))
        return (None, *ctx.callback(grads))


def _warn_outputs_only():
    """torch's warning, at the user's ``backward()`` line, each backward through a module
    none of whose inputs requires grad (a first layer fed data, K-FAC's hooks)."""
    warnings.warn(
        "Full backward hook is firing when gradients are computed with respect to module "
        "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
        "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
        "details.", stacklevel=user_stacklevel())


class BackwardHook:
    def __init__(self, module, pre_hooks, hooks, forbid_inplace=True):
        self.module = module
        self.forbid_inplace = forbid_inplace
        self.pre_hooks = pre_hooks
        self.hooks = hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.inputs_need_grad = False

    def _wrap(self, values, callback, every_tensor=False):
        """``values`` through the identity (the tensors that require grad; with
        ``every_tensor``, all tensors once one does: torch's ``grad_input`` has a slot for
        each tensor argument)."""
        is_tuple = isinstance(values, tuple)
        items = list(values) if is_tuple else [values]
        pos = [i for i, v in enumerate(items) if isinstance(v, Tensor) and v.requires_grad]
        if not pos:
            return values, False
        if every_tensor:
            pos = [i for i, v in enumerate(items) if isinstance(v, Tensor)]
        new = BackwardHookFunction.apply(callback, *[items[i] for i in pos])
        mark = ("BackwardHookFunction", sum(t.requires_grad for t in new) > 1)
        for i, t in zip(pos, new):
            if self.forbid_inplace and t.requires_grad:
                t._custom_fn_view = mark  # torch's outputs of that Function are views
            items[i] = t
        self._last_pos = pos
        return (tuple(items) if is_tuple else items[0]), True

    def setup_input_hook(self, args):
        self.n_inputs = sum(isinstance(a, Tensor) for a in args)
        args, self.inputs_need_grad = self._wrap(tuple(args), self._on_input_grads,
                                                 every_tensor=True)
        return args

    def setup_output_hook(self, result):
        result, _ = self._wrap(result, self._on_output_grads)
        return result

    def _on_output_grads(self, grads):
        for hook in self.pre_hooks:
            res = hook(self.module, grads)
            if res is not None:
                if len(res) != len(grads):
                    raise RuntimeError(
                        f"Backward pre hook returned an invalid number of grad_output, got "
                        f"{len(res)}, but expected {len(grads)}"
                    )
                grads = tuple(res)
        self.grad_outputs = grads
        if not self.inputs_need_grad:
            _warn_outputs_only()
            for hook in self.hooks:
                if hook(self.module, (None,) * self.n_inputs, grads) is not None:
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients."
                    )
        return grads

    def _on_input_grads(self, grads):
        for hook in self.hooks:
            res = hook(self.module, grads, self.grad_outputs)
            if res is not None:
                if len(res) != len(grads):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got "
                        f"{len(res)}, but expected {len(grads)}"
                    )
                grads = tuple(res)
        return grads
