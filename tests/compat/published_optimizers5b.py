"""Published optimizers, round 5, part two: fairseq's Adafactor, the PyTorch port of SM3,
pytorch-pretrained-bert's BertAdam/OpenAIAdam (warmup schedules, ``clip_grad_norm_`` on one
tensor inside ``step``), HF transformers 2.x AdamW, and jettify's RangerQH/RangerVA; and the
registry of both parts. Same conventions as ``published_optimizers5.py``.
"""

from .published_optimizers5 import (
    A2GRAD_UNI,
    ACCSGD,
    ADAMOD,
    DIFFGRAD,
    PID,
    QHM,
    SGDW,
    SHAMPOO,
    SWATS,
)

ADAFACTOR_FAIRSEQ = '''
class Adafactor(torch.optim.Optimizer):
    def __init__(self, params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0,
                 decay_rate=-0.8, beta1=None, weight_decay=0.0, scale_parameter=True,
                 relative_step=True, warmup_init=False):
        if lr is not None and relative_step:
            raise ValueError('Cannot combine manual lr and relative_step options')
        if warmup_init and not relative_step:
            raise ValueError('warmup_init requires relative_step=True')
        defaults = dict(lr=lr, eps=eps, clip_threshold=clip_threshold, decay_rate=decay_rate,
                        beta1=beta1, weight_decay=weight_decay, scale_parameter=scale_parameter,
                        relative_step=relative_step, warmup_init=warmup_init)
        super(Adafactor, self).__init__(params, defaults)

    @property
    def supports_memory_efficient_fp16(self):
        return True

    @property
    def supports_flat_params(self):
        return False

    def _get_lr(self, param_group, param_state):
        rel_step_sz = param_group['lr']
        if param_group['relative_step']:
            min_step = 1e-6 * param_state['step'] if param_group['warmup_init'] else 1e-2
            rel_step_sz = min(min_step, 1.0 / math.sqrt(param_state['step']))
        param_scale = 1.0
        if param_group['scale_parameter']:
            param_scale = max(param_group['eps'][1], param_state['RMS'])
        return param_scale * rel_step_sz

    def _get_options(self, param_group, param_shape):
        factored = len(param_shape) >= 2
        use_first_moment = param_group['beta1'] is not None
        return factored, use_first_moment

    def _rms(self, tensor):
        return tensor.norm(2) / (tensor.numel() ** 0.5)

    def _approx_sq_grad(self, exp_avg_sq_row, exp_avg_sq_col):
        r_factor = (exp_avg_sq_row / exp_avg_sq_row.mean(dim=-1, keepdim=True)
                    ).rsqrt_().unsqueeze(-1)
        c_factor = exp_avg_sq_col.unsqueeze(-2).rsqrt()
        return torch.mul(r_factor, c_factor)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.dtype in {torch.float16, torch.bfloat16}:
                    grad = grad.float()
                if grad.is_sparse:
                    raise RuntimeError('Adafactor does not support sparse gradients.')
                state = self.state[p]
                grad_shape = grad.shape
                factored, use_first_moment = self._get_options(group, grad_shape)
                if len(state) == 0:
                    state['step'] = 0
                    if use_first_moment:
                        state['exp_avg'] = torch.zeros_like(grad)
                    if factored:
                        state['exp_avg_sq_row'] = torch.zeros(grad_shape[:-1]).to(grad)
                        state['exp_avg_sq_col'] = torch.zeros(
                            grad_shape[:-2] + grad_shape[-1:]).to(grad)
                    else:
                        state['exp_avg_sq'] = torch.zeros_like(grad)
                    state['RMS'] = 0
                else:
                    if use_first_moment:
                        state['exp_avg'] = state['exp_avg'].to(grad)
                    if factored:
                        state['exp_avg_sq_row'] = state['exp_avg_sq_row'].to(grad)
                        state['exp_avg_sq_col'] = state['exp_avg_sq_col'].to(grad)
                    else:
                        state['exp_avg_sq'] = state['exp_avg_sq'].to(grad)
                p_data_fp32 = p.data
                if p.data.dtype in {torch.float16, torch.bfloat16}:
                    p_data_fp32 = p_data_fp32.float()
                state['step'] += 1
                state['RMS'] = self._rms(p_data_fp32)
                group['lr'] = self._get_lr(group, state)
                beta2t = 1.0 - math.pow(state['step'], group['decay_rate'])
                update = (grad ** 2) + group['eps'][0]
                if factored:
                    exp_avg_sq_row = state['exp_avg_sq_row']
                    exp_avg_sq_col = state['exp_avg_sq_col']
                    exp_avg_sq_row.mul_(beta2t).add_(update.mean(dim=-1), alpha=1.0 - beta2t)
                    exp_avg_sq_col.mul_(beta2t).add_(update.mean(dim=-2), alpha=1.0 - beta2t)
                    update = self._approx_sq_grad(exp_avg_sq_row, exp_avg_sq_col)
                    update.mul_(grad)
                else:
                    exp_avg_sq = state['exp_avg_sq']
                    exp_avg_sq.mul_(beta2t).add_(update, alpha=1.0 - beta2t)
                    update = exp_avg_sq.rsqrt().mul_(grad)
                update.div_((self._rms(update) / group['clip_threshold']).clamp_(min=1.0))
                update.mul_(group['lr'])
                if use_first_moment:
                    exp_avg = state['exp_avg']
                    exp_avg.mul_(group['beta1']).add_(update, alpha=1 - group['beta1'])
                    update = exp_avg
                if group['weight_decay'] != 0:
                    p_data_fp32.add_(p_data_fp32, alpha=-group['weight_decay'] * group['lr'])
                p_data_fp32.add_(-update)
                if p.data.dtype in {torch.float16, torch.bfloat16}:
                    p.data.copy_(p_data_fp32)
        return loss
'''

