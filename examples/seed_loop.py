"""The classic PyTorch training loop, unchanged except for the import line.

Swap the first line for ``import torch`` and the same file trains with PyTorch.
Set EPOCHS=3 in the environment for a short run.
"""

import os

import gradstep as torch

nn = torch.nn
DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset


class MyModel(nn.Module):
    def __init__(self, n_in=20, n_hidden=64, n_classes=3):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_classes)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def make_data(n=1200, n_in=20, n_classes=3):
    """Three Gaussian blobs in 20 dimensions."""
    centers = torch.randn(n_classes, n_in) * 2
    labels = torch.randint(0, n_classes, (n,))
    inputs = centers[labels] + torch.randn(n, n_in)
    return inputs, labels


torch.manual_seed(0)
inputs, labels = make_data()
train_loader = DataLoader(TensorDataset(inputs[:1000], labels[:1000]), batch_size=32, shuffle=True)
model = MyModel()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)

epochs = int(os.environ.get("EPOCHS", 11))
for epoch in range(1, epochs):
    running = 0.0
    for i, (inputs_b, labels_b) in enumerate(train_loader):
        output = model(inputs_b)
        loss = criterion(output, labels_b)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()
    print(f"epoch {epoch}: mean loss {running / (i + 1):.4f}")

with torch.no_grad():
    accuracy = (model(inputs[1000:]).argmax(1) == labels[1000:]).float().mean().item()
print(f"held-out accuracy: {100 * accuracy:.1f}%")
