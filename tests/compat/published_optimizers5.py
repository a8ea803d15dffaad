"""Published optimizers, round 5, part one, in their authors' torch 1.x style.

Executed twice by ``test_published_optimizers5.py`` (torch bound to real torch, then to gradstep)
with the namespace ``torch, Optimizer, required, math, copy``. Sources: jettify/pytorch-optimizer's
AccSGD, AdaMod, DiffGrad, A2GradUni, PID, QHM, SGDW, SWATS and Shampoo (part two and the registry
are in ``published_optimizers5b.py``). The idioms are kept: scalar-first overloads,
``p.data``/``p.grad.data``, int ``step`` state, ``copy.deepcopy`` of tensors, ``abs(tensor)``,
``torch.eye(n, out=grad.new(n, n))``, ``torch.svd``, ``transpose_``, ``torch.max(a, b, out=a)``,
``.item()`` mixing, ``w.new(1).fill_(0)``, ``p.add_(number, alpha=...)`` (jettify SGDW's
published bug: it adds the weight decay itself, not the weights times it).
"""

ACCSGD = '''
class AccSGD(Optimizer):
    def __init__(self, params, lr=1e-3, kappa=1000.0, xi=10.0, small_const=0.7,
                 weight_decay=0):
        defaults = dict(lr=lr, kappa=kappa, xi=xi, small_const=small_const,
                        weight_decay=weight_decay)
        super(AccSGD, self).__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            weight_decay = group['weight_decay']
            large_lr = (group['lr'] * group['kappa']) / (group['small_const'])
            alpha = 1.0 - ((group['small_const'] * group['small_const'] * group['xi'])
                           / group['kappa'])
            beta = 1.0 - alpha
            zeta = group['small_const'] / (group['small_const'] + beta)
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad.data
                if weight_decay != 0:
                    d_p.add_(weight_decay, p.data)
                param_state = self.state[p]
                if 'momentum_buffer' not in param_state:
                    param_state['momentum_buffer'] = copy.deepcopy(p.data)
                buf = param_state['momentum_buffer']
                buf.mul_((1.0 / beta) - 1.0)
                buf.add_(-large_lr, d_p)
                buf.add_(p.data)
                buf.mul_(beta)
                p.data.add_(-group['lr'], d_p)
                p.data.mul_(zeta)
                p.data.add_(1.0 - zeta, buf)
        return loss
'''

ADAMOD = '''
class AdaMod(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), beta3=0.999, eps=1e-8,
                 weight_decay=0):
        defaults = dict(lr=lr, betas=betas, beta3=beta3, eps=eps, weight_decay=weight_decay)
        super(AdaMod, self).__init__(params, defaults)

    def __setstate__(self, state):
        super(AdaMod, self).__setstate__(state)

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
                    raise RuntimeError('AdaMod does not support sparse gradients')
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['exp_avg'] = torch.zeros_like(p.data)
                    state['exp_avg_sq'] = torch.zeros_like(p.data)
                    state['exp_avg_lr'] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq, exp_avg_lr = (state['exp_avg'], state['exp_avg_sq'],
                                                   state['exp_avg_lr'])
                beta1, beta2 = group['betas']
                state['step'] += 1
                exp_avg.mul_(beta1).add_(1 - beta1, grad)
                exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                denom = exp_avg_sq.sqrt().add_(group['eps'])
                bias_correction1 = 1 - beta1 ** state['step']
                bias_correction2 = 1 - beta2 ** state['step']
                step_size = group['lr'] * math.sqrt(bias_correction2) / bias_correction1
                if group['weight_decay'] != 0:
                    p.data.add_(-group['weight_decay'] * group['lr'], p.data)
                step_size = torch.full_like(denom, step_size)
                step_size.div_(denom)
                exp_avg_lr.mul_(group['beta3']).add_(1 - group['beta3'], step_size)
                step_size = torch.min(step_size, exp_avg_lr)
                step_size.mul_(exp_avg)
                p.data.add_(-step_size)
        return loss
'''

