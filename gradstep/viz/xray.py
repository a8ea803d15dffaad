"""The x-ray: record one training step in detail (and samples of the whole run), write a page.

``XRay`` attaches to any loop while it runs, the way the doctor does: global optimizer step
hooks, and wrappers around ``Optimizer.zero_grad``, ``Module.zero_grad`` and
``Tensor.backward``. It records

* every backward's loss (the loss curve; a float per step);
* on sampled steps (every ``every``-th, the stride doubling whenever ``max_samples`` would
  be passed, so the page stays small): per parameter the gradient norm, the update norm,
  update/weight and the norms of the optimizer's state tensors;
* on the detailed steps (the first and the second step: the second one's numbers are shown
  when the run has one): the zero_grad -> backward -> step sequence with its numbers, the
  loss's backward graph with gradient norms (:func:`gradstep.viz.draw_graph`), the Adam
  family's effective learning rates ``lr / (sqrt(v_hat) + eps)`` and ``doctor.explain``'s
  breakdown for every parameter;
* the doctor's findings (``doctor.watch`` on the model, found from the optimizer's parameters).

Other steps cost one ``float(loss)`` and a counter. Only the first optimizer that steps is
followed, and only backward calls made in the thread that started the x-ray. ``write(path)`` renders the page
(:mod:`gradstep.viz.page`).
"""

from __future__ import annotations

import gc
import math
import threading

import numpy as np

from .graph import _collapse, draw_graph, trace_modules

DETAIL_STEPS = (1, 2)


def _norm(a):
    a = np.asarray(a)
    return float(math.sqrt(float(np.sum(np.square(a, dtype=np.float64))))) if a.size else 0.0


