"""A small CNN on MNIST-format data, the torch way.

    python examples/cnn_mnist.py DIR       # DIR holds the MNIST IDX files (train-images-idx3-ubyte[.gz], ...)
    python examples/cnn_mnist.py           # no folder: the bundled 8x8 digits stand in for MNIST

Set EPOCHS in the environment to change the number of epochs (default 3).
"""

import os
import sys

import gradstep as torch
from gradstep import datasets, nn
from gradstep.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self, side):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * (side // 4) ** 2, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def datasets_for(argv):
    if len(argv) > 1:
        to_tensor = datasets.transforms.ToTensor()
        return (datasets.MNIST(argv[1], train=True, transform=to_tensor),
                datasets.MNIST(argv[1], train=False, transform=to_tensor), 28)
    print("no MNIST folder given: using the bundled 8x8 digits")
    return datasets.Digits(train=True), datasets.Digits(train=False), 8


def main():
    torch.manual_seed(0)
    train_set, test_set, side = datasets_for(sys.argv)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    model = Net(side)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(1, int(os.environ.get("EPOCHS", 3)) + 1):
        model.train()
        for inputs, labels in train_loader:
            loss = criterion(model(inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for inputs, labels in test_loader:
                correct += (model(inputs).argmax(1) == labels).sum().item()
                total += len(labels)
        print(f"epoch {epoch}: last batch loss {loss.item():.4f}, test accuracy {100 * correct / total:.2f}%")


if __name__ == "__main__":
    main()