SM3 = '''
class SM3(Optimizer):
    def __init__(self, params, lr=0.1, momentum=0.0, beta=0.0, eps=1e-30):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {0}".format(lr))
        defaults = {'lr': lr, 'momentum': momentum, 'beta': beta, 'eps': eps}
        super(SM3, self).__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            momentum = group['momentum']
            beta = group['beta']
            eps = group['eps']
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                shape = grad.shape
                rank = len(shape)
                if len(state) == 0:
                    state['step'] = 0
                    state['momentum_buffer'] = 0.
                    _add_initial_accumulators(state, grad)
                update = state[_key(0)].clone()
                for i in range(1, rank):
                    update = torch.min(update, state[_key(i)])
                if beta > 0.:
                    update.mul_(beta)
                update.addcmul_(grad, grad, value=1. - beta)
                for i in range(rank):
                    acc = state[_key(i)]
                    nu_max = _max_reduce_except_dim(update, i)
                    if beta > 0.:
                        torch.max(acc, nu_max, out=acc)
                    else:
                        acc.copy_(nu_max)
                update.add_(eps).rsqrt_().mul_(grad)
                if momentum > 0.:
                    m = state['momentum_buffer']
                    update.mul_(1. - momentum).add_(m, alpha=momentum)
                    state['momentum_buffer'] = update.detach()
                p.sub_(update, alpha=group['lr'])
                state['step'] += 1
        return loss


def _key(i):
    return 'accumulator_' + str(i)


def _add_initial_accumulators(state, grad):
    shape = grad.shape
    rank = len(shape)
    defaults = {'device': grad.device, 'dtype': grad.dtype}
    acc = {}
    if grad.is_sparse or rank == 0:
        acc[_key(0)] = torch.zeros(shape, **defaults)
    else:
        for i in range(rank):
            acc_shape = [1] * i + [shape[i]] + [1] * (rank - 1 - i)
            acc[_key(i)] = torch.zeros(acc_shape, **defaults)
    state.update(acc)


def _max_reduce_except_dim(tensor, dim):
    rank = len(tensor.shape)
    result = tensor
    if rank > 0:
        assert dim < rank
        for d in range(rank):
            if d != dim:
                result = result.max(dim=d, keepdim=True).values
    return result
'''

BERT_SCHEDULES = '''
clip_grad_norm_ = torch.nn.utils.clip_grad_norm_


def warmup_constant(x, warmup=0.002):
    if x < warmup:
        return x/warmup
    return 1.0


def warmup_linear(x, warmup=0.002):
    if x < warmup:
        return x/warmup
    return 1.0 - x


SCHEDULES = {
    'warmup_constant': warmup_constant,
    'warmup_linear': warmup_linear,
}
'''