class XRay:
    def __init__(self, every=1, max_samples=64, max_loss_points=2000, doctor=True):
        self.every, self.max_samples, self.max_loss_points = every, max_samples, max_loss_points
        self.use_doctor = doctor
        self.steps = 0  # optimizer steps completed
        self.losses = []  # (step index the loss belongs to, value)
        self.samples = []  # {"step", "params": [per-parameter dict]}
        self.detail = None  # the latest detailed step
        self.optimizer = self.model = self.doctor = None
        # events of the step in progress when it is a detailed one (step 1 is: recording starts now)
        self._undo, self._events, self._before, self._drawing = [], [], None, None
        self._explains, self._trace, self._thread = None, None, None
        self._setup_pending = False

    # ------------------------------------------------------------ attach / detach
    def start(self):
        from .._tensor import Tensor
        from ..nn.modules.module import Module
        from ..optim import optimizer as opt_mod

        self._thread = threading.get_ident()
        self._undo.append(opt_mod.register_optimizer_step_pre_hook(self._pre_step).remove)
        self._undo.append(opt_mod.register_optimizer_step_post_hook(self._post_step).remove)
        self._patch(opt_mod.Optimizer, "zero_grad", self._zero_wrapper)
        self._patch(Module, "zero_grad", self._zero_wrapper)
        self._patch(Tensor, "backward", self._backward_wrapper)
        return self

    def stop(self):
        # the doctor and explain wrapped on top of ours: they unwind first
        if self.doctor is not None:
            self.doctor.stop()
        for e in reversed(list((self._explains or {}).values())):
            e.remove()
        self._explains = None
        if self._trace is not None:
            self._trace.__exit__(None, None, None)
            self._trace = None
        while self._undo:
            self._undo.pop()()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _patch(self, cls, name, make):
        original = cls.__dict__[name]
        setattr(cls, name, make(original))
        self._undo.append(lambda: setattr(cls, name, original))

    def _mine(self):
        return threading.get_ident() == self._thread

    def _detail_next(self):
        return self.steps + 1 in DETAIL_STEPS

    # ------------------------------------------------------------ wrappers
    def _zero_wrapper(self, original):
        xray = self

        def zero_grad(obj, *args, **kwargs):
            if xray._setup_pending and xray._mine():
                xray._setup()
            if xray._events is not None and xray._mine():
                had = sum(1 for p in xray._params(obj) if p._grad is not None)
                result = original(obj, *args, **kwargs)
                left = sum(1 for p in xray._params(obj) if p._grad is not None)
                xray._events.append({"kind": "zero_grad", "what": type(obj).__name__,
                                     "text": f"{had} .grad tensors before; "
                                             f"{'set to None' if left == 0 else 'zeroed in place'}"})
                return result
            return original(obj, *args, **kwargs)

        return zero_grad

    def _backward_wrapper(self, original):
        xray = self

        def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            if not xray._mine():
                return original(tensor, gradient, retain_graph, create_graph, inputs)
            if xray._setup_pending:
                xray._setup()
            data = tensor._data
            loss = float(data.item()) if data.size == 1 else None
            if loss is not None:
                xray.losses.append((xray.steps, loss))
            if xray._events is not None and tensor.grad_fn is not None:
                if xray._drawing is None:
                    xray._drawing = draw_graph(tensor, track=True, modules=xray._trace)
                    if xray._trace is not None:
                        xray._trace.__exit__(None, None, None)
                result = original(tensor, gradient, retain_graph, create_graph, inputs)
                xray._events.append({"kind": "backward", "loss": loss,
                                     "text": f"loss {loss:.6g}; " if loss is not None else "",
                                     "grad_norm": xray._total_grad_norm()})
                return result
            return original(tensor, gradient, retain_graph, create_graph, inputs)

        return backward

    def _params(self, obj):
        if hasattr(obj, "param_groups"):
            return [p for g in obj.param_groups for p in g["params"]]
        return list(obj.parameters())

    def _total_grad_norm(self):
        if self.optimizer is None:
            return None
        s = sum(_norm(p._grad._data) ** 2 for p in self._params(self.optimizer) if p._grad is not None)
        return math.sqrt(s)

    # ------------------------------------------------------------ step hooks
    def _pre_step(self, optimizer, args, kwargs):
        if not self._mine():
            return
        if self.optimizer is None:
            self.optimizer = optimizer
        if optimizer is not self.optimizer:
            return
        n = self.steps + 1
        if self._detail_next() or (n - 1) % self.every == 0:
            params = self._params(optimizer)
            self._before = [(p._data.astype(np.float64, copy=True),
                             None if p._grad is None else p._grad._data.astype(np.float64))
                            for p in params]

    def _post_step(self, optimizer, args, kwargs):
        if not self._mine() or optimizer is not self.optimizer:
            return
        self.steps += 1
        if self._before is not None:
            rows = self._param_rows(optimizer)
            self._before = None
            if (self.steps - 1) % self.every == 0:
                self._add_sample(rows)
            if self.steps in DETAIL_STEPS:
                self._capture_detail(optimizer, rows)
        if self.steps == 1:
            self.model = _find_model(self._params(optimizer))
            if self.model is not None:  # module hooks now: step 2's forward may come next
                self._trace = trace_modules(self.model).__enter__()
            self._setup_pending = True  # optimizer hooks at the next event (not while they run)
        self._events = [] if self._detail_next() else None
        if self._detail_next():
            self._drawing = None

    def _param_rows(self, optimizer):
        rows = []
        params = self._params(optimizer)
        for i, (p, (before, grad)) in enumerate(zip(params, self._before)):
            after = p._data.astype(np.float64)
            w = _norm(before)
            upd = _norm(after - before)
            state = optimizer.state.get(p, {})
            bufs = {k: _norm(v._data) for k, v in state.items()
                    if hasattr(v, "_data") and v._data.shape == p._data.shape}
            rows.append({"index": i, "shape": list(p.shape), "grad": None if grad is None else _norm(grad),
                         "update": upd, "weight": w, "ratio": upd / w if w else None, "state": bufs})
        return rows

    def _add_sample(self, rows):
        self.samples.append({"step": self.steps, "params": rows})
        if len(self.samples) > self.max_samples:
            self.every *= 2
            self.samples = [s for s in self.samples if (s["step"] - 1) % self.every == 0]

    def _capture_detail(self, optimizer, rows):
        events = list(self._events or [])
        events.append({"kind": "step", "what": type(optimizer).__name__,
                       "text": f"|parameter change| = {math.sqrt(sum(r['update'] ** 2 for r in rows)):.6g}"})
        explains = {}
        if self._explains is not None:
            explains = {i: str(e) for i, e in self._explains.items() if e.sections}
            for e in reversed(list(self._explains.values())):  # each unwraps zero_grad: last first
                e.remove()  # from this global hook: the optimizer's own hooks have all run
            self._explains = None
        collapsed = None
        if self._drawing is not None and self._trace is not None:
            collapsed = _collapse_readable(self._drawing, self._trace)
        self.detail = {"step": self.steps, "collapsed": collapsed, "optimizer": type(optimizer).__name__, "events": events,
                       "params": rows, "drawing": self._drawing, "hist": _effective_lr(optimizer),
                       "explain": explains,
                       "group": {k: v for k, v in optimizer.param_groups[0].items()
                                 if k != "params" and isinstance(v, (int, float, str, bool, tuple))}}

    def _setup(self):
        """After step 1: start the doctor, and explain for step 2."""
        self._setup_pending = False
        optimizer = self.optimizer
        if self.model is not None:
            if self.use_doctor:
                from ..doctor import watch

                try:
                    self.doctor = watch(self.model, optimizer).start()
                except Exception:  # noqa: BLE001 - the x-ray never breaks the user's run
                    self.doctor = None
        from ..doctor import explain

        # removed by _capture_detail right after step 2 (steps=2 only keeps it from unhooking
        # itself before the x-ray has read it)
        self._explains = {i: explain(optimizer, p, steps=2, show=False)
                          for i, p in enumerate(self._params(optimizer)) if p.requires_grad}

    # ------------------------------------------------------------ results
    def names(self):
        """Parameter names by optimizer order (from the model when it was found)."""
        params = self._params(self.optimizer) if self.optimizer is not None else []
        known = {}
        if self.model is not None:
            known = {id(p): n for n, p in self.model.named_parameters()}
        out = []
        for gi, g in enumerate(self.optimizer.param_groups if self.optimizer else []):
            for pi, p in enumerate(g["params"]):
                out.append(known.get(id(p), f"param_groups[{gi}][{pi}]"))
        return out[:len(params)]

    def findings(self):
        if self.doctor is None:
            return []
        self.doctor._commit_pending()
        return list(self.doctor.findings)

    def write(self, path):
        from .page import render_page

        with open(path, "w", encoding="utf-8") as f:
            f.write(render_page(self))
        return path


