"""``torch.cuda.jiterator``: elementwise kernels compiled at run time for CUDA; making one
works, calling it needs a GPU (torch's message)."""

from __future__ import annotations

__all__ = ["_create_jit_fn", "_create_multi_output_jit_fn"]


class _JittedFunction:
    def __init__(self, code_string, return_by_ref, num_outputs, **kwargs):
        self.code_string = code_string
        self.return_by_ref = return_by_ref
        self.num_outputs = num_outputs
        self.kwargs_dict = kwargs

    def __call__(self, *tensors, **kwargs):
        raise AssertionError("Jiterator is only supported on CUDA and ROCm GPUs, none are "
                             "available.")


def _create_jit_fn(code_string, **kwargs):
    return _JittedFunction(code_string, return_by_ref=False, num_outputs=1, **kwargs)


def _create_multi_output_jit_fn(code_string, num_outputs, **kwargs):
    return _JittedFunction(code_string, return_by_ref=True, num_outputs=num_outputs, **kwargs)
