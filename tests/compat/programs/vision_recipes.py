"""Vision recipes as their tutorials write them: a spatial transformer network, FGSM and PGD
adversarial examples, a StyleGAN2 modulated convolution and a YOLO-style GIoU box loss.

The STN starts, as the tutorial's does, from an identity ``theta`` (the last localisation layer
zeroed, its bias ``[1, 0, 0, 0, 1, 0]``): every sample point lies on a pixel centre and whole
rows on the borders, where bilinear sampling is not differentiable and torch's choice of side
(and its zero gradient on a border) decides the first gradient of ``theta``.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class STN(nn.Module):
    def __init__(self, padding_mode):
        super().__init__()
        self.padding_mode = padding_mode
        self.conv1 = nn.Conv2d(1, 4, kernel_size=5)
        self.fc1 = nn.Linear(4 * 12 * 12, 10)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
        self.fc_loc = nn.Sequential(nn.Linear(6 * 12 * 12, 16), nn.ReLU(True), nn.Linear(16, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x).view(-1, 6 * 12 * 12)
        theta = self.fc_loc(xs).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, padding_mode=self.padding_mode, align_corners=False)

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        return F.log_softmax(self.fc1(x.view(-1, 4 * 12 * 12)), dim=1)


def train_stn(net, x, y, steps):
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for step in range(steps):
        opt.zero_grad()
        loss = F.nll_loss(net(x), y)
        loss.backward()
        opt.step()
        print(f"stn {net.padding_mode} {step} loss {loss.item():.6g} "
              f"theta grad {net.fc_loc[2].bias.grad.norm().item():.6g}")


def fgsm_attack(image, epsilon, data_grad):
    perturbed_image = image + epsilon * data_grad.sign()
    return torch.clamp(perturbed_image, 0, 1)


def adversarial(clf, data, target):
    data = data.clone()
    data.requires_grad = True
    loss = F.nll_loss(F.log_softmax(clf(data), dim=1), target)
    clf.zero_grad()
    loss.backward()
    perturbed = fgsm_attack(data, 0.05, data.grad.data)
    print(f"fgsm loss {loss.item():.6g} -> {F.cross_entropy(clf(perturbed), target).item():.6g}")
    x0 = data.detach()
    x_adv = x0.clone()
    for _ in range(3):
        x_adv = x_adv.detach().requires_grad_()
        loss = F.cross_entropy(clf(x_adv), target)
        grad, = torch.autograd.grad(loss, [x_adv])
        x_adv = x_adv.detach() + 0.01 * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x0 - 0.03), x0 + 0.03).clamp(0, 1)
    print(f"pgd loss {F.cross_entropy(clf(x_adv), target).item():.6g}")


class ModulatedConv2d(nn.Module):
    def __init__(self, in_ch, out_ch, k, style_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, k, k))
        self.modulation = nn.Linear(style_dim, in_ch)
        self.modulation.bias.data.fill_(1)
        self.scale = 1 / (in_ch * k ** 2) ** 0.5
        self.padding, self.out_ch, self.k = k // 2, out_ch, k

    def forward(self, input, style):
        batch, in_channel, height, width = input.shape
        style = self.modulation(style).view(batch, 1, in_channel, 1, 1)
        weight = self.scale * self.weight * style
        demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
        weight = weight * demod.view(batch, self.out_ch, 1, 1, 1)
        weight = weight.view(batch * self.out_ch, in_channel, self.k, self.k)
        input = input.reshape(1, batch * in_channel, height, width)
        out = F.conv2d(input, weight, padding=self.padding, groups=batch)
        return out.view(batch, self.out_ch, *out.shape[-2:])


def bbox_giou(b1, b2, eps=1e-7):
    b1_xy1, b1_xy2 = b1[..., :2] - b1[..., 2:4] / 2, b1[..., :2] + b1[..., 2:4] / 2
    b2_xy1, b2_xy2 = b2[..., :2] - b2[..., 2:4] / 2, b2[..., :2] + b2[..., 2:4] / 2
    inter = (torch.min(b1_xy2, b2_xy2) - torch.max(b1_xy1, b2_xy1)).clamp(min=0).prod(-1)
    union = b1[..., 2:4].prod(-1) + b2[..., 2:4].prod(-1) - inter + eps
    cw = torch.max(b1_xy2[..., 0], b2_xy2[..., 0]) - torch.min(b1_xy1[..., 0], b2_xy1[..., 0])
    ch = torch.max(b1_xy2[..., 1], b2_xy2[..., 1]) - torch.min(b1_xy1[..., 1], b2_xy1[..., 1])
    c_area = cw * ch + eps
    return inter / union - (c_area - union) / c_area


def yolo_loss_steps(head, feat, tbox, tcls, obj_mask, steps):
    opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.937, nesterov=True)
    for step in range(steps):
        p = head(feat).view(2, 3, 7, 4, 4).permute(0, 1, 3, 4, 2).contiguous()
        pxy = p[..., :2].sigmoid() * 2 - 0.5
        pwh = (p[..., 2:4].sigmoid() * 2) ** 2 * 0.25
        giou = bbox_giou(torch.cat((pxy, pwh), -1)[obj_mask], tbox[obj_mask])
        lbox = (1.0 - giou).mean()
        tobj = torch.zeros_like(p[..., 4])
        tobj[obj_mask] = giou.detach().clamp(0).type(tobj.dtype)
        lobj = nn.BCEWithLogitsLoss()(p[..., 4], tobj)
        lcls = F.cross_entropy(p[obj_mask][:, 5:], tcls[obj_mask])
        loss = lbox * 0.05 + lobj + lcls * 0.5
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"yolo {step} loss {loss.item():.6g} lbox {lbox.item():.6g}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    rs = np.random.RandomState(0)
    models = {"stn_zeros": STN("zeros"), "stn_border": STN("border"),
              "clf": nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16), nn.Tanh(),
                                   nn.Linear(16, 5)),
              "modconv": ModulatedConv2d(4, 6, 3, 8), "head": nn.Conv2d(8, 3 * 7, 1)}
    if args.save_init:
        torch.save({k: m.state_dict() for k, m in models.items()}, args.save_init)
    if args.init:
        state = torch.load(args.init)
        for k, m in models.items():
            m.load_state_dict(state[k])

    def data(*shape):
        return torch.from_numpy(rs.rand(*shape).astype(np.float32))

    x, y = data(8, 1, 28, 28), torch.from_numpy(rs.randint(0, 10, 8))
    train_stn(models["stn_zeros"], x, y, args.steps)
    train_stn(models["stn_border"], x, y, args.steps)
    adversarial(models["clf"], data(4, 3, 8, 8), torch.from_numpy(rs.randint(0, 5, 4)))

    mc = models["modconv"]
    opt = torch.optim.Adam(mc.parameters(), lr=0.002, betas=(0.0, 0.99))
    xin, style = data(3, 4, 8, 8) - 0.5, data(3, 8) - 0.5
    for step in range(args.steps):
        loss = F.softplus(-mc(xin, style)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"modconv {step} loss {loss.item():.6g}")

    obj_mask = torch.from_numpy(rs.rand(2, 3, 4, 4) > 0.7)
    yolo_loss_steps(models["head"], data(2, 8, 4, 4) - 0.5, data(2, 3, 4, 4, 4) * 0.5 + 0.25,
                    torch.from_numpy(rs.randint(0, 2, (2, 3, 4, 4))), obj_mask, args.steps)


if __name__ == "__main__":
    main()
