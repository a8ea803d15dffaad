"""``draw_graph``: the backward graph of a tensor, read from gradstep's own engine.

The graph is the one ``backward()`` walks: from ``output.grad_fn`` along each node's
``_next`` edges (``next_functions``) down to the ``AccumulateGrad`` sinks of the leaves.
Each node's output shape and dtype are read from the edge metadata the engine checks
gradients against (``_metas`` of the node that consumes it), so nothing is recomputed.

Gradient norms: with ``track=True`` (the default) ``draw_graph`` registers a pre-hook on
every node (``register_prehook``); the engine calls it with the gradient arriving at the node
during the next backward, and the hook records its 2-norm and removes itself (one backward is
recorded). The drawing is rendered when ``.svg`` is read,
so draw before ``backward()`` and read ``.svg`` after it to see the norms::

    g = viz.draw_graph(loss, params=dict(model.named_parameters()))
    loss.backward()
    g.save("graph.svg")      # op names, shapes, dtypes, parameter names and |grad|
"""

from __future__ import annotations

import html
import math

import numpy as np

from ..autograd.function import AccumulateGrad
from ..backend import from_numpy_dtype
from .layout import layered_layout


def _dtype_name(dt):
    try:
        return str(from_numpy_dtype(np.dtype(dt))).replace("gradstep.", "")
    except Exception:  # noqa: BLE001 - an array dtype gradstep has no name for
        return str(dt)


