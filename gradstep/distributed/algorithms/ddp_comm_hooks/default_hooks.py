"""The default DDP communication hooks: average by all-reduce, optionally in fp16 or bf16.

``state`` is the process group to reduce over (None: the default group). Each hook
divides before it sums, as torch's do (in half precision that keeps the sum in range), so
``allreduce_hook`` gives the gradients DDP gives without a hook, bit for bit.
"""

from __future__ import annotations

from ....backend import bfloat16, float16
from ... import all_reduce
from ... import group as _group

__all__ = ["allreduce_hook", "bf16_compress_hook", "bf16_compress_wrapper", "fp16_compress_hook",
           "fp16_compress_wrapper"]


def _group_of(process_group):
    return process_group if process_group is not None else _group.WORLD


def _allreduce_fut(process_group, tensor):
    """Divide ``tensor`` by the group size in place, then sum it over the group: a future of it."""
    pg = _group_of(process_group)
    tensor.div_(pg.size())
    work = all_reduce(tensor, group=pg, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket):
    """Average the bucket over the group's ranks (what DDP does without a hook)."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket):
    pg = _group_of(process_group)
    buffer = bucket[0] if isinstance(bucket, tuple) else bucket.buffer()
    compressed = buffer.to(dtype).div_(pg.size())

    def decompress(fut):
        buffer.copy_(fut.value()[0])  # back into the bucket, in its own dtype
        return buffer

    return all_reduce(compressed, group=pg, async_op=True).get_future().then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Average the bucket in float16: cast, divide by the group size, sum, cast back."""
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """Average the bucket in bfloat16: cast, divide by the group size, sum, cast back."""
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook):
    def wrapped(hook_state, bucket):
        bucket.set_buffer(bucket.buffer().to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            out = bucket.buffer()
            out.copy_(fut.value())
            return out

        return fut.then(decompress)

    wrapped.__name__ = f"{'fp16' if dtype is float16 else 'bf16'}_compress_wrapper_hook"
    return wrapped


def fp16_compress_wrapper(hook):
    """``hook`` run on a float16 copy of the bucket; its result is cast back."""
    return _compress_wrapper(float16, hook)


def bf16_compress_wrapper(hook):
    """``hook`` run on a bfloat16 copy of the bucket; its result is cast back."""
    return _compress_wrapper(bfloat16, hook)
