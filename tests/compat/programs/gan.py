# ruff: noqa: UP008  (torch 1.x style, as users wrote it)
"""A small GAN on a 2-D ring of Gaussians (two optimizers, detach, BCEWithLogitsLoss)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Generator(nn.Module):
    def __init__(self, nz, nh):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            nn.Linear(nz, nh),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(nh, nh, bias=False),  # no bias before BatchNorm, as in DCGAN
            nn.BatchNorm1d(nh),
            nn.ReLU(True),
            nn.Linear(nh, 2),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, nh):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Linear(2, nh),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(nh, nh),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(nh, 1),
        )

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Linear") != -1:
        nn.init.normal_(m.weight, 0.0, 0.2)
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--nz", type=int, default=4)
    parser.add_argument("--nh", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--iters", type=int, default=25)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--no-cuda", action="store_true")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--seed", type=int, default=999)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    opt = parser.parse_args()

    torch.manual_seed(opt.seed)
    torch.cuda.manual_seed_all(opt.seed)
    device = torch.device("cuda:0" if (torch.cuda.is_available() and not opt.no_cuda) else "cpu")
    rs = np.random.RandomState(opt.seed)  # data and latent noise: the same under any framework

    def real_batch(n):
        k = rs.randint(0, 8, size=n)
        centers = np.stack([np.cos(k * np.pi / 4), np.sin(k * np.pi / 4)], 1) * 2.0
        return torch.from_numpy((centers + 0.05 * rs.randn(n, 2)).astype(np.float32)).to(device)

    def latent(n):
        return torch.from_numpy(rs.randn(n, opt.nz).astype(np.float32)).to(device)

    netG = Generator(opt.nz, opt.nh).to(device)
    netG.apply(weights_init)
    netD = Discriminator(opt.nh).to(device)
    netD.apply(weights_init)
    if opt.save_init:
        torch.save({"G": netG.state_dict(), "D": netD.state_dict()}, opt.save_init)
    if opt.init:
        ckpt = torch.load(opt.init)
        netG.load_state_dict(ckpt["G"])
        netD.load_state_dict(ckpt["D"])

    criterion = nn.BCEWithLogitsLoss()
    fixed_noise = latent(64)
    real_label = 1.0
    fake_label = 0.0

    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))

    for epoch in range(opt.epochs):
        for i in range(opt.iters):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            netD.zero_grad()
            real_cpu = real_batch(opt.batch_size)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = torch.sigmoid(output).mean().item()

            noise = latent(batch_size)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = torch.sigmoid(output).mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = torch.sigmoid(output).mean().item()
            optimizerG.step()

            print(f"[{epoch}/{opt.epochs}][{i}/{opt.iters}] Loss_D loss {errD.item():.8f} "
                  f"Loss_G loss {errG.item():.8f} D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / "
                  f"{D_G_z2:.4f}")

    netG.eval()
    with torch.no_grad():
        fake = netG(fixed_noise)
    print(f"fixed-noise sample radius loss {fake.norm(dim=1).mean().item():.8f}")


if __name__ == "__main__":
    main()