BERT_ADAM = BERT_SCHEDULES + '''
class BertAdam(Optimizer):
    def __init__(self, params, lr=required, warmup=-1, t_total=-1, schedule='warmup_linear',
                 b1=0.9, b2=0.999, e=1e-6, weight_decay=0.01, max_grad_norm=1.0):
        if lr is not required and lr < 0.0:
            raise ValueError("Invalid learning rate: {} - should be >= 0.0".format(lr))
        if schedule not in SCHEDULES:
            raise ValueError("Invalid schedule parameter: {}".format(schedule))
        defaults = dict(lr=lr, schedule=schedule, warmup=warmup, t_total=t_total,
                        b1=b1, b2=b2, e=e, weight_decay=weight_decay,
                        max_grad_norm=max_grad_norm)
        super(BertAdam, self).__init__(params, defaults)

    def get_lr(self):
        lr = []
        for group in self.param_groups:
            for p in group['params']:
                state = self.state[p]
                if len(state) == 0:
                    return [0]
                if group['t_total'] != -1:
                    schedule_fct = SCHEDULES[group['schedule']]
                    lr_scheduled = group['lr'] * schedule_fct(state['step']/group['t_total'],
                                                              group['warmup'])
                else:
                    lr_scheduled = group['lr']
                lr.append(lr_scheduled)
        return lr

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.is_sparse:
                    raise RuntimeError('Adam does not support sparse gradients')
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['next_m'] = torch.zeros_like(p.data)
                    state['next_v'] = torch.zeros_like(p.data)
                next_m, next_v = state['next_m'], state['next_v']
                beta1, beta2 = group['b1'], group['b2']
                if group['max_grad_norm'] > 0:
                    clip_grad_norm_(p, group['max_grad_norm'])
                next_m.mul_(beta1).add_(1 - beta1, grad)
                next_v.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                update = next_m / (next_v.sqrt() + group['e'])
                if group['weight_decay'] > 0.0:
                    update += group['weight_decay'] * p.data
                if group['t_total'] != -1:
                    schedule_fct = SCHEDULES[group['schedule']]
                    lr_scheduled = group['lr'] * schedule_fct(state['step']/group['t_total'],
                                                              group['warmup'])
                else:
                    lr_scheduled = group['lr']
                update_with_lr = lr_scheduled * update
                p.data.add_(-update_with_lr)
                state['step'] += 1
        return loss
'''

OPENAI_ADAM = BERT_SCHEDULES + '''
class OpenAIAdam(Optimizer):
    def __init__(self, params, lr=required, schedule='warmup_linear', warmup=-1, t_total=-1,
                 b1=0.9, b2=0.999, e=1e-8, weight_decay=0, vector_l2=False, max_grad_norm=-1,
                 **kwargs):
        defaults = dict(lr=lr, schedule=schedule, warmup=warmup, t_total=t_total,
                        b1=b1, b2=b2, e=e, weight_decay=weight_decay, vector_l2=vector_l2,
                        max_grad_norm=max_grad_norm)
        super(OpenAIAdam, self).__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['exp_avg'] = torch.zeros_like(p.data)
                    state['exp_avg_sq'] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                beta1, beta2 = group['b1'], group['b2']
                state['step'] += 1
                if group['max_grad_norm'] > 0:
                    clip_grad_norm_(p, group['max_grad_norm'])
                exp_avg.mul_(beta1).add_(1 - beta1, grad)
                exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                denom = exp_avg_sq.sqrt().add_(group['e'])
                bias_correction1 = 1 - beta1 ** state['step']
                bias_correction2 = 1 - beta2 ** state['step']
                if group['t_total'] != -1:
                    schedule_fct = SCHEDULES[group['schedule']]
                    lr_scheduled = group['lr'] * schedule_fct(state['step']/group['t_total'],
                                                              group['warmup'])
                else:
                    lr_scheduled = group['lr']
                step_size = lr_scheduled * math.sqrt(bias_correction2) / bias_correction1
                p.data.addcdiv_(-step_size, exp_avg, denom)
                if (len(p.size()) > 1 or group['vector_l2']) and group['weight_decay'] > 0:
                    p.data.add_(-lr_scheduled * group['weight_decay'], p.data)
        return loss
'''

HF_ADAMW_2X = '''
class AdamW(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 correct_bias=True):
        if lr < 0.0:
            raise ValueError("Invalid learning rate: {} - should be >= 0.0".format(lr))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        correct_bias=correct_bias)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.is_sparse:
                    raise RuntimeError("Adam does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_avg_sq"] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(1.0 - beta1, grad)
                exp_avg_sq.mul_(beta2).addcmul_(1.0 - beta2, grad, grad)
                denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"]
                if group["correct_bias"]:
                    bias_correction1 = 1.0 - beta1 ** state["step"]
                    bias_correction2 = 1.0 - beta2 ** state["step"]
                    step_size = step_size * math.sqrt(bias_correction2) / bias_correction1
                p.data.addcdiv_(-step_size, exp_avg, denom)
                if group["weight_decay"] > 0.0:
                    p.data.add_(-group["lr"] * group["weight_decay"], p.data)
        return loss
'''