def _collapse_readable(drawing, trace, max_boxes=40):
    """The deepest module collapse (``depth`` 1, 2, ...) that stays within ``max_boxes`` boxes."""
    best = _collapse(drawing, 1, trace)
    for depth in range(2, 8):
        c = _collapse(drawing, depth, trace)
        if len(c.nodes) > max_boxes or len(c.nodes) == len(best.nodes) == len(drawing.nodes):
            break
        best = c
    return best


def _effective_lr(optimizer, bins=24):
    """Per parameter: histogram of log10(lr / (sqrt(v_hat) + eps)) for Adam-style state."""
    out = {}
    i = 0
    for g in optimizer.param_groups:
        betas, eps, lr = g.get("betas"), g.get("eps"), g.get("lr")
        for p in g["params"]:
            st = optimizer.state.get(p, {})
            v = st.get("max_exp_avg_sq") if g.get("amsgrad") else None
            v = st.get("exp_avg_sq") if v is None else v
            if v is not None and betas is not None and eps is not None and "step" in st:
                t = float(st["step"]) if not hasattr(st["step"], "_data") else float(st["step"]._data)
                v_hat = v._data.astype(np.float64) / (1 - float(betas[1]) ** t)
                eff = float(lr) / (np.sqrt(v_hat) + float(eps))
                logs = np.log10(eff.ravel())
                counts, edges = np.histogram(logs, bins=bins)
                out[i] = {"counts": counts.tolist(), "edges": edges.tolist(),
                          "min": float(eff.min()), "max": float(eff.max()),
                          "median": float(np.median(eff))}
            i += 1
    return out


