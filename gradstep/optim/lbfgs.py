"""L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989), as torch.optim.LBFGS implements it (after
Mark Schmidt's minFunc), with an optional strong-Wolfe line search (Nocedal & Wright, Algorithm
3.5/3.6, ported in torch from the Lua torch/optim lswolfe).

One ``step(closure)`` runs up to ``max_iter`` iterations of::

    d <- -H g              two-loop recursion over the last history_size pairs (s, y)
    t <- lr                (first iteration ever: min(1, 1/|g|_1) * lr)
    t <- strong_wolfe(t)   if line_search_fn == 'strong_wolfe'
    theta <- theta + t d;  re-evaluate f and g
    stop when |g|_inf <= tolerance_grad, or progress in theta or f is below tolerance_change,
    or the evaluation budget max_eval is spent.

All parameters are treated as one flat vector. The scalars (step length, curvature ys, ...)
stay 0-d arrays of the parameters' dtype, so float32 runs round like torch's.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..backend import xp
from .optimizer import Optimizer, _as_scalar, _check_lr, _use_grad_for_differentiable


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = xp.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """Line search along ``d`` for a step ``t`` meeting the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns (loss, flat gradient) at ``x + t d``. Returns
    ``(f_new, g_new, t, evaluations)``. Bracketing phase, then zoom by cubic interpolation.
    """
    d_norm = xp.max(xp.abs(d))
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                          bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # a point too close to the bracket's ends makes little progress: move it inwards
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo fails or no better than the low end: the new point is the high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def lbfgs_direction(flat_grad, old_dirs, old_stps, ro, H_diag, al):
    """The two-loop recursion: ``-H g`` for the inverse-Hessian estimate built from the history
    (``old_dirs`` are the y's, ``old_stps`` the s's, ``ro`` = 1 / y.s). Fills ``al``."""
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = xp.dot(old_stps[i], q) * ro[i]
        q -= al[i] * old_dirs[i]
    r = q * H_diag
    for i in range(len(old_dirs)):
        be_i = xp.dot(old_dirs[i], r) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


def _as_tensor(value):
    """Wrap an array (or a 0-d array scalar) for the state dict; Python numbers stay as they are."""
    if isinstance(value, (int, float)) and not hasattr(value, "dtype"):
        return value
    return Tensor._make(xp.asarray(value))


def _as_array(value):
    if isinstance(value, Tensor):
        return value._data if value._data.ndim else value._data[()]
    return value


class LBFGS(Optimizer):
    """torch.optim.LBFGS: limited-memory BFGS over all parameters as one flat vector.

    ``step`` needs a closure that clears the gradients, re-evaluates the model, calls
    ``backward`` and returns the loss; it may be called several times per step. Only one
    parameter group is supported. The whole state lives under the first parameter's entry (as in
    torch, so ``load_state_dict`` casts it): ``func_evals``, ``n_iter``, ``d``, ``t``,
    ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # ------------------------------------------------------------ the flat vector
    def _gather_flat_grad(self):
        return xp.concatenate([  # a sparse gradient in its dense form, as torch's
            xp.zeros(p._data.size, p._data.dtype) if p.grad is None
            else p.grad.to_dense()._data.reshape(-1) for p in self._params
        ])

    def _add_grad(self, step_size, update):
        """theta <- theta + step_size * update, ``update`` being flat."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += step_size * update[offset:offset + n].reshape(p._data.shape)
            p._vc[0] += 1
            offset += n

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p._data[...] = data
            p._vc[0] += 1

    def _evaluate(self, closure):
        """Run the closure (with grad enabled); returns (float loss, flat gradient)."""
        loss = float(self._eval_closure(closure))
        return loss, self._gather_flat_grad()

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are restored to ``x``."""
        self._add_grad(t, d)
        result = self._evaluate(closure)
        self._set_param(x)
        return result

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the closure's first loss."""
        if closure is None:
            raise TypeError(
                "LBFGS.step() requires a closure: pass a function that zeroes the gradients, "
                "computes the loss, calls loss.backward() and returns the loss, as in "
                "optimizer.step(closure)."
            )
        group = self.param_groups[0]
        lr = _as_scalar(group["lr"])  # a tensor lr rounds in its dtype, as in torch
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._eval_closure(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if xp.max(xp.abs(flat_grad)) <= tolerance_grad:  # already optimal
            return orig_loss

        d = _as_array(state.get("d"))
        t = _as_array(state.get("t"))
        old_dirs = [_as_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_as_array(v) for v in state.get("old_stps", [])]
        ro = [_as_array(v) for v in state.get("ro", [])]
        H_diag = _as_array(state.get("H_diag"))
        prev_flat_grad = _as_array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = [_as_array(v) for v in state["al"]] if "al" in state else None

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # direction: steepest descent first, then the L-BFGS two-loop recursion
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:  # curvature condition holds: remember the pair
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.dot(y, y)
                if al is None:
                    al = [None] * history_size
                d = lbfgs_direction(flat_grad, old_dirs, old_stps, ro, H_diag, al)

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # step length: a cautious first step, then lr (possibly refined by the line search)
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.sum(xp.abs(flat_grad))) * lr
            else:
                t = lr
            gtd = xp.dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p._data.copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.max(xp.abs(flat_grad)) <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    loss, flat_grad = self._evaluate(closure)
                    opt_cond = xp.max(xp.abs(flat_grad)) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.max(xp.abs(d * t)) <= tolerance_change:  # lack of progress in theta
                break
            if abs(loss - prev_loss) < tolerance_change:  # lack of progress in f
                break

        if al is not None and "al" not in state:
            state["al"] = None  # torch creates "al" mid-step: before the "d" a first step creates
        state["d"] = _as_tensor(d)
        state["t"] = _as_tensor(t)
        state["old_dirs"] = [_as_tensor(v) for v in old_dirs]
        state["old_stps"] = [_as_tensor(v) for v in old_stps]
        state["ro"] = [_as_tensor(v) for v in ro]
        state["H_diag"] = _as_tensor(H_diag)
        state["prev_flat_grad"] = _as_tensor(prev_flat_grad)
        state["prev_loss"] = prev_loss
        if al is not None:
            state["al"] = [None if v is None else _as_tensor(v) for v in al]
        return orig_loss
