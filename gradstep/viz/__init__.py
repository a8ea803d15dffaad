"""``gradstep.viz``: see the loop.

* :func:`draw_graph` draws the backward graph of a tensor (op names, shapes, dtypes, parameter
  names, the gradient norm through each node after ``backward()``, what each node saved), as
  SVG or PNG, with its own layered layout (:mod:`gradstep.viz.layout`); :class:`trace_modules`
  lets repeated blocks collapse into one box per module.
* :mod:`gradstep.viz.xray` records one training step (and samples of the run) and writes a
  self-contained HTML page: ``gradstep xray SCRIPT``.
"""

from .graph import Drawing, draw_graph, engine_nodes, trace_modules

__all__ = ["draw_graph", "Drawing", "engine_nodes", "trace_modules"]