def _find_model(params):
    """The Module holding the most of ``params`` (the top-level model), or None."""
    from ..nn.modules.module import Module

    ids = {id(p) for p in params}
    best, best_n = None, 0
    for obj in gc.get_objects():
        if issubclass(type(obj), Module):  # type(): no __class__ lookup on arbitrary objects
            try:
                n = sum(1 for p in obj.parameters() if id(p) in ids)
            except Exception:  # noqa: BLE001 - a half-built module
                continue
            if n > best_n or (n == best_n and n and best is not None
                              and len(list(obj.modules())) > len(list(best.modules()))):
                best, best_n = obj, n
    return best


USAGE = "usage: gradstep xray [--out FILE] [--every N] SCRIPT [ARGS...]"


def page_path_problem(path):
    """Why the x-ray page cannot be written at ``path`` (checked before the run, which may be
    long, rather than when the page is written at its end), or None."""
    import os

    if os.path.isdir(path):
        return f"cannot write the x-ray page to '{path}': it is a folder; give a file name"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"cannot write the x-ray page '{path}': folder '{folder}' does not exist"
    existed = os.path.exists(path)
    try:  # the one sure test (permissions, read-only or special file systems): open it
        with open(path, "a", encoding="utf-8"):
            pass
        if not existed:
            os.remove(path)
    except OSError as e:
        return f"cannot write the x-ray page '{path}': {e.strerror or e}"
    return None


def xray_script(argv):
    """``gradstep xray [--out FILE] [--every N] SCRIPT [ARGS...]``: run a torch script, x-rayed.

    The script runs as ``gradstep run`` runs it (``import torch`` gives gradstep); the page is
    written when it ends (also when it fails) and its path printed. Returns the exit status.
    """
    import sys

    from .._run import run_script

    out, every = "xray.html", 1
    argv = list(argv)
    while argv and argv[0].startswith("-"):
        flag = argv.pop(0)
        key, _, value = flag.partition("=")
        if key in ("-h", "--help"):
            print(USAGE + "\n\nRun SCRIPT with `import torch` giving gradstep, record one training step in "
                  "detail\n(and samples of the run), and write one self-contained HTML page.\n\n"
                  "  --out FILE   the page (default xray.html)\n"
                  "  --every N    sample every N-th step to start with (default 1; the stride doubles\n"
                  "               whenever 64 samples would be passed)")
            return 0
        if key not in ("--out", "--every"):
            print(f"gradstep xray: error: unrecognized option '{key}'; {USAGE}", file=sys.stderr)
            return 2
        if not value:
            if not argv:
                print(f"gradstep xray: error: {key} needs a value; {USAGE}", file=sys.stderr)
                return 2
            value = argv.pop(0)
        if key == "--out":
            out = value
        else:
            try:
                every = int(value)
                if every < 1:
                    raise ValueError
            except ValueError:
                print(f"gradstep xray: error: --every needs a positive integer, got '{value}'",
                      file=sys.stderr)
                return 2
    if not argv:
        print(f"gradstep xray: error: no script given; {USAGE}", file=sys.stderr)
        return 2
    problem = page_path_problem(out)
    if problem:
        print(f"gradstep xray: error: {problem}", file=sys.stderr)
        return 2
    xray = XRay(every=every).start()
    status = 1
    try:
        status = run_script(argv[0], argv[1:])
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        xray.stop()
        if status != 2 or xray.steps:
            xray.write(out)
            print(f"gradstep xray: wrote {out}", file=sys.stderr)
    return status
