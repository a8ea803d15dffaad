"""``watch``: the doctor's hooks around a user's training loop.

What is hooked while watching (everything is restored on exit):

* the optimizer's step pre/post hooks: gradients, parameters and the update;
* ``optimizer.zero_grad`` and ``model.zero_grad`` (wrapped on the instances): when grads are reset;
* the model's forward pre-hook (the root module only): train/eval mode, grad mode and the
  last input batch (kept to re-run the forward pass when a loss is NaN);
* ``Tensor.backward`` (wrapped on the class): the loss value, how many backward calls a
  step gets, and the plain-words explanation of a backward on a tensor without a graph.
  The doctor therefore sees ``loss.backward()``, not ``gradstep.autograd.backward(loss)``
  (gradients from such calls are still checked at ``step()``). Only backward calls made in
  the thread that started watching or one that ran the model's forward count: another
  thread's backward on an unrelated graph passes straight through;
* the scheduler is only read (its step count and ``last_epoch``) at each optimizer step: wrapping
  its ``step`` would put a function into its ``state_dict()``.

Cost: every step gets a few Python checks and reads the loss (one float). The expensive
evidence is gathered on *checked* steps only (the first 10, then every ``check_every``-th,
default 10): one squared norm per optimizer parameter after each backward (non-finite, missing
and all-zero gradients), the graph kept through backward so a NaN gradient can be traced to
its op (then freed, see ``_backward``), and on some of them (2-6, then every 50th, and 5 in a
row when the lr was raised) a copy of the parameters to measure the update. Between checked steps the cheap signals stand guard:
a step without backward() is checked at once; a NaN gradient makes the parameters non-finite,
so the next loss is non-finite and the doctor then names the parameters that the update
spoiled (``_lazy_nonfinite_grad``); persistent mistakes (unused parameters, a loss not
connected) show on the next checked step. No per-op tracing: that only happens in the re-run
made to locate a NaN.
"""

from __future__ import annotations

import math
import threading
import weakref

from .. import nn
from .._tensor import Tensor
from ..autograd.grad_mode import _GradState
from ..backend import xp
from . import checks
from .checks import Finding, is_finite_array, names_list
from .locate import anomaly_backward, rerun_forward

