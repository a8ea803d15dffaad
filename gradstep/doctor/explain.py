"""``explain``: what zero_grad, backward and step do to one parameter, number by number.

The update is re-derived from the optimizer's own group settings and state (read
before the step) in float64, term by term, and compared with what the optimizer
actually wrote, so every printed term is checked against the real update:

* SGD: maximize, weight decay, momentum buffer (first step / dampening), nesterov;
* the Adam family (Adam, AdamW): maximize, L2 or decoupled weight decay, both moments,
  AMSGrad, the bias corrections and eps;
* any other optimizer: its group settings and each state tensor before and after, and the
  actual change of the parameter (not re-derived).
"""

from __future__ import annotations

import dataclasses
import math
import sys

from .._tensor import Tensor
from ..backend import xp


@dataclasses.dataclass
class Term:
    """One named quantity of the update: ``value`` is a float64 array (or a float)."""

    name: str
    value: object
    note: str = ""


@dataclasses.dataclass
class StepExplanation:
    """One explained step: the terms, the parameter before/after and the re-derived after."""

    step: int
    terms: list
    param_before: object
    param_after: object
    predicted_after: object  # None when the optimizer has no detailed explainer
    text: str = ""

    @property
    def max_error(self):
        """max |re-derived - actual| over the parameter (None if not re-derived)."""
        if self.predicted_after is None:
            return None
        return float(xp.max(xp.abs(self.predicted_after - self.param_after))) if self.param_after.size else 0.0


def explain(optimizer, param=None, steps=1, *, file=None, show=True):
    """Explain the next ``steps`` optimizer steps for ``param`` (default: group 0's first).

    Returns an ``Explanation``; each step's text is printed (to ``file``, default stdout,
    unless ``show=False``) when the step completes, and ``str(explanation)`` is all of it.
    It stops by itself after ``steps`` steps (or use it as a context manager).
    """
    if param is None:
        param = optimizer.param_groups[0]["params"][0]
    group_index = _group_of(optimizer, param)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return Explanation(optimizer, param, group_index, steps, file, show)


def _group_of(optimizer, param):
    if not isinstance(param, Tensor):
        raise TypeError(f"param must be a Tensor of the optimizer, got {type(param).__name__}")
    for gi, group in enumerate(optimizer.param_groups):
        if any(p is param for p in group["params"]):
            return gi
    raise ValueError("param is not in any parameter group of the optimizer; pass one of its parameters")


