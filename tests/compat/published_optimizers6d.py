"""Published optimizers, round 6, part four, and the registry of all four parts.

michaelrzhang's official Lookahead (an ``Optimizer`` subclass that never calls
``Optimizer.__init__``, ``param_groups`` as a property, momentum pullback), timm's NAdamW (a
fork of torch's functional NAdam: ``_cuda_graph_capture_health_check``, ``torch._foreach_*``
with scalar lists, ``torch.ops.aten._foreach_maximum_.overloads()``, the cautious mask),
open_clip's StableAdamWUnfused and a torch-2.x AdamW fork that imports torch's private helpers
(``_use_grad_for_differentiable``, ``_get_value``, ``_get_scalar_dtype``, ``_view_as_real``,
``_default_to_fused_or_foreach``, ``Optimizer._group_tensors_by_device_and_dtype``); SOAP is
in ``published_optimizers6e.py``.
Conventions of ``published_optimizers6.py``.
"""

from .published_optimizers6 import ADEMAMIX, PRODIGY, SCHEDULE_FREE_ADAMW, SCHEDULE_FREE_SGD
from .published_optimizers6b import ADABELIEF, ADAMP, MADGRAD, SOPHIA_G
from .published_optimizers6c import FROMAGE, GALORE_ADAMW, LARS, NERO, NOVOGRAD, YOGI
from .published_optimizers6e import SOAP

LOOKAHEAD = '''
class Lookahead(Optimizer):
    def __init__(self, optimizer, la_steps=5, la_alpha=0.8, pullback_momentum="none"):
        """optimizer: inner optimizer
        la_steps (int): number of lookahead steps
        la_alpha (float): linear interpolation factor. 1.0 recovers the inner optimizer.
        pullback_momentum (str): change to inner optimizer momentum on interpolation update
        """
        self.optimizer = optimizer
        self._la_step = 0  # counter for inner optimizer
        self.la_alpha = la_alpha
        self._total_la_steps = la_steps
        pullback_momentum = pullback_momentum.lower()
        assert pullback_momentum in ["reset", "pullback", "none"]
        self.pullback_momentum = pullback_momentum

        self.state = defaultdict(dict)

        # Cache the current optimizer parameters
        for group in optimizer.param_groups:
            for p in group['params']:
                param_state = self.state[p]
                param_state['cached_params'] = torch.zeros_like(p.data)
                param_state['cached_params'].copy_(p.data)
                if self.pullback_momentum == "pullback":
                    param_state['cached_mom'] = torch.zeros_like(p.data)

    def __getstate__(self):
        return {
            'state': self.state,
            'optimizer': self.optimizer,
            'la_alpha': self.la_alpha,
            '_la_step': self._la_step,
            '_total_la_steps': self._total_la_steps,
            'pullback_momentum': self.pullback_momentum
        }

    def zero_grad(self):
        self.optimizer.zero_grad()

    def get_la_step(self):
        return self._la_step

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.optimizer.load_state_dict(state_dict)

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def step(self, closure=None):
        """Performs a single Lookahead optimization step.
        Arguments:
            closure (callable, optional): A closure that reevaluates the model
                and returns the loss.
        """
        loss = self.optimizer.step(closure)
        self._la_step += 1

        if self._la_step >= self._total_la_steps:
            self._la_step = 0
            # Lookahead and cache the current optimizer parameters
            for group in self.optimizer.param_groups:
                for p in group['params']:
                    param_state = self.state[p]
                    p.data.mul_(self.la_alpha).add_(param_state['cached_params'],
                                                    alpha=1.0 - self.la_alpha)  # crucial line
                    param_state['cached_params'].copy_(p.data)
                    if p not in self.optimizer.state:
                        continue
                    if self.pullback_momentum == "pullback":
                        internal_momentum = self.optimizer.state[p]["momentum_buffer"]
                        self.optimizer.state[p]["momentum_buffer"] = internal_momentum.mul_(
                            self.la_alpha).add_(1.0 - self.la_alpha, param_state["cached_mom"])
                        param_state["cached_mom"] = self.optimizer.state[p]["momentum_buffer"]
                    elif self.pullback_momentum == "reset":
                        self.optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p.data)

        return loss
'''


