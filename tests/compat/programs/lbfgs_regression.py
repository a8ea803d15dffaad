"""Polynomial regression fitted with LBFGS and a closure (as in pytorch/examples regression)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

POLY_DEGREE = 4


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(POLY_DEGREE, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--line-search", default="strong_wolfe")
    parser.add_argument("--no-cuda", action="store_true")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu")
    rs = np.random.RandomState(args.seed)
    W_target = rs.randn(POLY_DEGREE).astype(np.float32) * 0.5
    b_target = np.float32(rs.randn() * 0.5)
    x = torch.from_numpy(rs.uniform(-1, 1, size=args.batch_size).astype(np.float32))
    features = make_features(x).to(device)
    noise = torch.from_numpy(0.1 * rs.randn(args.batch_size).astype(np.float32)).to(device)
    target = (features @ torch.from_numpy(W_target).to(device) + float(b_target) + noise).unsqueeze(1)

    model = Net().to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))

    line_search = None if args.line_search == "none" else args.line_search
    optimizer = torch.optim.LBFGS(model.parameters(), lr=args.lr, max_iter=10,
                                  history_size=8, line_search_fn=line_search)
    for epoch in range(args.epochs):
        def closure():
            optimizer.zero_grad()
            loss = F.mse_loss(model(features), target)
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        print(f"epoch {epoch} loss {loss.item():.9g}")
    with torch.no_grad():
        final = F.mse_loss(model(features), target)
    print(f"final loss {final.item():.9g}")


if __name__ == "__main__":
    main()