class Explanation:
    """The hooks of one ``explain`` call and the steps explained so far (``sections``)."""

    def __init__(self, optimizer, param, group_index, steps, file, show):
        self.optimizer, self.param, self.group_index = optimizer, param, group_index
        self.steps, self.file, self.show = steps, file, show
        self.sections = []
        self._events = []
        self._before = None
        self._handles = [optimizer.register_step_pre_hook(self._pre_step),
                         optimizer.register_step_post_hook(self._post_step)]
        if param.requires_grad:
            self._handles.append(param.register_post_accumulate_grad_hook(self._on_grad))
        self._had_zero = "zero_grad" in optimizer.__dict__
        self._zero_before = optimizer.__dict__.get("zero_grad")
        original = optimizer.zero_grad

        def zero_grad(*args, **kwargs):
            had = param._grad is not None
            result = original(*args, **kwargs)
            after = "set to None" if param._grad is None else "zeroed in place"
            self._events.append(f"zero_grad: .grad {after}" if had else "zero_grad: .grad was already None")
            return result

        optimizer.__dict__["zero_grad"] = self._zero_wrapper = zero_grad
        self.active = True

    def __str__(self):
        return "\n".join(s.text for s in self.sections)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def remove(self):
        """Stop explaining (done automatically after ``steps`` steps)."""
        if not self.active:
            return
        for h in self._handles:
            h.remove()
        if self.optimizer.__dict__.get("zero_grad") is not self._zero_wrapper:
            pass  # something wrapped zero_grad on top of ours (a doctor.watch): leave its chain alone
        elif self._had_zero:
            self.optimizer.__dict__["zero_grad"] = self._zero_before
        else:
            self.optimizer.__dict__.pop("zero_grad", None)
        self.active = False

    # ------------------------------------------------------------ hooks
    def _on_grad(self, p):
        g = p._grad._data
        self._events.append(f"backward: gradient accumulated into .grad, now |grad| = {_norm(g):.8g}, "
                            f"first values {_first(g)}")

    def _pre_step(self, optimizer, args, kwargs):
        p = self.param
        group = optimizer.param_groups[self.group_index]
        self._before = dict(
            param=p._data.astype(xp.float64, copy=True),
            grad=None if p._grad is None else p._grad._data.astype(xp.float64, copy=True),
            state=_copy_state(optimizer.state.get(p, {})),
            group={k: _plain(v) for k, v in group.items() if k not in ("params", "param_names")},
        )

    def _post_step(self, optimizer, args, kwargs):
        b = self._before
        after = self.param._data.astype(xp.float64, copy=True)
        state_after = _copy_state(optimizer.state.get(self.param, {}))
        explainer = _EXPLAINERS.get(type(optimizer).__name__)
        if b["grad"] is None:
            terms, predicted = [Term("no gradient", 0.0, "the optimizer skips a parameter whose .grad is None")], \
                b["param"]
        elif explainer is None:
            terms, predicted = _generic_terms(b["state"], state_after), None
        else:
            terms, predicted = explainer(b["grad"], b["param"], b["state"], b["group"])
        section = StepExplanation(len(self.sections) + 1, terms, b["param"], after, predicted)
        section.text = self._format(section, b, state_after)
        self.sections.append(section)
        self._events = []
        if self.show:
            print(section.text, file=self.file or sys.stdout)
        if len(self.sections) >= self.steps:
            self.remove()

    # ------------------------------------------------------------ text
    def _format(self, s, before, state_after):
        opt = type(self.optimizer).__name__
        settings = ", ".join(f"{k}={v}" for k, v in before["group"].items()
                             if k not in ("foreach", "fused", "differentiable", "capturable", "initial_lr"))
        lines = [f"explain step {s.step}: {opt} on parameter of shape {list(self.param.shape)} "
                 f"(param group {self.group_index}: {settings})"]
        events = self._events or ["(no zero_grad or backward seen since the previous step)"]
        lines += [f"  {e}" for e in events]
        if before["grad"] is not None:
            lines.append(f"  gradient at step: |grad| = {_norm(before['grad']):.8g}, first values "
                         f"{_first(before['grad'])}")
        lines.append("  update terms:")
        for t in s.terms:
            value = t.value
            if isinstance(value, float):
                shown = f"{value:.10g}"
            else:
                shown = f"|.| = {_norm(value):.8g}, first values {_first(value)}"
            lines.append(f"    {t.name}: {shown}" + (f"   [{t.note}]" if t.note else ""))
        lines.append(f"  param before: first values {_first(s.param_before)}")
        lines.append(f"  param after:  first values {_first(s.param_after)}  (actual, |change| = "
                     f"{_norm(s.param_after - s.param_before):.8g})")
        if s.predicted_after is not None:
            lines.append(f"  re-derived from the terms above: first values {_first(s.predicted_after)}; "
                         f"max |re-derived - actual| = {s.max_error:.3g}")
        else:
            for key, value in state_after.items():
                old = before["state"].get(key)
                lines.append(f"  state '{key}': {_describe(old)} -> {_describe(value)}")
        return "\n".join(lines)


# ---------------------------------------------------------------- per-optimizer explainers
def _explain_sgd(grad, param, state, group):
    terms = []
    lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
    g = grad
    if group.get("maximize"):
        g = -g
        terms.append(Term("g = -grad", g, "maximize=True"))
    if wd != 0:
        decay = wd * param
        terms.append(Term(f"weight decay: weight_decay * param = {wd:g} * param", decay))
        g = g + decay
        terms.append(Term("g = grad + weight decay", g))
    if momentum != 0:
        prev = state.get("momentum_buffer")
        if prev is None:
            buf = g
            terms.append(Term("momentum buffer b = g", buf, "first step: the buffer starts as the gradient"))
        else:
            damp = group["dampening"]
            terms.append(Term(f"momentum * b_prev = {momentum:g} * b_prev", momentum * prev))
            terms.append(Term(f"(1 - dampening) * g = {1 - damp:g} * g", (1 - damp) * g))
            buf = momentum * prev + (1 - damp) * g
            terms.append(Term("momentum buffer b = momentum * b_prev + (1 - dampening) * g", buf))
        if group.get("nesterov"):
            g = g + momentum * buf
            terms.append(Term(f"nesterov: d = g + momentum * b = g + {momentum:g} * b", g))
        else:
            g = buf
            terms.append(Term("d = b", g))
    update = -lr * g
    terms.append(Term(f"update = -lr * d = -{lr:g} * d", update))
    return terms, param + update