NADAMW_TIMM = '''
class NAdamW(torch.optim.Optimizer):
    """ Implements NAdamW algorithm.

    See Table 1 in https://arxiv.org/abs/1910.05446 for the implementation of
    the NAdam algorithm (there is also a comment in the code which highlights
    the only difference of NAdamW and AdamW).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 caution=False, maximize=False, foreach=None, capturable=False):
        if not 0.0 <= lr:
            raise ValueError(f'Invalid learning rate: {lr}')
        if not 0.0 <= eps:
            raise ValueError(f'Invalid epsilon value: {eps}')
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f'Invalid beta parameter at index 0: {betas[0]}')
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f'Invalid beta parameter at index 1: {betas[1]}')
        if not 0.0 <= weight_decay:
            raise ValueError(f'Invalid weight_decay value: {weight_decay}')
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, caution=caution,
                        foreach=foreach, maximize=maximize, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        state_values = list(self.state.values())
        step_is_tensor = (len(state_values) != 0) and torch.is_tensor(state_values[0]['step'])
        if not step_is_tensor:
            for s in state_values:
                s['step'] = torch.tensor(float(s['step']))
        for group in self.param_groups:
            group.setdefault('caution', False)

    @torch.no_grad()
    def step(self, closure=None):
        self._cuda_graph_capture_health_check()

        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            params_with_grad = []
            grads = []
            exp_avgs = []
            exp_avg_sqs = []
            state_steps = []
            beta1, beta2 = group['betas']

            for p in group['params']:
                if p.grad is None:
                    continue
                params_with_grad.append(p)
                if p.grad.is_sparse:
                    raise RuntimeError('NAdamW does not support sparse gradients')
                grads.append(p.grad)

                state = self.state[p]

                # State initialization
                if not state:
                    state['step'] = torch.tensor(0.)
                    state['exp_avg'] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state['exp_avg_sq'] = torch.zeros_like(p,
                                                           memory_format=torch.preserve_format)

                exp_avgs.append(state['exp_avg'])
                exp_avg_sqs.append(state['exp_avg_sq'])
                state_steps.append(state['step'])

            nadamw(
                params_with_grad,
                grads,
                exp_avgs,
                exp_avg_sqs,
                state_steps,
                foreach=group['foreach'],
                beta1=beta1,
                beta2=beta2,
                lr=group['lr'],
                weight_decay=group['weight_decay'],
                eps=group['eps'],
                caution=group['caution'],
                maximize=group['maximize'],
                capturable=group['capturable'],
            )

        return loss


def nadamw(params, grads, exp_avgs, exp_avg_sqs, state_steps, foreach=None,
           capturable: bool = False, *, beta1: float, beta2: float, lr: float,
           weight_decay: float, eps: float, caution: bool, maximize: bool) -> None:
    if not all(isinstance(t, torch.Tensor) for t in state_steps):
        raise RuntimeError(
            'API has changed, `state_steps` argument must contain a list of'
            + ' singleton tensors')

    if foreach is None:
        try:
            # cannot do foreach if this overload doesn't exist when caution enabled
            foreach = not caution or 'Scalar' in torch.ops.aten._foreach_maximum_.overloads()
        except:  # noqa: E722
            foreach = False

    if foreach and not torch.jit.is_scripting():
        func = _multi_tensor_nadamw
    else:
        func = _single_tensor_nadamw

    func(params, grads, exp_avgs, exp_avg_sqs, state_steps, beta1=beta1, beta2=beta2, lr=lr,
         weight_decay=weight_decay, eps=eps, caution=caution, maximize=maximize,
         capturable=capturable)


def _single_tensor_nadamw(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, beta1: float,
                          beta2: float, lr: float, weight_decay: float, eps: float,
                          caution: bool, maximize: bool, capturable: bool):

    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step_t = state_steps[i]

        # Update step.
        step_t += 1

        # Perform stepweight decay.
        param.mul_(1. - lr * weight_decay)

        # Decay the first and second moment running average coefficient.
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

        step = step_t.item()
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step

        step_size = lr / bias_correction1
        bias_correction2_sqrt = math.sqrt(bias_correction2)

        # Apply Nesterov. Only difference between NAdamW and AdamW in this implementation.
        # The official PyTorch implementation of NAdam uses a different algorithm.
        exp_avg = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1)
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)

        if caution:
            # Apply caution as per 'Cautious Optimizers' - https://arxiv.org/abs/2411.16085
            mask = (exp_avg * grad > 0).to(grad.dtype)
            mask.div_(mask.mean().clamp_(min=1e-3))
            exp_avg.mul_(mask)

        param.addcdiv_(exp_avg, denom, value=-step_size)


def _multi_tensor_nadamw(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, beta1: float,
                         beta2: float, lr: float, weight_decay: float, eps: float,
                         caution: bool, maximize: bool, capturable: bool):
    if len(params) == 0:
        return

    if maximize:
        grads = torch._foreach_neg(tuple(grads))  # type: ignore[assignment]

    grads = [torch.view_as_real(x) if torch.is_complex(x) else x for x in grads]
    exp_avgs = [torch.view_as_real(x) if torch.is_complex(x) else x for x in exp_avgs]
    exp_avg_sqs = [torch.view_as_real(x) if torch.is_complex(x) else x for x in exp_avg_sqs]
    params = [torch.view_as_real(x) if torch.is_complex(x) else x for x in params]

    # update steps
    torch._foreach_add_(state_steps, 1)

    # Perform stepweight decay
    torch._foreach_mul_(params, 1 - lr * weight_decay)

    # Decay the first and second moment running average coefficient
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)

    bias_correction1 = [1 - beta1 ** step.item() for step in state_steps]
    bias_correction2 = [1 - beta2 ** step.item() for step in state_steps]

    step_size = [(lr / bc) * -1 for bc in bias_correction1]

    bias_correction2_sqrt = [math.sqrt(bc) for bc in bias_correction2]

    # Apply Nesterov. Only difference between NAdamW and AdamW in this implementation.
    # The official PyTorch implementation of NAdam uses a different algorithm.
    exp_avgs = torch._foreach_mul(exp_avgs, beta1)
    torch._foreach_add_(exp_avgs, grads, alpha=1 - beta1)

    exp_avg_sq_sqrt = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(exp_avg_sq_sqrt, bias_correction2_sqrt)
    denom = torch._foreach_add(exp_avg_sq_sqrt, eps)

    if caution:
        # Apply caution as per 'Cautious Optimizers' - https://arxiv.org/abs/2411.16085
        masks = torch._foreach_mul(exp_avgs, grads)
        masks = [(m > 0).to(g.dtype) for m, g in zip(masks, grads)]
        mask_scale = [m.mean() for m in masks]
        torch._foreach_maximum_(mask_scale, 1e-3)
        torch._foreach_div_(masks, mask_scale)
        torch._foreach_mul_(exp_avgs, masks)

    torch._foreach_addcdiv_(params, exp_avgs, denom, step_size)
'''