DIFFGRAD = '''
class DiffGrad(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super(DiffGrad, self).__init__(params, defaults)

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
                    raise RuntimeError('diffGrad does not support sparse gradients')
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['exp_avg'] = torch.zeros_like(p.data)
                    state['exp_avg_sq'] = torch.zeros_like(p.data)
                    state['previous_grad'] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq, previous_grad = (state['exp_avg'], state['exp_avg_sq'],
                                                      state['previous_grad'])
                beta1, beta2 = group['betas']
                state['step'] += 1
                if group['weight_decay'] != 0:
                    grad.add_(group['weight_decay'], p.data)
                exp_avg.mul_(beta1).add_(1 - beta1, grad)
                exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                denom = exp_avg_sq.sqrt().add_(group['eps'])
                bias_correction1 = 1 - beta1 ** state['step']
                bias_correction2 = 1 - beta2 ** state['step']
                diff = abs(previous_grad - grad)
                dfc = 1. / (1. + torch.exp(-diff))
                state['previous_grad'] = grad.clone()
                exp_avg1 = exp_avg * dfc
                step_size = group['lr'] * math.sqrt(bias_correction2) / bias_correction1
                p.data.addcdiv_(-step_size, exp_avg1, denom)
        return loss
'''

A2GRAD_UNI = '''
class A2GradUni(Optimizer):
    def __init__(self, params, lr=None, beta=10, lips=10):
        defaults = dict(beta=beta, lips=lips, lr=lr)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['alpha_k'] = 1
                    state['v_k'] = 0
                    state['avg_grad'] = copy.deepcopy(grad)
                    state['x_k'] = copy.deepcopy(p.data)
                gamma_k = 2 * group['lips'] / (state['step'] + 1)
                avg_grad = state['avg_grad']
                avg_grad.mul_(state['step'])
                avg_grad.add_(grad)
                avg_grad.div_(state['step'] + 1)
                delta_k = torch.add(grad, avg_grad, alpha=-1)
                state['v_k'] += torch.sum(delta_k * delta_k).item()
                h_k = math.sqrt(state['v_k'])
                alpha_k_1 = 2 / (state['step'] + 3)
                coef = 1 / (gamma_k + group['beta'] * h_k)
                x_k_1 = state['x_k']
                x_k_1.add_(grad.mul_(coef), alpha=-1)
                p.data.mul_(1 - alpha_k_1)
                p.data.add_(x_k_1.mul(alpha_k_1))
                p.data.add_(grad.mul(-(1 - alpha_k_1) * coef))
                state['alpha_k'] = alpha_k_1
                state['step'] += 1
        return loss
'''

PID = '''
class PID(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0, weight_decay=0.0,
                 integral=5.0, derivative=10.0):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, integral=integral, derivative=derivative)
        super(PID, self).__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            weight_decay = group['weight_decay']
            momentum = group['momentum']
            dampening = group['dampening']
            integral = group['integral']
            derivative = group['derivative']
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad.data
                if weight_decay != 0:
                    d_p.add_(weight_decay, p.data)
                if momentum != 0:
                    param_state = self.state[p]
                    if 'i_buffer' not in param_state:
                        i_buf = param_state['i_buffer'] = torch.zeros_like(p)
                        i_buf.mul_(momentum).add_(d_p)
                    else:
                        i_buf = param_state['i_buffer']
                        i_buf.mul_(momentum).add_(1 - dampening, d_p)
                    if 'grad_buffer' not in param_state:
                        g_buf = param_state['grad_buffer'] = torch.zeros_like(p)
                        g_buf = d_p
                        d_buf = param_state['d_buffer'] = torch.zeros_like(p)
                        d_buf.mul_(momentum).add_(d_p - g_buf)
                    else:
                        d_buf = param_state['d_buffer']
                        g_buf = param_state['grad_buffer']
                        d_buf.mul_(momentum).add_(1 - momentum, d_p - g_buf)
                        self.state[p]['grad_buffer'] = d_p.clone()
                    d_p = d_p.add_(integral, i_buf).add_(derivative, d_buf)
                p.data.add_(-group['lr'], d_p)
        return loss
'''