_FIRST_CHECKED = 10  # the first steps are all checked in full (see the module docstring)
_RATIO_EVERY = 50  # after step 6, the update-to-weight ratio is measured every this many steps
_SPECIAL = (nn.Dropout, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
for _name in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"):
    if hasattr(nn, _name):
        _SPECIAL += (getattr(nn, _name),)


def watch(model, optimizer, scheduler=None, **options):
    """Watch a training loop: ``with watch(model, optimizer) as dr: ...`` then ``dr.report()``.

    Options: ``unused_steps=5`` (steps without a gradient before a parameter is reported),
    ``ratio_band=(1e-4, 1e-2)`` and ``ratio_slack=10.0`` (the healthy update-to-weight band
    and how far outside it is reported), ``flat_steps=30`` (steps before a flat loss is
    reported), ``steps_per_epoch`` (if known: an epoch of one batch makes any cadence
    per-epoch), ``diagnose=True`` (re-run a forward or backward to locate a NaN),
    ``check_every=10`` (after the first 10 steps, gather the costly evidence every this many
    steps; 1 checks every gradient of every step and always names the op of a NaN gradient).
    """
    return Doctor(model, optimizer, scheduler, **options)


class Doctor:
    """The state of one watch; ``findings`` holds each distinct finding once."""

    def __init__(self, model, optimizer, scheduler=None, *, unused_steps=5, ratio_band=(1e-4, 1e-2),
                 ratio_slack=10.0, flat_steps=30, steps_per_epoch=None, diagnose=True, check_every=10):
        if not isinstance(model, nn.Module):
            raise TypeError(f"watch() expects an nn.Module as model, got {type(model).__name__}")
        if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "register_step_pre_hook"):
            raise TypeError(f"watch() expects a gradstep.optim optimizer, got {type(optimizer).__name__}")
        if scheduler is not None and not hasattr(scheduler, "step"):
            raise TypeError(f"watch() expects an lr scheduler or None, got {type(scheduler).__name__}")
        if not isinstance(check_every, int) or isinstance(check_every, bool) or check_every < 1:
            raise ValueError(f"watch(): check_every must be a positive int (1: check every step), got {check_every!r}")
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.unused_steps, self.ratio_band, self.ratio_slack = unused_steps, ratio_band, ratio_slack
        self.flat_steps, self.steps_per_epoch, self.diagnose = flat_steps, steps_per_epoch, diagnose
        self.check_every = check_every
        self.findings = []
        self._codes = set()
        self.steps = 0
        self._active = False
        self._threads = set()
        self._undo = []
        self._names = {id(p): n for n, p in model.named_parameters()}
        self._special = [m for m in model.modules() if isinstance(m, _SPECIAL)]
        self._layout = None
        self._trend = checks.LossTrend()
        self._ratios = {}
        self._no_grad_steps = {}
        self._grad_ref = None
        self._sched_steps = 0
        self._last_args = None
        self._last_forward_grad = None
        self._pending_eval = None
        self._train_forward_training = None
        self._ratio_lrs = None  # the lr of each group at the last measured update
        self._ratio_burst = 0  # steps left to measure in a row (the lr moved)
        self._last_checked = 0  # the last step whose gradients were all checked finite (0: none yet)
        self._before = None  # (param, its data before the step) on the steps that measure the update
        self._begin_step()

    # ------------------------------------------------------------ public
    def report(self):
        """Every finding with its evidence and fix, as text."""
        self._commit_pending()
        if not self.findings:
            return f"gradstep doctor: no problems found over {self.steps} optimizer steps."
        head = (f"gradstep doctor: {len(self.findings)} finding{'s' if len(self.findings) > 1 else ''} "
                f"over {self.steps} optimizer steps")
        return "\n".join([head] + [str(f) for f in self.findings])

    def start(self):
        """Install the hooks (``with watch(...)`` calls this)."""
        if self._active:
            return self
        self._active = True
        self._threads = {threading.get_ident()}  # threads whose backward calls are this model's
        opt, model = self.optimizer, self.model
        self._undo.append(opt.register_step_pre_hook(self._pre_step).remove)
        self._undo.append(opt.register_step_post_hook(self._post_step).remove)
        self._undo.append(model.register_forward_pre_hook(self._pre_forward, with_kwargs=True).remove)
        self._wrap(opt, "zero_grad", self._on_zero_grad)
        self._wrap(model, "zero_grad", self._on_zero_grad)
        self._sched_start = _sched_count(self.scheduler)
        self._opt_stepped_before = bool(getattr(opt, "_opt_called", False))
        original = Tensor.backward
        doctor = self

        def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            return doctor._backward(original, tensor, gradient, retain_graph, create_graph, inputs)

        Tensor.backward = backward
        self._undo.append(lambda: setattr(Tensor, "backward", original))
        return self

    def stop(self):
        """Remove every hook and wrapper (``with`` calls this on exit)."""
        self._commit_pending()
        while self._undo:
            self._undo.pop()()
        self._active = False
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------ plumbing
    def _wrap(self, obj, name, before):
        """Replace ``obj.name`` by a function that calls ``before()`` then the original."""
        had = name in obj.__dict__
        previous = obj.__dict__.get(name)
        original = getattr(obj, name)

        def wrapper(*args, **kwargs):
            before()
            return original(*args, **kwargs)

        obj.__dict__[name] = wrapper

        def undo():
            if obj.__dict__.get(name) is not wrapper:
                return  # wrapped again on top of ours (explain, another watch): leave their chain alone
            if had:
                obj.__dict__[name] = previous
            else:
                obj.__dict__.pop(name, None)

        self._undo.append(undo)

    def _add(self, code, title, evidence, fix):
        if code in self._codes:
            return
        self._codes.add(code)
        self.findings.append(Finding(code, title, evidence, fix, self.steps))

    def _name(self, p):
        name = self._names.get(id(p))
        if name is not None:
            return name
        for gi, group in enumerate(self.optimizer.param_groups):
            for pi, q in enumerate(group["params"]):
                if q is p:
                    return f"param_groups[{gi}]['params'][{pi}]"
        return f"tensor of shape {list(p.shape)}"

    def _params(self):
        """(optimizer params, their group index, model params outside the optimizer), cached."""
        groups = self.optimizer.param_groups
        key = [len(g["params"]) for g in groups]
        if self._layout is None or self._layout[0] != key:
            params, owner = [], []
            for gi, g in enumerate(groups):
                params.extend(g["params"])
                owner.extend([gi] * len(g["params"]))
            ids = {id(p) for p in params}
            outside = [p for p in self.model.parameters() if id(p) not in ids and p.requires_grad]
            self._layout = (key, params, owner, outside)
        return self._layout[1:]

    def _begin_step(self):
        """Reset what is counted between two optimizer steps."""
        self._backwards = 0
        self._forwards = 0
        self._losses = []
        self._scaled = []
        self._zero_calls = 0
        self._zero_after_backward = False
        self._last_event = None
        self._sumsq = None  # per-parameter squared gradient norms, when measured this step
        self._first_total = None
        self._total = 0.0
        n = self.steps + 1
        self._checked = n <= _FIRST_CHECKED or n % self.check_every == 0 or n % _RATIO_EVERY == 0 \
            or self._ratio_burst > 0

    def _want_ratio(self):
        """Steps that measure the update-to-weight ratio (a copy of the parameters): 2-6 for a
        first verdict, then every 50th (a copy costs), and 5 steps in a row from a checked step
        that finds an lr more than 2x above the one of the last measurement (raised by hand or
        by a warmup: a decaying schedule lowering it is meant)."""
        n = self.steps + 1
        return 2 <= n <= 6 or n % _RATIO_EVERY == 0 or self._ratio_burst > 0 or self._lr_moved()

    def _group_lrs(self):
        return [float(lr.item() if isinstance(lr, Tensor) else lr)
                for lr in (g["lr"] for g in self.optimizer.param_groups)]

    def _lr_moved(self):
        last = self._ratio_lrs
        if last is None:
            return False
        now = self._group_lrs()
        if len(now) == len(last) and all(a <= b * 2 for a, b in zip(now, last)):
            return False
        self._ratio_burst = 5
        return True

    def _grad_sumsq(self):
        """Squared gradient norm of every optimizer parameter (None: no gradient); sets ``_total``,
        their sum (non-finite exactly when some gradient is)."""
        out = []
        total = 0.0
        for p in self._params()[0]:
            g = p._grad
            if g is None:
                out.append(None)
            else:
                d = g._data
                s = float(xp.vdot(d, d)) if d.dtype.kind == "f" else float((d * d).sum())
                out.append(s)
                total += s
        self._total = total
        return out

    # ------------------------------------------------------------ model hooks
    def _pre_forward(self, module, args, kwargs):
        self._threads.add(threading.get_ident())
        grad = self._last_forward_grad = _GradState.enabled
        if grad:
            self._forwards += 1
            self._last_args = (args, kwargs)
            self._train_forward_training = module.training
        if self._pending_eval:
            self._commit_pending()
        if not grad and self._special and any(m.training for m in self._special):
            kinds = sorted({type(m).__name__ for m in self._special if m.training})
            # pending: a backward() on this forward's loss shows it was a training step run under
            # no_grad by mistake (finding 11), not an evaluation
            self._pending_eval = (
                "train-mode-eval", "Evaluating in train() mode",
                f"the model ran a forward pass under no_grad() while in train() mode; its "
                f"{', '.join(kinds)} layer(s) then behave as in training (dropout drops units, "
                f"BatchNorm uses and updates batch statistics)",
                "call model.eval() before evaluating and model.train() before training again")

    def _commit_pending(self):
        if self._pending_eval:
            self._add(*self._pending_eval)
            self._pending_eval = None

    def _on_zero_grad(self):
        self._zero_calls += 1
        if self._last_event == "backward":
            self._zero_after_backward = True
        self._last_event = "zero_grad"

    # ------------------------------------------------------------ backward
    def _backward(self, original, tensor, gradient, retain_graph, create_graph, inputs):
        if not self._active or threading.get_ident() not in self._threads:
            return original(tensor, gradient, retain_graph, create_graph, inputs)
        if not tensor._rg:
            self._no_graph(tensor, original, gradient, retain_graph, create_graph, inputs)
        if self._backwards == 0:
            if self.steps > 0 and self._zero_calls == 0:
                self._check_stale_grads()
        elif self._backwards == 1 and self._first_total is None and self._scaled == [False]:
            # a second unscaled backward in one step (finding 10?): measure the first micro-batch
            self._grad_sumsq()
            self._first_total = self._total
        self._backwards += 1
        self._last_event = "backward"
        data = tensor._data
        loss = float(data.item()) if data.size == 1 else None
        if loss is not None:
            self._losses.append(loss)
            self._scaled.append(gradient is not None or checks.is_scaled_loss(tensor))
        loss_bad = loss is not None and not math.isfinite(loss)
        if loss_bad:
            self._nonfinite_loss(tensor, loss)
        if not self._checked:
            return original(tensor, gradient, retain_graph, create_graph, inputs)
        # A checked step: keep the graph through this backward, so that if it makes a NaN gradient
        # the doctor can run it again under anomaly mode to name the op; then free it as backward
        # would have.
        keep = self.diagnose and retain_graph is None and not create_graph and inputs is None \
            and "non-finite-grad" not in self._codes
        result = original(tensor, gradient, True if keep else retain_graph, create_graph, inputs)
        self._sumsq = self._grad_sumsq()
        if self._first_total is None:
            self._first_total = self._total
        if not loss_bad and not math.isfinite(self._total):
            self._nonfinite_grad(tensor if keep else None, gradient)
        if keep:
            _release_graph(tensor)
        return result

    def _no_graph(self, tensor, original, gradient, retain_graph, create_graph, inputs):
        """Backward on a tensor that has no graph: explain why, in plain words, and raise."""
        try:
            original(tensor, gradient, retain_graph, create_graph, inputs)
        except RuntimeError as e:
            error = e
        else:  # pragma: no cover - the engine always refuses
            return
        if not any(p.requires_grad for p in self.model.parameters()):
            why = "no parameter of the model requires grad (requires_grad_(False) on all of them)"
            fix = "set requires_grad_(True) on the parameters you train"
        elif self._last_forward_grad is False:
            why = ("the forward pass that made this loss ran under no_grad() or inference_mode(), "
                   "so no graph was recorded")
            fix = "compute the loss outside no_grad(): keep no_grad() for evaluation only"
            self._pending_eval = None  # that forward was this training step, not an evaluation
        else:
            why = ("the loss was cut off from the graph: .detach(), .item()/float(), .numpy() or "
                   "gradstep.tensor(...) on an intermediate value, or a part computed under no_grad()")
            fix = "build the loss from the model output with tensor operations only, without detaching"
        self._add("backward-without-graph", "backward() on a loss that has no graph",
                  f"loss.backward() raised '{error}': {why}", fix)
        raise RuntimeError(f"{error}\n\ngradstep doctor: {why}. Fix: {fix}.") from error

    def _check_stale_grads(self):
        """Finding 1: the first backward after a step adds to the gradients of the previous step."""
        if self._grad_ref is None:
            return
        p, ref = self._grad_ref
        g = p._grad
        if g is None or ref() is not g or not g._data.any():
            return
        stale = [self._name(q) for q in self._params()[0] if q._grad is not None and q._grad._data.any()]
        if stale:
            self._add(
                "accumulating-grads", "Gradients accumulate across steps",
                f"backward() after step {self.steps} added to the gradients left from that step "
                f"(no zero_grad() in between) for {names_list(stale)}: each step uses the sum of "
                f"all gradients so far",
                "call optimizer.zero_grad() once per step (before backward() or after step())")

    # ------------------------------------------------------------ steps
    def _pre_step(self, optimizer, args, kwargs):
        if self._pending_eval:
            self._commit_pending()
        # with a closure (LBFGS) the gradients are made inside step(): no gradient checks
        closure = args[1] if len(args) > 1 else kwargs.get("closure")  # args[0]: the optimizer
        # the gradient checks run on checked steps, and at once on a step with no backward(), with
        # a zero_grad() after it, or with several (accumulation); a plain step between checked
        # ones costs a few reads
        if closure is None:
            if self._checked or self._backwards == 0 or self._zero_after_backward:
                self._check_grads()
            elif self._backwards > 1:
                self._check_accumulation()
        if self._special and self._train_forward_training is False:
            self._check_modes()
        if self.scheduler is not None:
            self._check_scheduler()

    def _check_grads(self):
        params, owner, outside = self._params()
        if self._sumsq is None or self._last_event == "zero_grad":
            self._sumsq = self._grad_sumsq()
        sumsq = self._sumsq
        if self._total == 0.0:  # no gradient at all, or all exactly zero
            self._check_no_grads(params, sumsq)
        else:
            self._check_unused(params, sumsq)
        if outside:
            self._check_outside(outside)
        if self._backwards > 1:
            self._check_accumulation()
        # (a closure step never gets here: LBFGS runs several inner iterations, the per-step band
        # does not apply)
        if self._total != 0.0 and self._want_ratio():
            self._before = self._snapshot(params)

    def _post_step(self, optimizer, args, kwargs):
        self.steps += 1
        if self._sumsq is not None and math.isfinite(self._total):
            self._last_checked = self.steps  # its gradients were all seen finite
        if self._before is not None:
            self._check_ratio()
            self._before = None
        # the first gradient left by this step, to tell if the next backward adds to it
        self._grad_ref = None
        for p in self._layout[1] if self._layout is not None else self._params()[0]:
            if p._grad is not None:
                self._grad_ref = (p, weakref.ref(p._grad))
                break
        losses = self._losses
        if losses:
            self._check_loss_trend(losses[0] if len(losses) == 1 else sum(losses) / len(losses))
        self._begin_step()

    def _check_modes(self):
        if not any(m.training for m in self._special):
            kinds = sorted({type(m).__name__ for m in self._special})
            self._add("eval-mode-training", "Training in eval() mode",
                      f"step() after a forward pass in eval() mode: the model's {', '.join(kinds)} "
                      f"layer(s) run as at inference (no dropout, BatchNorm frozen on running statistics)",
                      "call model.train() before the training loop (and again after each evaluation)")

    def _check_no_grads(self, params, sumsq):
        if self._zero_after_backward:
            self._add("zero-grad-before-step", "zero_grad() between backward() and step()",
                      "zero_grad() ran after backward() and before step(), so step() found no "
                      "gradients and did nothing",
                      "order each iteration as zero_grad(), forward, backward(), step()")
            return
        if self._backwards == 0:
            why = "backward() was not called since the previous step"
        elif all(s is None for s in sumsq):
            why = (f"backward() ran {self._backwards} time(s) but no parameter of the optimizer got a "
                   "gradient: the loss is not connected to them")
        else:
            why = "every gradient is exactly zero"
        self._add("no-grads", "step() with no gradients",
                  f"step() was called with no gradient on any of its {len(params)} parameters: {why}",
                  "call loss.backward() before optimizer.step(), on a loss computed from the model's "
                  "output (not from detached values)")

    def _check_unused(self, params, sumsq):
        """Finding 4: a parameter without a gradient for ``unused_steps`` steps in a row."""
        counts = self._no_grad_steps
        if not counts and all(sumsq):  # the common case: every parameter has a gradient
            return
        newly = []
        for p, s in zip(params, sumsq):
            if s:  # a gradient, not all zero (NaN counts as one)
                if counts:
                    counts.pop(id(p), None)
                continue
            c = counts.get(id(p), 0) + 1
            counts[id(p)] = c
            if c == self.unused_steps:
                newly.append(self._name(p))
        if newly:
            self._add("params-without-grad", "Parameters that never receive a gradient",
                      f"{names_list(newly)} got no gradient (None or exactly zero) in {self.unused_steps} "
                      f"checked steps in a row (the doctor checks steps 1-{_FIRST_CHECKED}, then one step in "
                      f"{self.check_every}; the last was step {self.steps + 1}), while other parameters "
                      "did: unused in forward, cut off by detach()/no_grad(), or dead (ReLUs that never "
                      "activate, e.g. after a too large update)",
                      "use them in the forward pass (without detach()/no_grad()), or remove them from "
                      "the optimizer / set requires_grad_(False) if they are frozen on purpose")

    def _check_outside(self, outside):
        got = [self._name(p) for p in outside if p._grad is not None]
        if got:
            self._add("params-outside-optimizer", "Parameters with gradients that the optimizer does not update",
                      f"{names_list(got)} receive gradients but are in no parameter group of the "
                      "optimizer, so step() never changes them",
                      "build the optimizer from model.parameters() (or add them with "
                      "optimizer.add_param_group), or set requires_grad_(False) if they are frozen")

    def _check_accumulation(self):
        """Finding 10: k backward calls per step (k forward passes) on losses not divided by k."""
        k = self._backwards
        if k < 2 or self._forwards != k or len(self._scaled) != k or any(self._scaled) \
                or "unscaled-accumulation" in self._codes:
            return
        if self._sumsq is None or self._last_event == "zero_grad":
            self._sumsq = self._grad_sumsq()
        norm, first = math.sqrt(self._total), math.sqrt(self._first_total or 0.0)
        growth = norm / first if first else float("nan")
        self._add("unscaled-accumulation", "Gradient accumulation without scaling the loss",
                  f"{k} forward/backward passes per step on losses that are not divided by {k}: the "
                  f"accumulated gradient norm is {norm:.4g}, {growth:.3g} times the first micro-batch's "
                  f"{first:.4g}, so each step is about {k} times larger than intended",
                  f"call (loss / {k}).backward() when accumulating {k} batches per step")

    def _snapshot(self, params):
        """(param, group index, copy of its data, its squared norm) for each parameter with a
        gradient. The copies live only until the step's end: keeping them between measured
        steps would hold a second copy of the model."""
        out = []
        for p, gi in zip(params, self._params()[1]):
            if p._grad is None:
                continue
            w = p._data.copy()
            flat = w.reshape(-1)
            out.append((p, gi, w, float(xp.dot(flat, flat))))
        return out

    def _check_ratio(self):
        """Finding 8: measured |delta w| / |w| per group, judged on the median of the last 5."""
        self._ratio_lrs = self._group_lrs()
        self._ratio_burst = max(self._ratio_burst - 1, 0)
        sums = {}
        for p, gi, before, ww in self._before:
            xp.subtract(p._data, before, out=before)  # the copy now holds the update
            d = before.reshape(-1)
            s = sums.setdefault(gi, [0.0, 0.0])
            s[0] += float(xp.dot(d, d))
            s[1] += ww
        for gi, (dd, ww) in sums.items():
            lr = self.optimizer.param_groups[gi]["lr"]
            lr = float(lr.item() if isinstance(lr, Tensor) else lr)
            if ww == 0 or lr == 0 or not math.isfinite(dd):
                continue
            ratios = self._ratios.setdefault(gi, [])
            ratios.append(math.sqrt(dd / ww))
            verdict = checks.judge_ratio(ratios, self.ratio_band, self.ratio_slack)
            if verdict is None:
                continue
            median = sorted(ratios[-5:])[2]
            lo, hi = self.ratio_band
            if verdict == "high":
                self._add("update-ratio-high", "Learning rate too high",
                          f"param group {gi} (lr {lr:g}): each step changes the weights by {median:.3g} of "
                          f"their norm (median of the last 5 measured steps); healthy is about {lo:g} to {hi:g}",
                          f"lower the lr (about {lr * hi / median / 3:.2g} would give ~{hi / 3:.1g})")
            else:
                self._add("update-ratio-low", "Learning rate too low",
                          f"param group {gi} (lr {lr:g}): each step changes the weights by only {median:.3g} "
                          f"of their norm (median of the last 5 measured steps); healthy is about {lo:g} to {hi:g}",
                          f"raise the lr (about {lr * lo / median * 10:.2g} would give ~{lo * 10:.1g})"
                          if median > 0 else "raise the lr (the weights did not move at all)")

    def _check_loss_trend(self, loss):
        if not math.isfinite(loss):
            return
        trend = self._trend
        div = trend.add(loss)
        if div is not None:
            self._add("loss-diverging", "Loss diverging",
                      f"the median loss of the last {checks.WINDOW} steps is {div[0]:.4g}, more than twice "
                      f"the best {checks.WINDOW}-step median so far ({div[1]:.4g})",
                      "lower the learning rate (or add warmup / gradient clipping)")
        flat = trend.flat(self.flat_steps)
        if flat is not None:
            self._add("loss-flat", "Loss flat",
                      f"after {trend.n} steps the loss has not moved: median {flat[1]:.6g} over the last "
                      f"{checks.WINDOW} steps against {flat[0]:.6g} over the first {checks.WINDOW}",
                      "check that the lr is not ~0 and that the parameters that matter get gradients "
                      "and are in the optimizer; then try a larger learning rate")

    # ------------------------------------------------------------ scheduler
    def _check_scheduler(self):
        sched = self.scheduler
        if sched is None:
            return
        self._sched_steps = _sched_count(sched) - self._sched_start
        if self.steps == 0 and self._sched_steps > 0 and not self._opt_stepped_before:
            self._add("scheduler-before-optimizer", "scheduler.step() before optimizer.step()",
                      "the first scheduler.step() came before any optimizer.step(), so the first value of "
                      "the schedule is skipped",
                      "call optimizer.step() first, then scheduler.step()")
        if self.steps_per_epoch == 1 or not checks.stepped_per_batch(self._sched_steps, self.steps):
            return
        horizon = checks.scheduler_horizon(sched)
        last = getattr(sched, "last_epoch", 0)
        if checks.overran_horizon(last, horizon):
            lr = sched.optimizer.param_groups[0]["lr"]
            base = sched.base_lrs[0]
            self._add("scheduler-per-batch", "Per-epoch lr scheduler stepped every batch",
                      f"{type(sched).__name__} is configured for {horizon:g} steps but was stepped "
                      f"{self._sched_steps} times in {self.steps} optimizer steps (last_epoch {last}); "
                      f"the lr went from {float(base):.3g} to {float(lr):.3g}",
                      "call scheduler.step() once per epoch (after the epoch's batches), or size the "
                      "schedule in batches (e.g. T_max = epochs * len(loader))")

    # ------------------------------------------------------------ non-finite values
    def _nonfinite_params(self):
        return [self._name(p) for p in self.model.parameters() if not is_finite_array(p._data)]

    def _nonfinite_loss(self, loss, value):
        if "non-finite-loss" in self._codes:
            return  # reported once: a diverged run does not pay for a re-run every step
        if "non-finite-grad" not in self._codes:
            self._lazy_nonfinite_grad()
        where = self._locate_loss_nan(loss) if self.diagnose else ""
        self._add("non-finite-loss", "Non-finite loss",
                  f"the loss given to backward() is {value}{where}",
                  "fix the operation named above (e.g. log/sqrt/division of 0 or negative values: use "
                  "log_softmax/clamp/eps), check the data for NaN, or lower the lr if it diverged; "
                  "re-run under gradstep.autograd.detect_anomaly() for the full traceback")

    def _nonfinite_grad(self, loss, gradient):
        params = self._params()[0]
        bad = [self._name(p) for p, s in zip(params, self._sumsq) if s is not None and not math.isfinite(s)]
        op = ""
        if loss is not None:
            op = anomaly_backward(loss, gradient)
        self._add("non-finite-grad", "Non-finite gradient",
                  f"the loss is finite but backward() made NaN/Inf gradients for {names_list(bad)}"
                  + (f"; under anomaly mode: {op}" if op else ""),
                  "fix the op named above (its backward divides by 0 or similar: e.g. sqrt/pow at 0, "
                  "norm of a zero vector; add an eps), or re-run under gradstep.autograd.detect_anomaly()")

    def _lazy_nonfinite_grad(self):
        """Finding 6 between checked steps: the losses so far were finite, but an update since
        the last checked step left parameters non-finite, so that step's gradients were."""
        bad = self._nonfinite_params()
        if not bad or self.steps <= self._last_checked:
            return
        every = self.check_every
        self._add("non-finite-grad", "Non-finite gradient",
                  f"the losses were finite, but the update of one of steps {self._last_checked + 1}-{self.steps} "
                  f"(after step {self._last_checked}, the last whose gradients were checked) made "
                  f"{names_list(bad)} non-finite: that step's gradients were NaN/Inf (or its update "
                  "overflowed). The doctor checks every "
                  f"gradient on the first {_FIRST_CHECKED} steps and then one step in {every}, so it could not "
                  "trace the op",
                  "re-run with watch(..., check_every=1) or under gradstep.autograd.detect_anomaly() to "
                  "name the op whose backward made it; then fix it (e.g. sqrt/pow at 0, norm of a zero "
                  "vector: add an eps), or lower the lr if the update overflowed")

    def _locate_loss_nan(self, loss):
        """Where the first non-finite value on the way to ``loss`` came from (text).

        The model's last forward pass is re-run with per-op checks (``_locate_in_model``); if
        the model's output is finite there, the NaN came from the loss computation, found
        among the values that the loss's graph saved.
        """
        where = self._locate_in_model()
        if where:
            return where
        node, note = checks.first_nonfinite_node(loss)
        if node is None:
            return f" ({note})"
        inside = "the model's output is finite; " if self._last_args is not None else ""
        return f"; {inside}the first op producing it is {node.name()} in the loss computation {note}".rstrip()

    def _locate_in_model(self):
        """Re-run the last forward pass with per-op checks to name the op that made the NaN
        ('' if the model's output is finite, or if the model's root module never ran)."""
        bad = self._nonfinite_params()
        if bad:
            return (f"; the model's parameters {names_list(bad)} are already non-finite "
                    "(an earlier update made them so: see the gradients and the lr)")
        if self._last_args is None:
            return ""
        args, kwargs = self._last_args
        if any(isinstance(a, Tensor) and not is_finite_array(a._data) for a in list(args) + list(kwargs.values())):
            return "; the input batch given to the model already contains NaN/Inf (check the data)"
        found = rerun_forward(self.model, args, kwargs)
        if not found:
            return ""
        parts = []
        if "op" in found:
            parts.append(f"the first op producing it is {found['op']}")
        if "module" in found:
            parts.append(f"in module {found['module']}")
        if "line" in found:
            parts.append(f"at {found['line']}")
        return "; " + " ".join(parts)


# ---------------------------------------------------------------- diagnostics helpers
def _sched_count(scheduler):
    """How many times ``scheduler.step()`` ran (its construction step not counted)."""
    if scheduler is None:
        return 0
    count = getattr(scheduler, "_step_count", None)
    return count if isinstance(count, int) else getattr(scheduler, "last_epoch", 0)


def _release_graph(tensor):
    """Free the saved tensors of ``tensor``'s graph, as a backward without retain_graph does."""
    root = tensor.grad_fn
    if root is None:
        return
    seen, stack = {root}, [root]
    while stack:
        node = stack.pop()
        node.release()
        for e in node._next:
            if e is not None and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