STABLE_ADAMW = '''
class StableAdamWUnfused(torch.optim.Optimizer):
    def __init__(self, params, lr=0.002, weight_decay=0.2, betas=(0.9, 0.99), eps=1e-6,
                 clip_thresh=1.0, precision="amp_bfloat16", custom_scalar=65536):
        beta1, beta2 = betas[0], betas[1]
        defaults = dict(lr=lr, weight_decay=weight_decay, beta1=beta1, beta2=beta2)
        super(StableAdamWUnfused, self).__init__(params, defaults)

        self.eps = eps
        self.d = clip_thresh

        # Set precision to "custom_fp16" if you want to use a fixed loss scalar, custom_scalar,
        # which is divided out in the update step.
        # If you do this, call (custom_scalar * loss).backward() instead of loss.backward().
        self.precision = precision
        self.custom_scaler = custom_scalar

        for group in self.param_groups:
            group["step"] = 1.0

    def __setstate__(self, state):
        super(StableAdamWUnfused, self).__setstate__(state)

    def step(self, closure=None):
        if closure is not None:
            closure()

        for group in self.param_groups:
            lr = group["lr"]
            weight_decay = group["weight_decay"]
            beta1 = group["beta1"]
            beta2 = group["beta2"]
            step = group["step"]

            for p in group["params"]:
                if p.grad is None:
                    continue
                theta = p.data
                param_state = self.state[p]

                if self.precision == "custom_fp16":
                    g = p.grad.data / self.custom_scaler
                    if torch.any(torch.isnan(g) | torch.isinf(g)):
                        continue
                else:
                    g = p.grad.data

                if "exp_avg" not in param_state:
                    v = param_state["exp_avg"] = torch.zeros_like(theta)
                    u = param_state["exp_avg_sq"] = torch.zeros_like(theta)
                else:
                    v = param_state["exp_avg"]
                    u = param_state["exp_avg_sq"]

                beta1hat = beta1 * (1 - beta1 ** (step - 1)) / (1 - beta1 ** step)
                beta2hat = beta2 * (1 - beta2 ** (step - 1)) / (1 - beta2 ** step)

                v = v.mul_(beta1hat).add_(g, alpha=1.0 - beta1hat)
                u = u.mul_(beta2hat).addcmul_(g, g, value=1.0 - beta2hat)

                denominator = u.sqrt().add_(self.eps)

                # StableAdamW = AdamW + update clipping (https://arxiv.org/abs/1804.04235)
                # applied tensor-wise.
                rms = torch.div(
                    g.pow(2), torch.maximum(u, (self.eps ** 2) * torch.ones_like(u))
                ).mean().sqrt().item()

                theta = theta.mul_(1.0 - lr * weight_decay).addcdiv_(
                    v, denominator, value=-lr * (1.0 / max(1.0, rms / self.d))
                )

                # save current params
                param_state["exp_avg"] = v
                param_state["exp_avg_sq"] = u

            group["step"] = step + 1
'''

