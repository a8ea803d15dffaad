"""A program that takes everything from torch.manual_seed: weights, data, shuffles, dropout
and sampling (no --init weights: under gradstep the same seed must give torch's numbers)."""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.conv = nn.Conv1d(8, 16, 3, padding=1)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(16 * 6, 5)
        nn.init.trunc_normal_(self.head.weight, std=0.02)

    def forward(self, x):
        h = F.relu(self.conv(self.emb(x).transpose(1, 2)))
        return self.head(self.drop(h.flatten(1)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--save-init")  # the harness passes these; this program ignores them
    parser.add_argument("--init")
    parser.parse_args()
    torch.manual_seed(0)
    model = Net()
    x = torch.randint(0, 20, (96, 6))
    y = (x.sum(1) % 5)
    train, val = random_split(TensorDataset(x, y), [80, 16])
    loader = DataLoader(train, batch_size=16, shuffle=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    for epoch in range(4):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        sched.step()
        print(f"epoch {epoch} loss {total / len(loader):.6f}")
    model.eval()
    with torch.no_grad():
        logits = model(torch.stack([val[i][0] for i in range(len(val))]))
        probs = F.softmax(logits, dim=-1)
    print("sampled", torch.multinomial(probs, 1).flatten().tolist())
    print("categorical", torch.distributions.Categorical(probs=probs).sample().tolist())
    print("noise", [round(v, 5) for v in torch.randn(4).tolist()], torch.randperm(6).tolist())


if __name__ == "__main__":
    main()
