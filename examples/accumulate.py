"""Gradient accumulation: why ``zero_grad`` exists.

``.grad`` accumulates across ``backward()`` calls. So k micro-batches, each
loss divided by k, followed by one ``step()`` give the same update as one step
on the k-times larger batch; this script checks that, then trains that way.
"""

import os

import gradstep as torch
from gradstep import nn

torch.manual_seed(0)
x, y = torch.randn(64, 10), torch.randint(0, 4, (64,))


def fresh():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 4)).double()
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


criterion = nn.CrossEntropyLoss()
xd = x.double()

big, big_opt = fresh()
big_opt.zero_grad()
criterion(big(xd), y).backward()
big_opt.step()

k = 4
small, small_opt = fresh()
small_opt.zero_grad()
for xb, yb in zip(xd.chunk(k), y.chunk(k)):
    (criterion(small(xb), yb) / k).backward()  # gradients add up in .grad
small_opt.step()

diff = max((a - b).abs().max().item() for a, b in zip(big.parameters(), small.parameters()))
print(f"one step on 64 samples vs {k} accumulated steps of 16: max parameter difference {diff:.2e}")
assert diff < 1e-12

model, opt = fresh()
for _ in range(int(os.environ.get("EPOCHS", 20))):
    opt.zero_grad()
    for xb, yb in zip(xd.chunk(k), y.chunk(k)):
        (criterion(model(xb), yb) / k).backward()
    opt.step()
print(f"loss after accumulated training: {criterion(model(xd), y).item():.4f}")
