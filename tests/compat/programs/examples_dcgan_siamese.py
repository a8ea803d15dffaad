# ruff: noqa: UP008, UP010, UP031, UP032  (torch 1.x style, as users wrote it)
"""pytorch/examples dcgan and siamese_network, shrunk to 16x16 / 8x8 images.

dcgan, from the seed alone (no --init): Generator/Discriminator Sequentials of
ConvTranspose2d/Conv2d(bias=False), BatchNorm2d, ReLU(True), LeakyReLU(0.2, inplace=True),
Tanh/Sigmoid, weights_init by class name (normal_ and zeros_) through .apply, print(netG),
BCELoss against torch.full labels refilled by label.fill_, fake.detach() for D, fixed_noise
from torch.randn, input.is_cuda checks and the example's progress line.
siamese_network: a ResNet-ish trunk cut by Sequential(*list(children())[:-1]), init by
xavier_uniform_ and bias.data.fill_(0.01) via apply(self.init_weights), torch.cat of the two
embeddings, BCELoss on sigmoid, Adadelta with StepLR, torch.where(outputs > 0.5, 1, 0) and
pred.eq(targets.view_as(pred)); then the metric-learning losses users pair with it:
TripletMarginLoss, a contrastive loss over F.pairwise_distance, CosineEmbeddingLoss,
MarginRankingLoss and triplet_margin_with_distance_loss."""

from __future__ import print_function

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset, TensorDataset

# ---------------------------------------------------------------- dcgan

nc, nz, ngf, ndf = 1, 8, 8, 8


# custom weights initialization called on netG and netD
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 4 x 4
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 8 x 8
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 16 x 16
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is (nc) x 16 x 16
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 8 x 8
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 4 x 4
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)

        return output.view(-1, 1).squeeze(1)


def blobs(n, seed):
    rs = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:16, 0:16]
    cy, cx = rs.uniform(4, 12, size=(2, n, 1, 1))
    img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0) * 2 - 1
    return img[:, None].astype(np.float32)