RANGER_QH = '''
class RangerQH(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), nus=(0.7, 1.0), weight_decay=0.0,
                 k=6, alpha=0.5, decouple_weight_decay=False, eps=1e-8):
        defaults = {'lr': lr, 'betas': betas, 'nus': nus, 'weight_decay': weight_decay,
                    'decouple_weight_decay': decouple_weight_decay, 'eps': eps}
        super().__init__(params, defaults)
        self.alpha = alpha
        self.k = k

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            lr = group['lr']
            beta1, beta2 = group['betas']
            nu1, nu2 = group['nus']
            weight_decay = group['weight_decay']
            decouple_weight_decay = group['decouple_weight_decay']
            eps = group['eps']
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad.data
                if d_p.is_sparse:
                    raise RuntimeError('QHAdam does not support sparse gradients')
                param_state = self.state[p]
                if weight_decay != 0:
                    if decouple_weight_decay:
                        p.data.mul_(1 - lr * weight_decay)
                    else:
                        d_p.add_(weight_decay, p.data)
                d_p_sq = d_p.mul(d_p)
                if len(param_state) == 0:
                    param_state['beta1_weight'] = 0.0
                    param_state['beta2_weight'] = 0.0
                    param_state['step'] = 0
                    param_state['exp_avg'] = torch.zeros_like(p.data)
                    param_state['exp_avg_sq'] = torch.zeros_like(p.data)
                    param_state['slow_buffer'] = torch.empty_like(p.data)
                    param_state['slow_buffer'].copy_(p.data)
                param_state['step'] += 1
                param_state['beta1_weight'] = 1.0 + beta1 * param_state['beta1_weight']
                param_state['beta2_weight'] = 1.0 + beta2 * param_state['beta2_weight']
                beta1_weight = param_state['beta1_weight']
                beta2_weight = param_state['beta2_weight']
                exp_avg = param_state['exp_avg']
                exp_avg_sq = param_state['exp_avg_sq']
                beta1_adj = 1.0 - (1.0 / beta1_weight)
                beta2_adj = 1.0 - (1.0 / beta2_weight)
                exp_avg.mul_(beta1_adj).add_(1.0 - beta1_adj, d_p)
                exp_avg_sq.mul_(beta2_adj).add_(1.0 - beta2_adj, d_p_sq)
                avg_grad = exp_avg.mul(nu1)
                if nu1 != 1.0:
                    avg_grad.add_(1.0 - nu1, d_p)
                avg_grad_rms = exp_avg_sq.mul(nu2)
                if nu2 != 1.0:
                    avg_grad_rms.add_(1.0 - nu2, d_p_sq)
                avg_grad_rms.sqrt_()
                if eps != 0.0:
                    avg_grad_rms.add_(eps)
                p.data.addcdiv_(-lr, avg_grad, avg_grad_rms)
                if param_state['step'] % self.k == 0:
                    slow_p = param_state['slow_buffer']
                    slow_p.add_(self.alpha, p.data - slow_p)
                    p.data.copy_(slow_p)
        return loss
'''

