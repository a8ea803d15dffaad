# ruff: noqa: UP008, UP032  (torch 1.x style, as users wrote it)
"""Adan (adaptive Nesterov momentum) as an Optimizer subclass using torch._foreach_* ops."""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.optimizer import Optimizer
from torch.utils.data import DataLoader, TensorDataset


class Adan(Optimizer):
    """Adan: Xie et al. 2022, "Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
    Models". betas are (beta1, beta2, beta3) for the gradient, gradient-difference and squared
    Nesterov-gradient averages."""

    def __init__(self, params, lr=1e-3, betas=(0.98, 0.92, 0.99), eps=1e-8, weight_decay=0.0,
                 max_grad_norm=0.0, no_prox=False):
        if not 0.0 <= max_grad_norm:
            raise ValueError("Invalid Max grad norm: {}".format(max_grad_norm))
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError("Invalid beta parameter at index {}: {}".format(i, b))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        max_grad_norm=max_grad_norm, no_prox=no_prox)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super(Adan, self).__setstate__(state)
        for group in self.param_groups:
            group.setdefault("no_prox", False)

    @torch.no_grad()
    def restart_opt(self):
        for group in self.param_groups:
            group["step"] = 0
            for p in group["params"]:
                if p.requires_grad:
                    state = self.state[p]
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["exp_avg_diff"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        if self.defaults["max_grad_norm"] > 0:
            device = self.param_groups[0]["params"][0].device
            global_grad_norm = torch.zeros(1, device=device)
            max_grad_norm = torch.tensor(self.defaults["max_grad_norm"], device=device)
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        global_grad_norm.add_(p.grad.pow(2).sum())
            global_grad_norm = torch.sqrt(global_grad_norm)
            clip_global_grad_norm = torch.clamp(max_grad_norm / (global_grad_norm + 1e-6),
                                                max=1.0).item()
        else:
            clip_global_grad_norm = 1.0

        for group in self.param_groups:
            params_with_grad, grads, exp_avgs, exp_avg_sqs, exp_avg_diffs, neg_pre_grads = (
                [], [], [], [], [], [])
            beta1, beta2, beta3 = group["betas"]
            group["step"] = group.get("step", 0) + 1
            bias_correction1 = 1.0 - beta1 ** group["step"]
            bias_correction2 = 1.0 - beta2 ** group["step"]
            bias_correction3 = 1.0 - beta3 ** group["step"]

            for p in group["params"]:
                if p.grad is None:
                    continue
                params_with_grad.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["exp_avg_diff"] = torch.zeros_like(p)
                if "neg_pre_grad" not in state or group["step"] == 1:
                    state["neg_pre_grad"] = p.grad.clone().mul_(-clip_global_grad_norm)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                exp_avg_diffs.append(state["exp_avg_diff"])
                neg_pre_grads.append(state["neg_pre_grad"])

            if not params_with_grad:
                continue
            grads = torch._foreach_mul(grads, clip_global_grad_norm)
            # diff = grad - previous grad (neg_pre_grads holds minus the previous gradient)
            torch._foreach_add_(neg_pre_grads, grads)
            diffs = neg_pre_grads
            torch._foreach_mul_(exp_avgs, beta1)
            torch._foreach_add_(exp_avgs, grads, alpha=1 - beta1)  # m_t
            torch._foreach_mul_(exp_avg_diffs, beta2)
            torch._foreach_add_(exp_avg_diffs, diffs, alpha=1 - beta2)  # diff_t
            update = torch._foreach_add(grads, diffs, alpha=beta2)
            torch._foreach_mul_(exp_avg_sqs, beta3)
            torch._foreach_addcmul_(exp_avg_sqs, update, update, value=1 - beta3)  # n_t
            denom = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_div_(denom, math.sqrt(bias_correction3))
            torch._foreach_add_(denom, group["eps"])
            step_size = group["lr"] / bias_correction1
            step_size_diff = group["lr"] * beta2 / bias_correction2
            if group["no_prox"]:
                torch._foreach_mul_(params_with_grad, 1 - group["lr"] * group["weight_decay"])
                torch._foreach_addcdiv_(params_with_grad, exp_avgs, denom, value=-step_size)
                torch._foreach_addcdiv_(params_with_grad, exp_avg_diffs, denom,
                                        value=-step_size_diff)
            else:
                torch._foreach_addcdiv_(params_with_grad, exp_avgs, denom, value=-step_size)
                torch._foreach_addcdiv_(params_with_grad, exp_avg_diffs, denom,
                                        value=-step_size_diff)
                torch._foreach_div_(params_with_grad, 1 + group["lr"] * group["weight_decay"])
            # keep minus this gradient for the next step's difference
            torch._foreach_zero_(neg_pre_grads)
            torch._foreach_add_(neg_pre_grads, grads, alpha=-1.0)

        return loss


def make_blobs(n, seed):
    rs = np.random.RandomState(seed)
    centers = rs.randn(3, 6) * 1.5
    y = rs.randint(0, 3, size=n)
    return (torch.from_numpy((centers[y] + rs.randn(n, 6)).astype(np.float32)),
            torch.from_numpy(y.astype(np.int64)))


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(6, 24)
        self.fc2 = nn.Linear(24, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--weight-decay", type=float, default=2e-2)
    parser.add_argument("--max-grad-norm", type=float, default=0.0)
    parser.add_argument("--no-prox", action="store_true")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-cuda", action="store_true")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu")
    loader = DataLoader(TensorDataset(*make_blobs(100, args.seed)), batch_size=args.batch_size)
    model = Net().to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    optimizer = Adan(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                     max_grad_norm=args.max_grad_norm, no_prox=args.no_prox)
    for epoch in range(1, args.epochs + 1):
        for batch_idx, (data, target) in enumerate(loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            print("Train Epoch: {} [{}/{}]\tLoss: {:.8f}".format(
                epoch, batch_idx * len(data), len(loader.dataset), loss.item()))
    # one more step through the closure form
    def closure():
        optimizer.zero_grad()
        out = F.cross_entropy(model(data), target)
        out.backward()
        return out
    print("closure loss: {:.8f}".format(optimizer.step(closure).item()))
    print("exp_avg_sq sum loss {:.8e}".format(
        sum(s["exp_avg_sq"].sum().item() for s in optimizer.state.values())))


if __name__ == "__main__":
    main()