def _shape(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


class GraphNode:
    """One node of the drawing: an engine node, or a collapsed module."""

    def __init__(self, index, fn, name):
        self.index, self.fn, self.name = index, fn, name
        self.shape = None  # the node's output shape (first output for multi-output nodes)
        self.dtype = None
        self.param = None  # parameter name of an AccumulateGrad's leaf
        self.saved = []  # [(shape, dtype)] saved for backward, read at draw time
        self.grad_norm = None  # |gradient| that reached the node in the tracked backward
        self.module = None  # qualified module name that created the node (trace_modules)
        self.members = 1  # engine nodes inside (collapsed boxes)

    def lines(self, show_saved):
        out = [self.name]
        if self.param is not None:
            out.append(self.param)
        if self.shape is not None:
            out.append(f"{_shape(self.shape)} {_dtype_name(self.dtype)}")
        if self.members > 1:
            out.append(f"{self.members} ops (collapsed)")
        if show_saved and self.saved:
            out.append("saved: " + ", ".join(f"{_shape(s)} {_dtype_name(d)}" for s, d in self.saved))
        if self.grad_norm is not None:
            out.append(f"|grad| = {self.grad_norm:.4g}")
        return out


class Drawing:
    """The drawn backward graph: ``nodes``, ``edges`` (consumer index, producer index),
    ``svg`` (rendered on access), ``save(path)`` (.svg or .png), ``_repr_svg_``."""

    def __init__(self, nodes, edges, show_saved=False, title=None):
        self.nodes, self.edges, self.show_saved, self.title = nodes, edges, show_saved, title

    @property
    def svg(self):
        return render_svg(self)

    def _repr_svg_(self):
        return self.svg

    def layout(self):
        """(x, y, width, height) per node, and the canvas (width, height)."""
        sizes = [_box_size(n.lines(self.show_saved)) for n in self.nodes]
        return layered_layout(len(self.nodes), self.edges, sizes)

    def save(self, path):
        path = str(path)
        if path.lower().endswith(".png"):
            render_png(self, path)
        elif path.lower().endswith(".svg"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.svg)
        else:
            raise ValueError(f"save: expected a .svg or .png file name, got {path!r}")
        return path

    def __repr__(self):
        return f"<gradstep.viz.Drawing: {len(self.nodes)} nodes, {len(self.edges)} edges>"


def draw_graph(output, params=None, show_saved=False, *, track=True, modules=None, depth=None,
               collapse=False):
    """Draw the backward graph of ``output`` (a tensor with a ``grad_fn``).

    ``params``: ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) names the leaves.
    ``show_saved``: list what each node saved for backward (shapes, dtypes).
    ``track``: record the gradient norm reaching each node in the next backward (see module doc).
    ``modules``: a :func:`trace_modules` recording; with ``collapse=True`` (one box per
    top-level submodule) or ``depth=N`` (module names cut to N dotted parts), the nodes a
    module's forward created become one box labelled with the module's name and class.
    """
    if (collapse or depth) and modules is None:
        raise ValueError("draw_graph: collapse/depth need modules=, a trace_modules(model) recording "
                         "of the forward that made the graph")
    fn = output.grad_fn
    if fn is None and not output.requires_grad:
        raise ValueError("draw_graph: the tensor has no grad_fn (it does not require grad)")
    if fn is None:
        from ..autograd.function import _edge

        fn = _edge(output)[0]
    names = {id(t): name for name, t in (params or {}).items()}
    order, index, edges = _walk(fn)
    nodes = [GraphNode(i, f, f.name()) for i, f in enumerate(order)]
    nodes[0].shape, nodes[0].dtype = output.shape, output._data.dtype
    for f in order:
        metas = getattr(f, "_metas", ())
        for k, e in enumerate(f._next):
            if e is not None and e[1] == 0 and k < len(metas):
                target = nodes[index[e[0]]]
                target.shape, target.dtype = metas[k]
    for n in nodes:
        _describe(n, names)
        if track:
            _track(n)
        if modules is not None:
            n.module = modules.owner(n.fn)
    drawing = Drawing(nodes, edges, show_saved)
    if modules is not None and (collapse or depth):
        drawing = _collapse(drawing, 1 if depth is None else depth, modules)
    return drawing


def engine_nodes(output):
    """The engine nodes ``backward()`` would visit from ``output`` (for counts and checks)."""
    return _walk(output.grad_fn)[0]


def _walk(root):
    order, index, edges = [root], {root: 0}, []
    stack = [root]
    while stack:
        f = stack.pop()
        for e in f._next:
            if e is None:
                continue
            n = e[0]
            if n not in index:
                index[n] = len(order)
                order.append(n)
                stack.append(n)
            edges.append((index[f], index[n]))
    return order, index, edges


def _describe(n, names):
    f = n.fn
    if type(f) is AccumulateGrad:
        v = f.variable
        n.shape, n.dtype = v.shape, v._data.dtype
        n.param = names.get(id(v))
    saved = list(getattr(f, "_saved", ()) or ())
    n.saved = [(t._data.shape, t._data.dtype) for t in saved if hasattr(t, "_data")]
    out = getattr(f, "_out_data", None)
    if getattr(f, "saves_output", False) and out is not None:
        n.saved.append((out.shape, out.dtype))


def _track(n):
    """Record the norm of the gradient reaching ``n`` in the next backward, then unhook (a
    leaf's AccumulateGrad node lives on with the leaf, into later steps' graphs)."""
    handle = None

    def hook(grads):
        # torch's node pre-hook gets the tuple of output gradients (older engines: the tensor)
        g = grads[0] if isinstance(grads, (tuple, list)) else grads
        if g is not None:
            d = g._data
            n.grad_norm = float(math.sqrt(float(np.sum(np.square(d, dtype=np.float64))))) if d.size else 0.0
        handle.remove()

    handle = n.fn.register_prehook(hook)


def _collapse(drawing, depth, modules):
    """Merge the nodes whose module name (cut to ``depth`` parts) is the same into one box."""
    groups, new_nodes, mapping = {}, [], {}
    for n in drawing.nodes:
        key = None
        if n.module:
            key = ".".join(n.module.split(".")[:depth])
        if key is None or n.index == 0:
            mapping[n.index] = len(new_nodes)
            clone = GraphNode(len(new_nodes), n.fn, n.name)
            clone.__dict__.update({k: v for k, v in n.__dict__.items() if k not in ("index",)})
            clone.index = len(new_nodes)
            new_nodes.append(clone)
            continue
        if key not in groups:
            box = GraphNode(len(new_nodes), None, f"{key} ({modules.classes.get(key, 'Module')})")
            box.members = 0
            box.module = key
            groups[key] = box
            new_nodes.append(box)
        box = groups[key]
        box.members += 1
        if box.shape is None:  # the first member met from the loss is the module's output
            box.shape, box.dtype, box.grad_norm = n.shape, n.dtype, n.grad_norm
        mapping[n.index] = box.index
    edges = sorted({(mapping[a], mapping[b]) for a, b in drawing.edges if mapping[a] != mapping[b]})
    return Drawing(new_nodes, edges, drawing.show_saved)


class trace_modules:
    """Record which module's forward created each graph node: ``with trace_modules(model) as m:``.

    Forward pre/post hooks on every submodule: after a module's forward, the nodes reachable
    from its outputs, down to the graph its inputs came with, are the module's (the innermost
    module wins). Pass the recording to ``draw_graph(..., modules=m, collapse=True)``.
    """

    def __init__(self, model):
        self.model, self._handles, self._owner, self._inputs = model, [], {}, []
        self.classes = {}

    def __enter__(self):
        for name, mod in self.model.named_modules():
            if not name:
                continue
            self.classes[name] = type(mod).__name__
            self._handles.append(mod.register_forward_pre_hook(self._pre))
            self._handles.append(mod.register_forward_hook(self._post(name, mod)))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        return False

    def owner(self, fn):
        return self._owner.get(fn)

    def _pre(self, module, args):
        self._inputs.append({t.grad_fn for t in _tensors(args) if t.grad_fn is not None})

    def _post(self, name, module):
        own = {id(p) for p in module.parameters()}

        def hook(mod, args, out):
            boundary = self._inputs.pop() if self._inputs else set()
            stack = [t.grad_fn for t in _tensors(out) if t.grad_fn is not None]
            seen = set()
            while stack:
                f = stack.pop()
                if f in seen or f in boundary:
                    continue
                seen.add(f)
                if type(f) is AccumulateGrad:
                    if id(f.variable) in own:
                        self._owner.setdefault(f, name)
                    continue
                self._owner.setdefault(f, name)
                stack.extend(e[0] for e in f._next if e is not None)

        return hook


def _tensors(obj):
    from .._tensor import Tensor

    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


# ---------------------------------------------------------------- rendering
CHAR_W, LINE_H, PAD = 7.0, 14, 6


def _box_size(lines):
    return (max(len(s) for s in lines) * CHAR_W + 2 * PAD, len(lines) * LINE_H + 2 * PAD)


def _fill(n):
    if n.members > 1:
        return "#fde7c8"
    if n.param is not None or (n.fn is not None and type(n.fn) is AccumulateGrad):
        return "#d6ecd2"
    return "#dbe7f6" if n.index else "#f6d6d6"


def render_svg(drawing):
    boxes, (width, height) = drawing.layout()
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gradstep-graph" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
           'font-family="monospace" font-size="11">',
           '<defs><marker id="gs-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>']
    for a, b in drawing.edges:
        xa, ya, wa, ha = boxes[a]
        xb, yb, wb, _ = boxes[b]
        x1, y1, x2, y2 = xa + wa / 2, ya + ha, xb + wb / 2, yb
        my = (y1 + y2) / 2
        out.append(f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{my:.1f} {x2:.1f},{my:.1f} '
                   f'{x2:.1f},{y2:.1f}" fill="none" stroke="#667" marker-end="url(#gs-arrow)"/>')
    for n in drawing.nodes:
        x, y, w, h = boxes[n.index]
        lines = n.lines(drawing.show_saved)
        cls = "node collapsed" if n.members > 1 else "node"
        out.append(f'<g class="{cls}" data-index="{n.index}"><title>{html.escape(n.name)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" '
                   f'fill="{_fill(n)}" stroke="#445"/>')
        for k, line in enumerate(lines):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{x + PAD:.1f}" y="{y + PAD + (k + 0.8) * LINE_H:.1f}"{weight}>'
                       f'{html.escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def render_png(drawing, path, dpi=100):
    """The same layout drawn with matplotlib (ImportError if it is not installed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    boxes, (width, height) = drawing.layout()
    fig = plt.figure(figsize=(max(width, 50) / dpi, max(height, 50) / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for a, b in drawing.edges:
        xa, ya, wa, ha = boxes[a]
        xb, yb, wb, _ = boxes[b]
        ax.add_patch(FancyArrowPatch((xa + wa / 2, ya + ha), (xb + wb / 2, yb), arrowstyle="-|>",
                                     mutation_scale=8, color="#667", lw=0.8))
    for n in drawing.nodes:
        x, y, w, h = boxes[n.index]
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=4",
                                    fc=_fill(n), ec="#445", lw=0.8))
        for k, line in enumerate(n.lines(drawing.show_saved)):
            ax.text(x + PAD, y + PAD + (k + 0.8) * LINE_H, line, family="monospace", fontsize=8,
                    weight="bold" if k == 0 else "normal", va="baseline")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
