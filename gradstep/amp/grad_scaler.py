"""``torch.amp.GradScaler``: dynamic loss scaling for low-precision gradients.

``GradScaler('cpu')`` works as in torch: ``scale`` multiplies the loss by the scale,
``unscale_``/``step`` divide the gradients by it and skip ``optimizer.step()`` when
one is inf/NaN, ``update`` backs the scale off after an overflow and grows it after
``growth_interval`` clean steps. ``GradScaler('cuda')`` does what torch does
without a GPU: it warns and disables itself, and then every method is a pass-through.
"""

from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum

from .. import backend as B
from ..backend import xp

__all__ = ["OptState", "GradScaler"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _full(value, dtype):
    from .._creation import full

    return full((), value, dtype=dtype)


class GradScaler:
    """Scales the loss, unscales gradients, skips steps with inf/NaN gradients.

    Args: ``device`` ('cuda' or 'cpu'), ``init_scale`` (2**16), ``growth_factor`` (2.0),
    ``backoff_factor`` (0.5), ``growth_interval`` (2000), ``enabled`` (True).
    """

    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:  # gradstep has no GPU: torch's behaviour without one
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None  # float32 0-dim tensor, made by the first scale()
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None  # int32 0-dim tensor: consecutive unskipped steps
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname):
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) "
               "earlier in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self):
        self._scale = _full(self._init_scale, B.float32)
        self._growth_tracker = _full(self._init_growth_tracker, B.int32)

    # ------------------------------------------------------------ scaling
    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples of tensors) times the scale."""
        from .._tensor import Tensor

        if not self._enabled:
            return outputs

        def apply_scale(val):
            if isinstance(val, Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker()
                return val * self._scale
            if isinstance(val, abc.Iterable):
                it = map(apply_scale, val)
                return type(val)(it) if isinstance(val, (list, tuple)) else it
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        """Multiply every gradient by ``inv_scale`` (float32) in place; 1.0 if any is inf/NaN."""
        found_inf, seen = 0.0, False
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                g = param.grad._data
                if not allow_fp16 and g.dtype == xp.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                if not g.flags.writeable:  # a broadcast view: give the parameter its own copy
                    g = param.grad._data = g.copy()
                if not bool(xp.isfinite(g).all()):
                    found_inf = 1.0
                _mul_inplace(g, inv_scale)
                seen = True
        # one entry per device holding gradients (none without any: step() then complains)
        return {"cpu": _full(found_inf, B.float32)} if seen else {}

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale (once per step; ``step`` calls it)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in float64, rounded to float32, as torch
        inv_scale = xp.float32(1.0 / xp.float64(self._scale.item()))
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless done) and run ``optimizer.step(*args, **kwargs)`` unless a
        gradient is inf/NaN; returns what ``optimizer.step`` returned, or None if skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """Back off after a skipped step, grow after ``growth_interval`` clean ones, or
        set ``new_scale`` (a float or a one-element tensor)."""
        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if new_scale.device.type != self._device or new_scale.numel() != 1 or \
                        new_scale.requires_grad is True:
                    raise AssertionError(reason)
                scale.copy_(new_scale.reshape(()))
        else:
            found = [f.item() for st in self._per_optimizer_states.values()
                     for f in st["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            s, t = _update_scale(scale.item(), int(tracker.item()), sum(found),
                                 self._growth_factor, self._backoff_factor,
                                 self._growth_interval)
            scale._data[...] = s
            tracker._data[...] = t
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # ------------------------------------------------------------ accessors
    def _get_scale_async(self):
        return self._scale

    def get_scale(self):
        """The current scale as a Python float (1.0 when disabled)."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else \
                int(self._growth_tracker.item())
        return 0

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """scale, growth_factor, backoff_factor, growth_interval, _growth_tracker ({} if disabled)."""
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor,
                    "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


def _mul_inplace(g, inv_scale):
    """``g *= inv_scale`` computed in g's accumulation type (float32 for 16-bit floats)."""
    if g.dtype == xp.float32:
        xp.multiply(g, inv_scale, out=g)
    elif g.dtype == xp.float64:
        xp.multiply(g, xp.float64(inv_scale), out=g)
    else:  # float16 / bfloat16: float32 product, one rounding
        g[...] = (g.astype(xp.float32) * inv_scale).astype(g.dtype)


def _update_scale(scale, tracker, found_inf, growth_factor, backoff_factor, growth_interval):
    """torch's ``_amp_update_scale_``: the new float32 scale and growth tracker."""
    if found_inf:
        return xp.float32(scale * backoff_factor), 0
    successful = tracker + 1
    if successful == growth_interval:
        with xp.errstate(over="ignore"):  # an overflow to inf is caught just below
            grown = xp.float32(scale * growth_factor)
        return (grown if xp.isfinite(grown) else xp.float32(scale)), 0
    return xp.float32(scale), successful