QHM = '''
class QHM(Optimizer):
    GRAD = 'grad'
    DIRECT = 'direct'

    def __init__(self, params, lr=1e-3, momentum=0.0, nu=0.7, weight_decay=0.0,
                 weight_decay_type='grad'):
        defaults = {'lr': lr, 'momentum': momentum, 'nu': nu, 'weight_decay': weight_decay,
                    'weight_decay_type': weight_decay_type}
        super(QHM, self).__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            lr, nu, momentum = group['lr'], group['nu'], group['momentum']
            weight_decay, weight_decay_type = group['weight_decay'], group['weight_decay_type']
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad.data
                param_state = self.state[p]
                if weight_decay != 0:
                    if weight_decay_type == self.GRAD:
                        d_p.add_(weight_decay, p.data)
                    else:
                        p.data.mul_(1.0 - lr * weight_decay)
                if len(param_state) == 0:
                    param_state['momentum_buffer'] = torch.zeros_like(
                        p.data, memory_format=torch.preserve_format)
                momentum_buffer = param_state['momentum_buffer']
                momentum_buffer.mul_(momentum).add_(1.0 - momentum, d_p)
                p.data.add_(-lr * nu, momentum_buffer)
                p.data.add_(-lr * (1.0 - nu), d_p)
        return loss
'''

SGDW = '''
class SGDW(Optimizer):
    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError('Nesterov momentum requires a momentum and zero dampening')
        super(SGDW, self).__init__(params, defaults)

    def __setstate__(self, state):
        super(SGDW, self).__setstate__(state)
        for group in self.param_groups:
            group.setdefault('nesterov', False)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            weight_decay = group['weight_decay']
            momentum = group['momentum']
            dampening = group['dampening']
            nesterov = group['nesterov']
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad.data
                if p.grad.data.is_sparse:
                    raise RuntimeError('SGDW does not support sparse gradients')
                if momentum != 0:
                    param_state = self.state[p]
                    if 'momentum_buffer' not in param_state:
                        buf = param_state['momentum_buffer'] = torch.clone(d_p).detach()
                    else:
                        buf = param_state['momentum_buffer']
                        buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                    if nesterov:
                        d_p = d_p.add(momentum, buf)
                    else:
                        d_p = buf
                # Apply momentum
                p.data.add_(d_p, alpha=-group['lr'])
                # Apply weight decay (as published: adds the number, not the weights)
                if weight_decay != 0:
                    p.data.add_(weight_decay, alpha=-group['lr'])
        return loss
'''