ADAMW_TORCH_FORK = '''
# from torch.optim.optimizer import (Optimizer, _default_to_fused_or_foreach, _get_scalar_dtype,
#     _get_value, _stack_if_compiling, _use_grad_for_differentiable, _view_as_real)


class AdamWFork(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize: bool = False, foreach=None,
                 capturable: bool = False, differentiable: bool = False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if isinstance(lr, torch.Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                        capturable=capturable, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            self._step_supports_amp_scaling = True
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            fused = group.setdefault("fused", None)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not torch.is_tensor(p_state["step"]):
                    step_val = float(p_state["step"])
                    p_state["step"] = (
                        torch.tensor(step_val, dtype=_get_scalar_dtype(is_fused=fused),
                                     device=p.device)
                        if group["capturable"] or group["fused"]
                        else torch.tensor(step_val, dtype=_get_scalar_dtype())
                    )

    def _init_group(self, group, params_with_grad, grads, amsgrad, exp_avgs, exp_avg_sqs,
                    max_exp_avg_sqs, state_steps):
        has_complex = False
        for p in group["params"]:
            if p.grad is None:
                continue
            has_complex |= torch.is_complex(p)
            params_with_grad.append(p)
            if p.grad.is_sparse:
                raise RuntimeError("AdamW does not support sparse gradients")
            grads.append(p.grad)

            state = self.state[p]

            # State initialization
            if len(state) == 0:
                state["step"] = (
                    torch.zeros((), dtype=_get_scalar_dtype(is_fused=group["fused"]),
                                device=p.device)
                    if group["capturable"] or group["fused"]
                    else torch.tensor(0.0, dtype=_get_scalar_dtype())
                )
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if amsgrad:
                    state["max_exp_avg_sq"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format)

            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])

            if group["amsgrad"]:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            if group["differentiable"] and state["step"].requires_grad:
                raise RuntimeError("`requires_grad` is not supported for `step` in "
                                   "differentiable mode")
            state_steps.append(state["step"])
        return has_complex

    @_use_grad_for_differentiable
    def step(self, closure=None):
        self._cuda_graph_capture_health_check()

        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            params_with_grad = []
            grads = []
            exp_avgs = []
            exp_avg_sqs = []
            max_exp_avg_sqs = []
            state_steps = []
            amsgrad = group["amsgrad"]
            beta1, beta2 = group["betas"]

            has_complex = self._init_group(group, params_with_grad, grads, amsgrad, exp_avgs,
                                           exp_avg_sqs, max_exp_avg_sqs, state_steps)

            adamw(params_with_grad, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                  amsgrad=amsgrad, beta1=beta1, beta2=beta2, lr=group["lr"],
                  weight_decay=group["weight_decay"], eps=group["eps"],
                  maximize=group["maximize"], foreach=group["foreach"],
                  capturable=group["capturable"], differentiable=group["differentiable"],
                  has_complex=has_complex)

        return loss


def adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, foreach=None,
          capturable: bool = False, differentiable: bool = False, has_complex: bool = False,
          *, amsgrad: bool, beta1: float, beta2: float, lr, weight_decay: float, eps: float,
          maximize: bool):
    if not all(isinstance(t, torch.Tensor) for t in state_steps):
        raise RuntimeError("API has changed, `state_steps` argument must contain a list of "
                           "singleton tensors")

    if foreach is None:
        _, foreach = _default_to_fused_or_foreach(params, differentiable, use_fused=False)

    if foreach and torch.jit.is_scripting():
        raise RuntimeError("torch.jit.script not supported with foreach optimizers")

    if foreach and not torch.jit.is_scripting():
        func = _multi_tensor_adamw
    else:
        func = _single_tensor_adamw

    func(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, amsgrad=amsgrad,
         beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps,
         maximize=maximize, capturable=capturable, differentiable=differentiable,
         has_complex=has_complex)


def _single_tensor_adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                         *, amsgrad, beta1, beta2, lr, weight_decay, eps, maximize, capturable,
                         differentiable, has_complex):
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step_t = state_steps[i]

        if torch.is_complex(param):
            grad = torch.view_as_real(grad)
            exp_avg = torch.view_as_real(exp_avg)
            exp_avg_sq = torch.view_as_real(exp_avg_sq)
            if amsgrad:
                max_exp_avg_sqs[i] = torch.view_as_real(max_exp_avg_sqs[i])
            param = torch.view_as_real(param)

        # update step
        step_t += 1

        # Perform stepweight decay
        param.mul_(1 - lr * weight_decay)

        # Decay the first and second moment running average coefficient
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

        step = _get_value(step_t)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step

        step_size = lr / bias_correction1

        bias_correction2_sqrt = math.sqrt(bias_correction2)

        if amsgrad:
            # Maintains the maximum of all 2nd moment running avg. till now
            torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])

            # Use the max. for normalizing running avg. of gradient
            denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)

        param.addcdiv_(exp_avg, denom, value=-step_size)


def _multi_tensor_adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                        *, amsgrad, beta1, beta2, lr, weight_decay, eps, maximize, capturable,
                        differentiable, has_complex):
    if len(params) == 0:
        return

    grouped_tensors = Optimizer._group_tensors_by_device_and_dtype(
        [params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps])
    for ((device_params, device_grads, device_exp_avgs, device_exp_avg_sqs,
          device_max_exp_avg_sqs, device_state_steps), _) in grouped_tensors.values():
        if has_complex:
            if amsgrad:
                _view_as_real(device_params, device_grads, device_exp_avgs,
                              device_exp_avg_sqs, device_max_exp_avg_sqs)
            else:
                _view_as_real(device_params, device_grads, device_exp_avgs,
                              device_exp_avg_sqs)

        if maximize:
            device_grads = torch._foreach_neg(device_grads)

        torch._foreach_add_(device_state_steps, 1)

        if weight_decay != 0:
            torch._foreach_mul_(device_params, 1 - lr * weight_decay)

        torch._foreach_lerp_(device_exp_avgs, device_grads, 1 - beta1)

        torch._foreach_mul_(device_exp_avg_sqs, beta2)
        torch._foreach_addcmul_(device_exp_avg_sqs, device_grads, device_grads, 1 - beta2)

        # Delete the local intermediate since it won't be used anymore to save on peak memory
        del device_grads

        bias_correction1 = [1 - beta1 ** _get_value(step) for step in device_state_steps]
        bias_correction2 = [1 - beta2 ** _get_value(step) for step in device_state_steps]

        step_size = _stack_if_compiling([(lr / bc) * -1 for bc in bias_correction1])

        bias_correction2_sqrt = [math.sqrt(bc) for bc in bias_correction2]

        if amsgrad:
            # Maintains the maximum of all 2nd moment running avg. till now
            torch._foreach_maximum_(device_max_exp_avg_sqs, device_exp_avg_sqs)

            # Use the max. for normalizing running avg. of gradient
            exp_avg_sq_sqrt = torch._foreach_sqrt(device_max_exp_avg_sqs)
        else:
            exp_avg_sq_sqrt = torch._foreach_sqrt(device_exp_avg_sqs)

        torch._foreach_div_(exp_avg_sq_sqrt, bias_correction2_sqrt)
        torch._foreach_add_(exp_avg_sq_sqrt, eps)
        torch._foreach_addcdiv_(device_params, device_exp_avgs, exp_avg_sq_sqrt, step_size)
'''