def dcgan(opt):
    torch.manual_seed(opt.manualSeed)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    ngpu = int(opt.ngpu)
    dataset = TensorDataset(torch.from_numpy(blobs(32, 5)), torch.zeros(32))
    dataloader = DataLoader(dataset, batch_size=opt.batchSize, shuffle=True, num_workers=0)

    netG = Generator(ngpu).to(device)
    netG.apply(weights_init)
    print(netG)
    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    print(netD)

    criterion = nn.BCELoss()

    fixed_noise = torch.randn(opt.batchSize, nz, 1, 1, device=device)
    real_label = 1
    fake_label = 0

    # setup optimizer
    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))

    for epoch in range(opt.niter):
        for i, data in enumerate(dataloader, 0):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            # train with real
            netD.zero_grad()
            real_cpu = data[0].to(device)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label,
                               dtype=real_cpu.dtype, device=device)

            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            # train with fake
            noise = torch.randn(batch_size, nz, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
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
            D_G_z2 = output.mean().item()
            optimizerG.step()

            print('[%d/%d][%d/%d] Loss_D: %.6f Loss_G: %.6f D(x): %.6f D(G(z)): %.6f / %.6f'
                  % (epoch, opt.niter, i, len(dataloader),
                     errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
        fake = netG(fixed_noise)
        print('fixed fake: mean %.6f std %.6f' % (fake.mean().item(), fake.detach().std().item()))
    print('final generator loss: %.6f' % errG.item())


# ---------------------------------------------------------------- siamese_network


class BasicBlock(nn.Module):
    def __init__(self, planes):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


class TinyResNet(nn.Module):
    def __init__(self):
        super(TinyResNet, self).__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = BasicBlock(8)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, 10)


class SiameseNetwork(nn.Module):
    def __init__(self):
        super(SiameseNetwork, self).__init__()
        self.resnet = TinyResNet()
        # over-write the first conv layer to be able to read one-channel images
        self.resnet.conv1 = nn.Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        self.fc_in_features = self.resnet.fc.in_features
        # remove the last layer of resnet (linear layer which is before avgpool layer)
        self.resnet = torch.nn.Sequential(*(list(self.resnet.children())[:-1]))
        # add linear layers to compare between the features of the two images
        self.fc = nn.Sequential(
            nn.Linear(self.fc_in_features * 2, 16),
            nn.ReLU(inplace=True),
            nn.Linear(16, 1),
        )
        self.sigmoid = nn.Sigmoid()
        # initialize the weights
        self.resnet.apply(self.init_weights)
        self.fc.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            m.bias.data.fill_(0.01)

    def forward_once(self, x):
        output = self.resnet(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)
        output = torch.cat((output1, output2), 1)
        output = self.fc(output)
        output = self.sigmoid(output)
        return output


class APP_MATCHER(Dataset):
    def __init__(self, n, seed):
        rs = np.random.RandomState(seed)
        self.protos = rs.rand(4, 1, 8, 8).astype(np.float32)
        self.labels = rs.randint(0, 4, size=n)
        self.noise = (0.3 * rs.randn(n, 1, 8, 8)).astype(np.float32)
        self.pairs = rs.randint(0, n, size=n)
        self.same = rs.rand(n) > 0.5

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image_1 = torch.from_numpy(self.protos[self.labels[index]] + self.noise[index])
        if self.same[index]:
            other = self.labels[index]
            target = torch.tensor(1, dtype=torch.float)
        else:
            other = (self.labels[index] + 1) % 4
            target = torch.tensor(0, dtype=torch.float)
        image_2 = torch.from_numpy(self.protos[other] + self.noise[self.pairs[index]])
        return image_1, image_2, target


def contrastive_loss(output1, output2, label, margin=2.0):
    euclidean_distance = F.pairwise_distance(output1, output2, keepdim=True)
    loss_contrastive = torch.mean((1 - label) * torch.pow(euclidean_distance, 2) +
                                  label * torch.pow(torch.clamp(margin - euclidean_distance, min=0.0), 2))
    return loss_contrastive


def siamese(args):
    torch.manual_seed(args.manualSeed)
    train_loader = DataLoader(APP_MATCHER(32, 0), batch_size=8, shuffle=False)
    test_loader = DataLoader(APP_MATCHER(16, 1), batch_size=8, shuffle=False)

    model = SiameseNetwork()
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    criterion = nn.BCELoss()

    for epoch in range(1, 4):
        model.train()
        for batch_idx, (images_1, images_2, targets) in enumerate(train_loader):
            optimizer.zero_grad()
            outputs = model(images_1, images_2).squeeze()
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(images_1), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for (images_1, images_2, targets) in test_loader:
                outputs = model(images_1, images_2).squeeze()
                test_loss += criterion(outputs, targets).sum().item()  # sum up batch loss
                pred = torch.where(outputs > 0.5, 1, 0)  # get the index of the max log-probability
                correct += pred.eq(targets.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        print('\nTest set: Average loss: {:.6f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
        scheduler.step()

    # the embedding losses, on the trained trunk
    embed = model.forward_once
    triplet_loss = nn.TripletMarginLoss(margin=1.0, p=2)
    cosine_loss = nn.CosineEmbeddingLoss(margin=0.1)
    ranking_loss = nn.MarginRankingLoss(margin=0.5)
    opt = optim.SGD(model.resnet.parameters(), lr=0.05, momentum=0.9)
    for step, (images_1, images_2, targets) in enumerate(train_loader):
        anchor, positive = embed(images_1), embed(images_1.flip(0))
        negative = embed(images_2)
        loss_t = triplet_loss(anchor, positive, negative)
        loss_c = contrastive_loss(anchor, negative, targets.unsqueeze(1))
        loss_cos = cosine_loss(anchor, negative, targets * 2 - 1)
        d_ap = F.pairwise_distance(anchor, positive)
        d_an = F.pairwise_distance(anchor, negative)
        loss_r = ranking_loss(d_an, d_ap, torch.ones_like(d_an))
        loss_d = F.triplet_margin_with_distance_loss(
            anchor, positive, negative,
            distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y), margin=0.2, swap=True)
        loss = loss_t + loss_c + loss_cos + loss_r + loss_d
        opt.zero_grad()
        loss.backward()
        opt.step()
        print('embed step {} loss {:.6f} (triplet {:.6f} contrastive {:.6f} cosine {:.6f} ranking {:.6f} '
              'dist {:.6f})'.format(step, loss.item(), loss_t.item(), loss_c.item(), loss_cos.item(),
                                    loss_r.item(), loss_d.item()))


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--example', default='dcgan', choices=['dcgan', 'siamese'])
    parser.add_argument('--batchSize', type=int, default=8, help='input batch size')
    parser.add_argument('--niter', type=int, default=2, help='number of epochs to train for')
    parser.add_argument('--lr', type=float, default=0.0002, help='learning rate, default=0.0002')
    parser.add_argument('--beta1', type=float, default=0.5, help='beta1 for adam. default=0.5')
    parser.add_argument('--ngpu', type=int, default=1, help='number of GPUs to use')
    parser.add_argument('--manualSeed', type=int, default=999, help='manual seed')
    parser.add_argument('--init', default=None)
    parser.add_argument('--save-init', default=None)
    opt = parser.parse_args()
    if opt.example == 'dcgan':
        dcgan(opt)
    else:
        opt.lr = 1.0
        siamese(opt)