SWATS = '''
class SWATS(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-3, weight_decay=0,
                 amsgrad=False, nesterov=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, phase='ADAM', weight_decay=weight_decay,
                        amsgrad=amsgrad, nesterov=nesterov)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('amsgrad', False)
            group.setdefault('nesterov', False)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for w in group['params']:
                if w.grad is None:
                    continue
                grad = w.grad.data
                if grad.is_sparse:
                    raise RuntimeError('SWATS does not support sparse gradients')
                amsgrad = group['amsgrad']
                state = self.state[w]
                if len(state) == 0:
                    state['step'] = 0
                    state['exp_avg'] = torch.zeros_like(w.data, memory_format=torch.preserve_format)
                    state['exp_avg_sq'] = torch.zeros_like(w.data,
                                                           memory_format=torch.preserve_format)
                    state['exp_avg2'] = w.new(1).fill_(0)
                    if amsgrad:
                        state['max_exp_avg_sq'] = torch.zeros_like(
                            w.data, memory_format=torch.preserve_format)
                exp_avg, exp_avg2, exp_avg_sq = (state['exp_avg'], state['exp_avg2'],
                                                 state['exp_avg_sq'])
                if amsgrad:
                    max_exp_avg_sq = state['max_exp_avg_sq']
                beta1, beta2 = group['betas']
                state['step'] += 1
                if group['weight_decay'] != 0:
                    grad.add_(w.data, alpha=group['weight_decay'])
                if group['phase'] == 'SGD':
                    if 'momentum_buffer' not in state:
                        buf = state['momentum_buffer'] = torch.clone(grad).detach()
                    else:
                        buf = state['momentum_buffer']
                        buf.mul_(beta1).add_(grad)
                        grad = buf
                    grad.mul_(1 - beta1)
                    if group['nesterov']:
                        grad.add_(buf, alpha=beta1)
                    w.data.add_(grad, alpha=-group['lr'])
                    continue
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if amsgrad:
                    torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = max_exp_avg_sq.sqrt().add_(group['eps'])
                else:
                    denom = exp_avg_sq.sqrt().add_(group['eps'])
                bias_correction1 = 1 - beta1 ** state['step']
                bias_correction2 = 1 - beta2 ** state['step']
                step_size = group['lr'] * (bias_correction2 ** 0.5) / bias_correction1
                p = -step_size * (exp_avg / denom)
                w.data.add_(p)
                p_view = p.view(-1)
                pg = p_view.dot(grad.view(-1))
                if pg != 0:
                    scaling = p_view.dot(p_view) / -pg
                    exp_avg2.mul_(beta2).add_(scaling, alpha=1 - beta2)
                    corrected_exp_avg = exp_avg2 / bias_correction2
                    if (state['step'] > 1 and corrected_exp_avg.allclose(scaling, rtol=1e-6)
                            and corrected_exp_avg > 0):
                        group['phase'] = 'SGD'
                        group['lr'] = corrected_exp_avg.item()
        return loss
'''

SHAMPOO = '''
def _matrix_power(matrix, power):
    device = matrix.device
    matrix = matrix.cpu()
    u, s, v = torch.svd(matrix)
    return (u @ s.pow_(power).diag() @ v.t()).to(device)


class Shampoo(Optimizer):
    def __init__(self, params, lr=1e-1, momentum=0.0, weight_decay=0.0, epsilon=1e-4,
                 update_freq=1):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        epsilon=epsilon, update_freq=update_freq)
        super(Shampoo, self).__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = p.grad.data
                order = grad.ndimension()
                original_size = grad.size()
                state = self.state[p]
                momentum = group['momentum']
                weight_decay = group['weight_decay']
                if len(state) == 0:
                    state['step'] = 0
                    if momentum > 0:
                        state['momentum_buffer'] = grad.clone()
                    for dim_id, dim in enumerate(grad.size()):
                        state['precond_{}'.format(dim_id)] = group['epsilon'] * torch.eye(
                            dim, out=grad.new(dim, dim))
                        state['inv_precond_{dim_id}'.format(dim_id=dim_id)] = grad.new(
                            dim, dim).zero_()
                if momentum > 0:
                    grad.mul_(1 - momentum).add_(momentum, state['momentum_buffer'])
                if weight_decay > 0:
                    grad.add_(weight_decay, p.data)
                for dim_id, dim in enumerate(grad.size()):
                    precond = state['precond_{}'.format(dim_id)]
                    inv_precond = state['inv_precond_{}'.format(dim_id)]
                    grad = grad.transpose_(0, dim_id).contiguous()
                    transposed_size = grad.size()
                    grad = grad.view(dim, -1)
                    grad_t = grad.t()
                    precond.add_(grad @ grad_t)
                    if state['step'] % group['update_freq'] == 0:
                        inv_precond.copy_(_matrix_power(precond, -1 / order))
                    if dim_id == order - 1:
                        grad = grad_t @ inv_precond
                        grad = grad.view(original_size)
                    else:
                        grad = inv_precond @ grad
                        grad = grad.view(transposed_size)
                state['step'] += 1
                state['momentum_buffer'] = grad
                p.data.add_(-group['lr'], grad)
        return loss
'''
