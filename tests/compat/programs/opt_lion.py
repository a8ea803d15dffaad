# ruff: noqa: UP008, UP032  (torch 1.x style, as users wrote it)
"""Lion (evolved sign momentum, 2023) as an Optimizer subclass, with a torch._foreach_ path."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.optimizer import Optimizer
from torch.utils.data import DataLoader, TensorDataset


class Lion(Optimizer):
    r"""Implements the Lion algorithm (Chen et al., 2023, "Symbolic Discovery of Optimization
    Algorithms")."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, foreach=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError("Invalid beta parameter at index 0: {}".format(betas[0]))
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError("Invalid beta parameter at index 1: {}".format(betas[1]))
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, foreach=foreach)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            grads = [p.grad for p in params]
            exp_avgs = []
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avgs.append(state["exp_avg"])
            fn = _multi_tensor_lion if group["foreach"] else _single_tensor_lion
            fn(params, grads, exp_avgs, group["lr"], *group["betas"], group["weight_decay"])

        return loss


def _single_tensor_lion(params, grads, exp_avgs, lr, beta1, beta2, wd):
    for p, grad, exp_avg in zip(params, grads, exp_avgs):
        # stepweight decay
        p.mul_(1 - lr * wd)
        # weight update: sign of the interpolation of momentum and gradient
        update = exp_avg.clone().lerp_(grad, 1 - beta1).sign_()
        p.add_(update, alpha=-lr)
        # decay the momentum running average coefficient
        exp_avg.lerp_(grad, 1 - beta2)


def _multi_tensor_lion(params, grads, exp_avgs, lr, beta1, beta2, wd):
    if not params:
        return
    torch._foreach_mul_(params, 1 - lr * wd)
    updates = torch._foreach_mul(exp_avgs, beta1)
    torch._foreach_add_(updates, grads, alpha=1 - beta1)
    updates = [u.sign_() for u in updates]
    torch._foreach_add_(params, updates, alpha=-lr)
    torch._foreach_mul_(exp_avgs, beta2)
    torch._foreach_add_(exp_avgs, grads, alpha=1 - beta2)


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
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--foreach", action="store_true")
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
    optimizer = Lion(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                     foreach=args.foreach)
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
    print("momentum sum loss {:.8f}".format(
        sum(s["exp_avg"].sum().item() for s in optimizer.state.values())))


if __name__ == "__main__":
    main()
