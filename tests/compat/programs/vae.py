# ruff: noqa: UP008  (torch 1.x style, as users wrote it)
"""A VAE in the style of pytorch/examples vae (on generated 8x8 binary-ish images)."""

import argparse

import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def make_images(n, seed):
    rs = np.random.RandomState(seed)
    protos = (rs.rand(3, 64) > 0.5).astype(np.float32)
    idx = rs.randint(0, 3, size=n)
    flip = rs.rand(n, 64) < 0.1
    x = np.abs(protos[idx] - flip).astype(np.float32)
    return torch.from_numpy(x.reshape(n, 1, 8, 8)), torch.from_numpy(idx)


def main():
    parser = argparse.ArgumentParser(description="VAE Example")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N")
    parser.add_argument("--epochs", type=int, default=3, metavar="N")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--no-cuda", action="store_true", default=False)
    parser.add_argument("--amp", action="store_true", default=False)
    parser.add_argument("--compile", action="store_true", default=False)
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()
    args.cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if args.cuda else "cpu")
    kwargs = {"num_workers": 0, "pin_memory": True} if args.cuda else {}
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*make_images(128, args.seed)),
        batch_size=args.batch_size, shuffle=False, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*make_images(64, args.seed + 1)),
        batch_size=args.batch_size, shuffle=False, **kwargs)
    # The reparameterisation noise comes from numpy so both frameworks draw the same.
    noise = np.random.RandomState(args.seed + 2)

    model = VAE().to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    optimizer = optim.Adam(model.parameters(), lr=args.lr)

    def eps_like(mu):
        return torch.from_numpy(noise.standard_normal(tuple(mu.shape)).astype(np.float32)).to(device)

    def train(epoch):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            mu, _ = model.encode(data.view(-1, 64))
            recon_batch, mu, logvar = model(data, eps_like(mu))
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}]"
                  f"\tLoss: {loss.item() / len(data):.8f}")
        print(f"====> Epoch: {epoch} Average loss: {train_loss / len(train_loader.dataset):.8f}")

    def test(epoch):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for data, _ in test_loader:
                data = data.to(device)
                mu, logvar = model.encode(data.view(-1, 64))
                recon_batch = model.decode(mu)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        test_loss /= len(test_loader.dataset)
        print(f"====> Test set loss: {test_loss:.8f}")

    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test(epoch)


if __name__ == "__main__":
    main()
