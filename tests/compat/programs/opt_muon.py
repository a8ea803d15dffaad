# ruff: noqa: E501, UP032  (as the authors wrote it)
"""Keller Jordan's Muon as published (bfloat16 Newton-Schulz with ``X.mT``, ``lerp_`` momentum,
the shape rule) with its auxiliary Adam for the non-matrix parameters, and Moonlight's variant
(``adjust_lr`` 0.2 * sqrt(max(A, B))) beside torch's AdamW on a conv net.

The published ``zeropower_via_newtonschulz5`` is decorated with ``@torch.compile``; it is left
off here: torch's inductor fuses the bfloat16 iteration and keeps intermediates in float32, so
compiled torch rounds differently from eager torch (about 1e-2 relative after a few steps),
while gradstep runs the function eagerly. The bfloat16 update added to float32 parameters
(``p.add_(update, alpha=-lr)``) must be computed in float32, as torch does."""
import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def zeropower_via_newtonschulz5(G, steps: int):
    """
    Newton-Schulz iteration to compute the zeroth power / orthogonalization of G.
    """
    assert G.ndim >= 2
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.bfloat16()
    if G.size(-2) > G.size(-1):
        X = X.mT

    # Ensure spectral norm is at most 1
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    # Perform the NS iterations
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X

    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


def muon_update(grad, momentum, beta=0.95, ns_steps=5, nesterov=True):
    momentum.lerp_(grad, 1 - beta)
    update = grad.lerp_(momentum, beta) if nesterov else momentum
    if update.ndim == 4:  # for the case of conv filters
        update = update.view(len(update), -1)
    update = zeropower_via_newtonschulz5(update, steps=ns_steps)
    update *= max(1, grad.size(-2) / grad.size(-1))**0.5
    return update


def adam_update(grad, buf1, buf2, step, betas, eps):
    buf1.lerp_(grad, 1 - betas[0])
    buf2.lerp_(grad.square(), 1 - betas[1])
    buf1c = buf1 / (1 - betas[0]**step)
    buf2c = buf2 / (1 - betas[1]**step)
    return buf1c / (buf2c.sqrt() + eps)


class SingleDeviceMuonWithAuxAdam(torch.optim.Optimizer):
    def __init__(self, param_groups):
        for group in param_groups:
            assert "use_muon" in group
            if group["use_muon"]:
                group["lr"] = group.get("lr", 0.02)
                group["momentum"] = group.get("momentum", 0.95)
                group["weight_decay"] = group.get("weight_decay", 0)
                assert set(group.keys()) == set(["params", "lr", "momentum", "weight_decay", "use_muon"])
            else:
                group["lr"] = group.get("lr", 3e-4)
                group["betas"] = group.get("betas", (0.9, 0.95))
                group["eps"] = group.get("eps", 1e-10)
                group["weight_decay"] = group.get("weight_decay", 0)
                assert set(group.keys()) == set(["params", "lr", "betas", "eps", "weight_decay", "use_muon"])
        super().__init__(param_groups, dict())

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group["use_muon"]:
                for p in group["params"]:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                    state = self.state[p]
                    if len(state) == 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    update = muon_update(p.grad, state["momentum_buffer"], beta=group["momentum"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update.reshape(p.shape), alpha=-group["lr"])
            else:
                for p in group["params"]:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                    state = self.state[p]
                    if len(state) == 0:
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                        state["step"] = 0
                    state["step"] += 1
                    update = adam_update(p.grad, state["exp_avg"], state["exp_avg_sq"],
                                         state["step"], group["betas"], group["eps"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update, alpha=-group["lr"])
        return loss


# Moonlight-style Muon with the adjust_lr shape rule, paired with torch AdamW
class MoonMuon(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, wd=0.1, momentum=0.95, nesterov=True, ns_steps=5):
        defaults = dict(lr=lr, wd=wd, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps)
        super().__init__(params, defaults)

    def adjust_lr_for_muon(self, lr, param_shape):
        A, B = param_shape[:2]
        adjusted_ratio = 0.2 * math.sqrt(max(A, B))
        adjusted_lr = lr * adjusted_ratio
        return adjusted_lr

    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"]]
            lr = group["lr"]
            wd = group["wd"]
            momentum = group["momentum"]
            for p in params:
                g = p.grad
                if g is None:
                    continue
                if g.ndim > 2:
                    g = g.view(g.size(0), -1)
                assert g is not None
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                buf.mul_(momentum).add_(g)
                if group["nesterov"]:
                    g = g.add(buf, alpha=momentum)
                else:
                    g = buf
                u = zeropower_via_newtonschulz5(g, steps=group["ns_steps"])
                adjusted_lr = self.adjust_lr_for_muon(lr, p.shape)
                p.data.mul_(1 - lr * wd)
                p.data.add_(u.view(p.shape), alpha=-adjusted_lr)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 12)
        self.head = nn.Linear(12, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.fc2(F.relu(self.fc1(x)))))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.fc = nn.Linear(8 * 3 * 3, 4)

    def forward(self, x):
        x = F.relu(self.bn(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return self.fc(x.flatten(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    model, net = MLP(), ConvNet()
    if args.save_init:
        torch.save({"mlp": model.state_dict(), "conv": net.state_dict()}, args.save_init)
    if args.init:
        saved = torch.load(args.init)
        model.load_state_dict(saved["mlp"])
        net.load_state_dict(saved["conv"])
    rs = np.random.RandomState(0)
    X, y = torch.from_numpy(rs.randn(32, 8).astype(np.float32)), torch.from_numpy(rs.randn(32, 1).astype(np.float32))
    Xi = torch.from_numpy(rs.randn(8, 3, 8, 8).astype(np.float32))
    yi = torch.from_numpy(rs.randint(0, 4, size=8)).long()

    hidden_weights = [p for n, p in model.named_parameters() if p.ndim >= 2 and "head" not in n]
    others = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "head" not in n)]
    optimizer = SingleDeviceMuonWithAuxAdam([
        dict(params=hidden_weights, use_muon=True, lr=0.02, weight_decay=0.01),
        dict(params=others, use_muon=False, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.01),
    ])
    for step in range(args.steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        print("muon step {} loss {:.8f} weight sum {:.8f}".format(
            step, loss.item(), sum(p.sum().item() for p in model.parameters())))

    muon_params = [p for n, p in net.named_parameters() if p.ndim >= 2 and "fc" not in n]
    adamw_params = [p for n, p in net.named_parameters() if not (p.ndim >= 2 and "fc" not in n)]
    opts = [MoonMuon(muon_params, lr=2e-3, wd=0.1),
            torch.optim.AdamW(adamw_params, lr=2e-3, betas=(0.9, 0.95), weight_decay=0.1)]
    for step in range(args.steps):
        for o in opts:
            o.zero_grad()
        loss = F.cross_entropy(net(Xi), yi)
        loss.backward()
        for o in opts:
            o.step()
        print("moonlight step {} loss {:.8f} weight sum {:.8f}".format(
            step, loss.item(), sum(p.sum().item() for p in net.parameters())))


if __name__ == "__main__":
    main()