def _explain_adam(grad, param, state, group):
    terms = []
    lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    g = grad
    theta = param
    if group.get("maximize"):
        g = -g
        terms.append(Term("g = -grad", g, "maximize=True"))
    if wd != 0:
        if group.get("decoupled_weight_decay"):
            decay = -lr * wd * param
            terms.append(Term(f"decoupled weight decay: -lr * weight_decay * param = -{lr:g} * {wd:g} * param",
                              decay))
            theta = param + decay
        else:
            terms.append(Term(f"L2 weight decay: weight_decay * param = {wd:g} * param", wd * param))
            g = g + wd * param
            terms.append(Term("g = grad + weight decay", g))
    t = float(state["step"]) + 1 if "step" in state else 1.0
    m_prev = state.get("exp_avg", xp.zeros_like(param))
    v_prev = state.get("exp_avg_sq", xp.zeros_like(param))
    m = beta1 * m_prev + (1 - beta1) * g
    v = beta2 * v_prev + (1 - beta2) * g * g
    terms.append(Term(f"step t = {t:g}", t))
    terms.append(Term(f"first moment m = {beta1:g} * m_prev + {1 - beta1:g} * g", m))
    terms.append(Term(f"second moment v = {beta2:g} * v_prev + {1 - beta2:g} * g^2", v))
    if group.get("amsgrad"):
        v = xp.maximum(state.get("max_exp_avg_sq", xp.zeros_like(param)), v)
        terms.append(Term("amsgrad: v_max = max(v_max_prev, v), used instead of v", v))
    bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
    terms.append(Term(f"bias correction 1 - beta1^t = 1 - {beta1:g}^{t:g}", bc1))
    terms.append(Term(f"bias correction 1 - beta2^t = 1 - {beta2:g}^{t:g}", bc2))
    terms.append(Term("m_hat = m / (1 - beta1^t)", m / bc1))
    denom = xp.sqrt(v) / math.sqrt(bc2) + eps
    terms.append(Term(f"denominator sqrt(v / (1 - beta2^t)) + eps (eps = {eps:g})", denom))
    update = -lr * (m / bc1) / denom
    terms.append(Term(f"update = -lr * m_hat / denominator = -{lr:g} * m_hat / denominator", update))
    return terms, theta + update


_EXPLAINERS = {"SGD": _explain_sgd, "Adam": _explain_adam, "AdamW": _explain_adam}


def _generic_terms(before, after):
    terms = []
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, float):
            terms.append(Term(f"state '{key}' after", value, f"before: {old}"))
        else:
            terms.append(Term(f"state '{key}' after", value,
                              "new this step" if old is None else f"before: |.| = {_norm(old):.8g}"))
    return terms


# ---------------------------------------------------------------- helpers
def _copy_state(state):
    """The optimizer state of one parameter as float64 arrays (0-d entries as floats)."""
    out = {}
    for key, value in state.items():
        if isinstance(value, Tensor):
            data = value._data
            out[key] = float(data.reshape(())) if data.size == 1 and data.ndim == 0 else \
                data.astype(xp.float64, copy=True)
        elif isinstance(value, (int, float)):
            out[key] = float(value)
    return out


def _plain(value):
    if isinstance(value, Tensor):
        return float(value.item()) if value.numel() == 1 else value
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _norm(a):
    a = xp.asarray(a, dtype=xp.float64).reshape(-1)
    return math.sqrt(float(xp.dot(a, a)))


def _first(a, n=4):
    flat = xp.asarray(a).reshape(-1)
    values = ", ".join(f"{float(v):.10g}" for v in flat[:n])
    return f"[{values}{', ...' if flat.size > n else ''}]"


def _describe(value):
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:.10g}"
    return f"|.| = {_norm(value):.8g} {_first(value)}"
