"""A CNN classifier in the style of pytorch/examples mnist (on synthetic 12x12 "digits")."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def make_data(n, seed):
    """Four classes of 12x12 images: a bar in one of four places, plus noise."""
    rs = np.random.RandomState(seed)
    labels = rs.randint(0, 4, size=n)
    images = rs.normal(0.0, 0.3, size=(n, 1, 12, 12)).astype(np.float32)
    for i, c in enumerate(labels):
        if c < 2:
            images[i, 0, 3 + 5 * c: 5 + 5 * c, :] += 1.0
        else:
            images[i, 0, :, 3 + 5 * (c - 2): 5 + 5 * (c - 2)] += 1.0
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def train(args, model, device, train_loader, optimizer, scaler, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
        optimizer.zero_grad()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.amp):
            output = model(data)
            loss = F.nll_loss(output, target)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        print(f"train epoch {epoch} batch {batch_idx} loss {loss.item():.9g}")


@torch.no_grad()
def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    for data, target in test_loader:
        data, target = data.to(device), target.to(device)
        output = model(data)
        test_loss += F.nll_loss(output, target, reduction="sum").item()
        pred = output.argmax(dim=1, keepdim=True)
        correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print(f"test loss {test_loss:.9g}")
    print(f"test accuracy {correct}/{len(test_loader.dataset)}")
    return test_loss


def main():
    parser = argparse.ArgumentParser(description="CNN example")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--test-batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--no-cuda", action="store_true", default=False)
    parser.add_argument("--amp", action="store_true", default=False)
    parser.add_argument("--compile", action="store_true", default=False)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save-model", default=None, help="where to save the trained model")
    parser.add_argument("--init", default=None, help="load the initial state_dict from here")
    parser.add_argument("--save-init", default=None, help="save the initial state_dict here")
    args = parser.parse_args()
    use_cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {"num_workers": 0, "pin_memory": True, "shuffle": False}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    train_loader = DataLoader(TensorDataset(*make_data(128, args.seed)), **train_kwargs)
    test_loader = DataLoader(TensorDataset(*make_data(64, args.seed + 1)), **test_kwargs)

    model = Net().to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device))
    if args.compile:
        model = torch.compile(model)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp and use_cuda)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, scaler, epoch)
        test(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), args.save_model)
        reloaded = Net().to(device)
        reloaded.load_state_dict(torch.load(args.save_model))
        print("reloaded", end=" ")
        test(reloaded, device, test_loader)


if __name__ == "__main__":
    main()