RANGER_VA = '''
class RangerVA(Optimizer):
    def __init__(self, params, lr=1e-3, alpha=0.5, k=6, n_sma_threshhold=5,
                 betas=(0.95, 0.999), eps=1e-5, weight_decay=0, amsgrad=True,
                 transformer='softplus', smooth=50, grad_transformer='square'):
        defaults = dict(lr=lr, alpha=alpha, k=k, step_counter=0, betas=betas,
                        n_sma_threshhold=n_sma_threshhold, eps=eps, weight_decay=weight_decay,
                        smooth=smooth, transformer=transformer,
                        grad_transformer=grad_transformer, amsgrad=amsgrad)
        super().__init__(params, defaults)
        self.n_sma_threshhold = n_sma_threshhold
        self.alpha = alpha
        self.k = k
        self.radam_buffer = [[None, None, None] for ind in range(10)]

    def __setstate__(self, state):
        super(RangerVA, self).__setstate__(state)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data.float()
                if grad.is_sparse:
                    raise RuntimeError('Ranger optimizer does not support sparse gradients')
                amsgrad = group['amsgrad']
                smooth = group['smooth']
                grad_transformer = group['grad_transformer']
                p_data_fp32 = p.data.float()
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['exp_avg'] = torch.zeros_like(p_data_fp32)
                    state['exp_avg_sq'] = torch.zeros_like(p_data_fp32)
                    if amsgrad:
                        state['max_exp_avg_sq'] = torch.zeros_like(p.data)
                    state['slow_buffer'] = torch.empty_like(p.data)
                    state['slow_buffer'].copy_(p.data)
                else:
                    state['exp_avg'] = state['exp_avg'].type_as(p_data_fp32)
                    state['exp_avg_sq'] = state['exp_avg_sq'].type_as(p_data_fp32)
                exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                beta1, beta2 = group['betas']
                if amsgrad:
                    max_exp_avg_sq = state['max_exp_avg_sq']
                state['step'] += 1
                exp_avg.mul_(beta1).add_(1 - beta1, grad)
                if grad_transformer == 'square':
                    grad_tmp = grad ** 2
                elif grad_transformer == 'abs':
                    grad_tmp = grad.abs()
                exp_avg_sq.mul_(beta2).add_((1 - beta2) * grad_tmp)
                if amsgrad:
                    torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denomc = max_exp_avg_sq.clone()
                else:
                    denomc = exp_avg_sq.clone()
                if grad_transformer == 'square':
                    denomc.sqrt_()
                if group['weight_decay'] != 0:
                    p_data_fp32.add_(-group['weight_decay'] * group['lr'], p_data_fp32)
                bias_correction1 = 1 - beta1 ** state['step']
                bias_correction2 = 1 - beta2 ** state['step']
                step_size = group['lr'] * math.sqrt(bias_correction2) / bias_correction1
                if group['transformer'] == 'softplus':
                    sp = torch.nn.Softplus(smooth)
                    denomf = sp(denomc)
                    p_data_fp32.addcdiv_(-step_size, exp_avg, denomf)
                else:
                    denom = exp_avg_sq.sqrt().add_(group['eps'])
                    p_data_fp32.addcdiv_(-step_size * group['lr'], exp_avg, denom)
                p.data.copy_(p_data_fp32)
                if state['step'] % group['k'] == 0:
                    slow_p = state['slow_buffer']
                    slow_p.add_(self.alpha, p.data - slow_p)
                    p.data.copy_(slow_p)
        return loss
'''

# name -> (source, class name, constructor keyword arguments, extra keys for the second group)
OPTIMIZERS = {
    "accsgd": (ACCSGD, "AccSGD", dict(lr=0.01, weight_decay=1e-3), {}),
    "adamod": (ADAMOD, "AdaMod", dict(lr=0.01, weight_decay=1e-3), {}),
    "diffgrad": (DIFFGRAD, "DiffGrad", dict(lr=0.01, weight_decay=1e-3), {}),
    "a2grad_uni": (A2GRAD_UNI, "A2GradUni", dict(lr=0.05, beta=2, lips=5), {}),
    "pid": (PID, "PID", dict(lr=0.01, momentum=0.9, weight_decay=1e-3), {}),
    "qhm": (QHM, "QHM", dict(lr=0.05, momentum=0.9, weight_decay=1e-3),
            {"weight_decay_type": "direct"}),
    "sgdw": (SGDW, "SGDW", dict(lr=0.05, momentum=0.9, weight_decay=1e-3),
             {"nesterov": True}),
    "swats": (SWATS, "SWATS", dict(lr=0.01, weight_decay=1e-3, amsgrad=True),
              {"phase": "SGD"}),
    "shampoo": (SHAMPOO, "Shampoo", dict(lr=0.05, momentum=0.5, weight_decay=1e-3,
                                                   epsilon=0.1), {}),
    "adafactor_fairseq": (ADAFACTOR_FAIRSEQ, "Adafactor", dict(lr=None, beta1=0.9), {}),
    "adafactor_fairseq_lr": (ADAFACTOR_FAIRSEQ, "Adafactor",
                             dict(lr=0.01, relative_step=False, weight_decay=1e-3), {}),
    "sm3": (SM3, "SM3", dict(lr=0.05, momentum=0.5), {"beta": 0.9}),
    "bert_adam": (BERT_ADAM, "BertAdam",
                  dict(lr=0.02, warmup=0.1, t_total=40, max_grad_norm=0.5), {}),
    "openai_adam": (OPENAI_ADAM, "OpenAIAdam",
                    dict(lr=0.02, warmup=0.1, t_total=40, weight_decay=0.01,
                         max_grad_norm=0.5), {"schedule": "warmup_constant"}),
    "hf_adamw_2x": (HF_ADAMW_2X, "AdamW", dict(lr=0.01, weight_decay=0.01),
                    {"correct_bias": False}),
    "ranger_qh": (RANGER_QH, "RangerQH", dict(lr=0.01, weight_decay=1e-3, k=4),
                  {"decouple_weight_decay": True}),
    "ranger_va": (RANGER_VA, "RangerVA", dict(lr=0.01, weight_decay=1e-3, k=4), {}),
}
