"""Second-order MAML on sine regression and a torch.func PINN, as their authors write them.

MAML: fast weights from ``torch.autograd.grad(loss, params.values(), create_graph=True)``
through ``torch.func.functional_call`` (and the older ``OrderedDict`` + ``F.linear`` style);
the meta-gradient flows through the inner steps. PINN: the Laplacian of u(x) from
``vmap(hessian(u, argnums=1))`` with the weights in another argument, trained by Adam.
"""

import argparse
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, hessian, vmap


class SineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1, 32)
        self.fc2 = nn.Linear(32, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x, weights=None):
        if weights is None:
            weights = OrderedDict(self.named_parameters())
        x = F.relu(F.linear(x, weights["fc1.weight"], weights["fc1.bias"]))
        x = F.relu(F.linear(x, weights["fc2.weight"], weights["fc2.bias"]))
        return F.linear(x, weights["out.weight"], weights["out.bias"])


def sine_tasks(rs, n_tasks, k):
    amp = rs.uniform(0.1, 5.0, size=(n_tasks, 1, 1))
    phase = rs.uniform(0, np.pi, size=(n_tasks, 1, 1))
    xs, xq = (rs.uniform(-5, 5, size=(n_tasks, k, 1)) for _ in range(2))
    f = lambda x: (amp * np.sin(x + phase)).astype(np.float32)  # noqa: E731
    return [torch.from_numpy(a.astype(np.float32)) for a in (xs, f(xs), xq, f(xq))]


def maml(model, rs, args):
    meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for it in range(args.meta_iters):
        xs, ys, xq, yq = sine_tasks(rs, 3, 10)
        meta_opt.zero_grad()
        meta_loss = 0.0
        for t in range(3):
            params = dict(model.named_parameters())
            for _ in range(2):
                loss = F.mse_loss(functional_call(model, params, (xs[t],)), ys[t])
                grads = torch.autograd.grad(loss, params.values(), create_graph=True)
                params = {name: p - 0.01 * g for (name, p), g in zip(params.items(), grads)}
            meta_loss = meta_loss + F.mse_loss(model(xq[t], params), yq[t])
        (meta_loss / 3).backward()
        meta_opt.step()
        print(f"maml {it} loss {meta_loss.item() / 3:.6g} fc1 grad {model.fc1.weight.grad.norm():.6g}")


def pinn(net, rs, args):
    params = dict(net.named_parameters())

    def u(p, x):
        return functional_call(net, p, (x.unsqueeze(0),)).squeeze()

    pts = torch.from_numpy(rs.rand(24, 2).astype(np.float32))
    edge = torch.from_numpy(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32))
    f = -2 * np.pi ** 2 * torch.sin(np.pi * pts[:, 0]) * torch.sin(np.pi * pts[:, 1])
    opt = torch.optim.Adam(params.values(), lr=1e-2)
    for it in range(args.pinn_iters):
        lap = vmap(hessian(u, argnums=1), in_dims=(None, 0))(params, pts)
        residual = lap.diagonal(dim1=-2, dim2=-1).sum(-1) - f
        loss = residual.pow(2).mean() + net(edge).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"pinn {it} loss {loss.item():.6g}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meta-iters", type=int, default=4)
    parser.add_argument("--pinn-iters", type=int, default=4)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    rs = np.random.RandomState(0)
    model = SineNet()
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    if args.save_init:
        torch.save({"maml": model.state_dict(), "pinn": net.state_dict()}, args.save_init)
    if args.init:
        state = torch.load(args.init)
        model.load_state_dict(state["maml"])
        net.load_state_dict(state["pinn"])
    maml(model, rs, args)
    pinn(net, rs, args)


if __name__ == "__main__":
    main()