def _two_d_galore(params):
    """GaLore's README grouping: 2-D weights get the projection, the rest plain AdamW."""
    galore = [p for p in params[:4] if p.dim() == 2]
    rest = [p for p in params if p.dim() != 2 or p is params[4]]
    return [{"params": rest},
            {"params": galore, "rank": 1, "update_proj_gap": 100, "scale": 0.25,
             "proj_type": "std"}]


def _soap_groups(params):
    """W1, b1 and the unused parameter with full preconditioning; W2 and b2 with factors of at
    most 2x2 (W2's 5x5 left factor has a 3-dimensional null space: see the registry)."""
    return [{"params": [params[0], params[1], params[4]]},
            {"params": [params[2], params[3]], "max_precond_dim": 2, "shampoo_beta": 0.9}]


def _soap_groups_1d(params):
    """As ``_soap_groups``, b2 preconditioned too (its 2x2 factor has a 1-dimensional null
    space, a direction up to sign; b1's 5x5 one would have four)."""
    groups = _soap_groups(params)
    groups[1]["precondition_1d"] = True
    return groups


def _lars_groups(params):
    """Barlow Twins: weights and biases in two groups, the biases filtered out of both."""
    weights = [p for p in params if p.ndim != 1]
    biases = [p for p in params if p.ndim == 1]
    return [{"params": weights}, {"params": biases}]


