"""Fit a tiny model with gradstep's autograd and a hand-written SGD step.

Run by ``make demo`` until the ``gradstep train`` command exists.
"""

import gradstep as torch

torch.manual_seed(0)
x = torch.randn(256, 3)
true_w = torch.tensor([[2.0], [-3.0], [0.5]])
y = x @ true_w + 0.1 * torch.randn(256, 1)

w = torch.zeros(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1
for step in range(101):
    loss = ((x @ w + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad = None
    b.grad = None
    if step % 20 == 0:
        print(f"step {step:3d}  loss {loss.item():.5f}")
print("learned w:", w.detach().flatten().tolist(), "b:", round(b.item(), 4))
