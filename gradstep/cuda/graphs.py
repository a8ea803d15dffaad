"""``torch.cuda.graphs``: CUDA graph capture, which needs a GPU (torch's CPU build has dummy
classes that refuse to be made)."""

from __future__ import annotations

from ._surface import graph_pool_handle, is_current_stream_capturing

__all__ = ["is_current_stream_capturing", "graph_pool_handle", "CUDAGraph", "graph",
           "make_graphed_callables"]


class CUDAGraph:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class CUDAGraph")


class graph:  # noqa: N801  (torch's name)
    """``with torch.cuda.graph(g):`` capture into ``g``; its side stream needs CUDA."""

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global",
                 enable_annotations=False, check_input_liveness=False):
        from . import Stream

        self.capture_stream = stream if stream is not None else Stream()  # raises here


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False,
                           pool=None):
    """Capture ``callables`` into CUDA graphs: the graph object cannot exist here."""
    CUDAGraph()
