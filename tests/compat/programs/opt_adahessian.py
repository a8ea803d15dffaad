# ruff: noqa: UP008, UP032  (torch 1.x style, as users wrote it)
"""AdaHessian (Yao et al., 2021) as the authors' and torch-optimizer's code write it: the
Hutchinson estimate of the Hessian diagonal from ``torch.autograd.grad`` of the gradients
(``loss.backward(create_graph=True)``) with Rademacher vectors from ``torch.randint_like``,
averaged over each conv kernel's spatial positions."""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.optimizer import Optimizer


class Adahessian(Optimizer):
    def __init__(self, params, lr=0.15, betas=(0.9, 0.999), eps=1e-4, weight_decay=0,
                 hessian_power=1):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= hessian_power <= 1.0:
            raise ValueError("Invalid Hessian power value: {}".format(hessian_power))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        hessian_power=hessian_power)
        super(Adahessian, self).__init__(params, defaults)

    def get_trace(self, params, grads):
        for i, grad in enumerate(grads):
            if grad.grad_fn is None:
                raise RuntimeError("Gradient tensor {:} does not have grad_fn. When calling "
                                   "loss.backward(), make sure the option create_graph is set "
                                   "to True.".format(i))
        v = [torch.randint_like(p, high=2) for p in params]
        for v_i in v:
            v_i[v_i == 0] = -1
        hvs = torch.autograd.grad(grads, params, grad_outputs=v, only_inputs=True,
                                  retain_graph=False)
        hutchinson_trace = []
        for hv in hvs:
            param_size = hv.size()
            if len(param_size) <= 2:  # Hessian diagonal block size is 1 here
                tmp_output = torch.abs(hv)
            elif len(param_size) == 4:  # conv kernel: average over the spatial block
                tmp_output = torch.mean(torch.abs(hv), dim=[2, 3], keepdim=True)
            hutchinson_trace.append(tmp_output)
        return hutchinson_trace

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        grads = [p.grad for p in params]
        hut_traces = iter(self.get_trace(params, grads))
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad, hut_trace = p.grad, next(hut_traces)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_hessian_diag_sq"] = torch.zeros_like(p.data)
                exp_avg, exp_hessian_diag_sq = state["exp_avg"], state["exp_hessian_diag_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(1 - beta1, grad.detach_())
                exp_hessian_diag_sq.mul_(beta2).addcmul_(1 - beta2, hut_trace, hut_trace)
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                k = group["hessian_power"]
                denom = ((exp_hessian_diag_sq.sqrt() ** k) /
                         math.sqrt(bias_correction2) ** k).add_(group["eps"])
                p.data = p.data - group["lr"] * (exp_avg / bias_correction1 / denom +
                                                 group["weight_decay"] * p.data)
        return loss


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc1 = nn.Linear(4 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = torch.tanh(self.conv(x))
        return self.fc2(torch.tanh(self.fc1(x.flatten(1))))


def make_data(n, seed):
    rs = np.random.RandomState(seed)
    y = rs.randint(0, 3, size=n)
    x = rs.randn(n, 1, 6, 6) * 0.5
    x[:, 0, y + 1, :] += 1.0  # the class is a bright row
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    data, target = make_data(48, args.seed)
    model = Net()
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    optimizer = Adahessian(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    for step in range(args.steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward(create_graph=True)
        optimizer.step()
        print("step {} loss {:.8f}".format(step, loss.item()))
    hess = sum(s["exp_hessian_diag_sq"].sum().item() for s in optimizer.state.values())
    print("hessian diag sq sum {:.8e}".format(hess))
    with torch.no_grad():
        acc = (model(data).argmax(1) == target).float().mean().item()
    print("final loss {:.8f} accuracy {:.4f}".format(F.cross_entropy(model(data), target).item(), acc))


if __name__ == "__main__":
    main()
