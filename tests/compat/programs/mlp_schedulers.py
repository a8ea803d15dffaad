"""An MLP classifier driven by a torch.optim.lr_scheduler (StepLR, OneCycleLR, ReduceLROnPlateau,
CosineAnnealingLR after a LinearLR warmup), with a DataLoader over pinned memory."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def make_blobs(n, seed):
    rs = np.random.RandomState(seed)
    centers = rs.randn(5, 10) * 2.0
    y = rs.randint(0, 5, size=n)
    x = centers[y] + rs.randn(n, 10)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


class MLP(nn.Module):
    def __init__(self, d_in=10, hidden=32, n_classes=5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scheduler", default="onecycle",
                        choices=["step", "onecycle", "plateau", "warmup_cosine"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cuda", action="store_true")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    torch.backends.cudnn.benchmark = True

    train_ds = TensorDataset(*make_blobs(160, args.seed))
    val_ds = TensorDataset(*make_blobs(64, args.seed + 1))
    train_loader = DataLoader(train_ds, batch_size=args.batch_size, shuffle=False,
                              pin_memory=True, num_workers=0, drop_last=True)
    val_loader = DataLoader(val_ds, batch_size=64, pin_memory=True, num_workers=0)

    model = MLP().to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device))
    if args.compile:
        model = torch.compile(model)

    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4,
                                nesterov=True)
    per_batch = False
    if args.scheduler == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.3)
    elif args.scheduler == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=args.lr * 4, epochs=args.epochs, steps_per_epoch=len(train_loader))
        per_batch = True
    elif args.scheduler == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5,
                                                               patience=0, threshold=0.05)
    else:
        warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs - 2)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine],
                                                          milestones=[2])

    for epoch in range(args.epochs):
        model.train()
        for i, (x, y) in enumerate(train_loader):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            if per_batch:
                scheduler.step()
            print(f"epoch {epoch} iter {i} lr {optimizer.param_groups[0]['lr']:.6g} "
                  f"loss {loss.item():.9g}")
        model.eval()
        val_loss, correct = 0.0, 0
        with torch.no_grad():
            for x, y in val_loader:
                x, y = x.to(device), y.to(device)
                out = model(x)
                val_loss += F.cross_entropy(out, y, reduction="sum").item()
                correct += (out.argmax(1) == y).sum().item()
        val_loss /= len(val_ds)
        if args.scheduler == "plateau":
            scheduler.step(val_loss)
        elif not per_batch:
            scheduler.step()
        print(f"epoch {epoch} val loss {val_loss:.9g} acc {correct / len(val_ds):.4f} "
              f"last_lr {scheduler.get_last_lr()[0]:.6g}")


if __name__ == "__main__":
    main()