# name -> (source, class, constructor kwargs, options). Options: ``extra`` (keys of the second
# group), ``groups`` (a function of the parameter list replacing the default two groups),
# ``same_lr`` (Prodigy refuses groups with different lrs), ``mode`` (how the loop drives it:
# "closure", "schedule_free", "sophia", "lookahead", "lars"), ``float32_only``.
OPTIMIZERS = {
    "schedule_free_adamw": (SCHEDULE_FREE_ADAMW, "AdamWScheduleFree",
                            dict(lr=0.02, warmup_steps=4, weight_decay=1e-3),
                            dict(mode="schedule_free", extra={"foreach": False})),
    "schedule_free_sgd": (SCHEDULE_FREE_SGD, "SGDScheduleFree",
                          dict(lr=0.1, warmup_steps=3, weight_decay=1e-3, r=0.5),
                          dict(mode="schedule_free", extra={"foreach": False})),
    "ademamix": (ADEMAMIX, "AdEMAMix",
                 dict(lr=0.01, alpha=5.0, beta3_warmup=10, alpha_warmup=10,
                      weight_decay=1e-3), dict(mode="closure", extra={"betas": (0.0, 0.99, 0.999)})),
    "prodigy": (PRODIGY, "Prodigy", dict(lr=1.0, weight_decay=1e-3, d0=1e-3),
                dict(same_lr=True, extra={"decouple": True})),
    "prodigy_bias_correction": (PRODIGY, "Prodigy",
                                # A smaller lr than the README's 1.0: with beta1=0 the update is
                                # sign-like and at lr=1 b2 oscillates chaotically (torch against
                                # itself with a 1e-7 perturbation drifts to 5e-5 in 17 steps).
                                dict(lr=0.5, d0=3e-3, use_bias_correction=True,
                                     safeguard_warmup=True, betas=(0.0, 0.99), decouple=False,
                                     growth_rate=1.1, weight_decay=1e-3), dict(same_lr=True)),
    "sophia_g": (SOPHIA_G, "SophiaG", dict(lr=0.01, rho=0.05, weight_decay=0.1),
                 dict(mode="sophia", extra={"maximize": False})),
    "madgrad": (MADGRAD, "MADGRAD", dict(lr=0.01, weight_decay=1e-3),
                dict(extra={"momentum": 0.0})),
    "madgrad_decoupled": (MADGRAD, "MADGRAD", dict(lr=0.01, weight_decay=1e-3,
                                                   decouple_decay=True), {}),
    "adabelief": (ADABELIEF, "AdaBelief", dict(lr=0.01, weight_decay=1e-2, eps=1e-12),
                  dict(extra={"betas": (0.8, 0.99)})),
    "adabelief_amsgrad": (ADABELIEF, "AdaBelief",
                          dict(lr=0.01, weight_decay=1e-3, amsgrad=True, rectify=False,
                               weight_decouple=False), {}),
    "adamp": (ADAMP, "AdamP", dict(lr=0.01, weight_decay=1e-2, delta=1.0),
              dict(extra={"nesterov": True})),
    "yogi": (YOGI, "Yogi", dict(lr=0.01, weight_decay=1e-3), {}),
    "novograd": (NOVOGRAD, "NovoGrad", dict(lr=0.01, betas=(0.9, 0.98), weight_decay=1e-3),
                 dict(extra={"grad_averaging": True, "amsgrad": True})),
    "fromage": (FROMAGE, "Fromage", dict(lr=0.01, p_bound=1.05), {}),
    "nero": (NERO, "Nero", dict(lr=0.01), dict(mode="closure", extra={"constraints": False})),
    "lars": (LARS, "LARS", dict(lr=0.2, weight_decay=1e-3, eta=0.02),
             dict(mode="lars", groups=_lars_groups)),
    "galore_adamw": (GALORE_ADAMW, "AdamW", dict(lr=0.01, weight_decay=1e-3,
                                                 no_deprecation_warning=True),
                     dict(groups=_two_d_galore)),
    "lookahead_sgd_pullback": (LOOKAHEAD, "Lookahead",
                               dict(la_steps=3, la_alpha=0.6, pullback_momentum="pullback"),
                               dict(mode="lookahead")),
    "nadamw_timm": (NADAMW_TIMM, "NAdamW", dict(lr=0.01, weight_decay=1e-2),
                    dict(extra={"caution": True, "foreach": True})),
    "nadamw_timm_caution_default_foreach": (NADAMW_TIMM, "NAdamW",
                                            dict(lr=0.01, caution=True, maximize=False),
                                            dict(mode="closure")),
    # SOAP's Kronecker factors are float32 (torch.zeros(sh, sh)): float64 parameters make its
    # lerp_ refuse a float64 outer product, on both sides (float64_raises)
    # eps above the float32 noise of the projected gradient's exact zeros (its first step is
    # diagonal in the eigenbasis: Adam's m / (sqrt(v) + eps) would blow 1e-8 noise up to
    # +-lr on either side), and W2's 5x5 left factor (rank 2 from a 5x2 gradient, so an
    # arbitrary basis of its null space) left out with max_precond_dim=2
    "soap": (SOAP, "SOAP", dict(lr=0.01, betas=(0.9, 0.95), precondition_frequency=4,
                                weight_decay=1e-3, eps=1e-4),
             dict(float64_raises=True, groups=_soap_groups)),
    "soap_1d_normalized": (SOAP, "SOAP", dict(lr=0.01, eps=1e-4, normalize_grads=True,
                                              precondition_frequency=3),
                           dict(float64_raises=True, groups=_soap_groups_1d)),
    "stable_adamw": (STABLE_ADAMW, "StableAdamWUnfused",
                     dict(lr=0.01, weight_decay=0.01, clip_thresh=0.5), {}),
    "adamw_torch_fork": (ADAMW_TORCH_FORK, "AdamWFork", dict(lr=0.01, amsgrad=True),
                         dict(mode="closure", extra={"foreach": True})),
    "adamw_torch_fork_foreach": (ADAMW_TORCH_FORK, "AdamWFork", dict(lr=0.01, foreach=True),
                                 dict(extra={"foreach": False, "amsgrad": True})),
}
