# ruff: noqa: UP008, UP031, UP032  (torch 1.x style, as users wrote it)
"""pytorch/examples super_resolution and fast_neural_style, shrunk to 8x8 images.

super_resolution: the ESPCN Net (Conv2d stack ending in nn.PixelShuffle, init.orthogonal_
with init.calculate_gain('relu')), MSELoss, PSNR by 10 * log10(1 / mse), a test pass under
no_grad and the checkpoint saved as a state_dict. fast_neural_style: TransformerNet
(ReflectionPad2d ConvLayers, InstanceNorm2d(affine=True), ResidualBlocks, UpsampleConvLayer
with F.interpolate(mode='nearest', scale_factor=2)), a frozen conv "VGG" returning a
namedtuple of features, gram_matrix by bmm over features.transpose(1, 2), normalize_batch by
new_tensor(...).view(-1, 1, 1) and div_(255.0), content + style weights and the mean
aggregated losses printed as the example prints them."""

import argparse
from collections import namedtuple
from math import log10

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

# ---------------------------------------------------------------- super_resolution


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def images(n, size, seed):
    rs = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / float(size)
    freq = rs.uniform(1, 3, size=(n, 2))
    phase = rs.uniform(0, 6.28, size=(n, 1, 1))
    img = 0.5 + 0.5 * np.sin(freq[:, :1, None] * 6.28 * xx + freq[:, 1:, None] * 6.28 * yy + phase)
    return img[:, None].astype(np.float32)


def super_resolution(args):
    upscale = 2
    hr = torch.from_numpy(images(24, 8, args.seed))
    lr_img = torch.nn.functional.avg_pool2d(hr, upscale)
    training_data_loader = DataLoader(TensorDataset(lr_img[:16], hr[:16]), batch_size=4, shuffle=False)
    testing_data_loader = DataLoader(TensorDataset(lr_img[16:], hr[16:]), batch_size=4, shuffle=False)

    model = Net(upscale_factor=upscale)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    def train(epoch):
        epoch_loss = 0
        for iteration, batch in enumerate(training_data_loader, 1):
            input, target = batch[0], batch[1]
            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
            print("===> Epoch[{}]({}/{}): Loss: {:.8f}".format(epoch, iteration, len(training_data_loader), loss.item()))
        print("===> Epoch {} Complete: Avg. Loss: {:.8f}".format(epoch, epoch_loss / len(training_data_loader)))

    def test():
        avg_psnr = 0
        with torch.no_grad():
            for batch in testing_data_loader:
                input, target = batch[0], batch[1]
                prediction = model(input)
                mse = criterion(prediction, target)
                psnr = 10 * log10(1 / mse.item())
                avg_psnr += psnr
        print("===> Avg. PSNR: {:.6f} dB".format(avg_psnr / len(testing_data_loader)))

    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test()
    torch.save(model.state_dict(), "model_epoch_{}.pth".format(epoch))
    print("Checkpoint saved to {}".format("model_epoch_{}.pth".format(epoch)))


# ---------------------------------------------------------------- fast_neural_style


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, 8, kernel_size=5, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(8, affine=True)
        self.conv2 = ConvLayer(8, 16, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(16, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(16)
        self.res2 = ResidualBlock(16)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(16, 8, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(8, affine=True)
        self.deconv3 = ConvLayer(8, 3, kernel_size=5, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.deconv3(y)
        return y


class Vgg16(torch.nn.Module):
    """Two conv slices standing in for the pretrained VGG16 (its weights come from --init)."""

    def __init__(self, requires_grad=False):
        super(Vgg16, self).__init__()
        self.slice1 = torch.nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True))
        self.slice2 = torch.nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2),
                                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True))
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h = self.slice1(X)
        h_relu1_2 = h
        h = self.slice2(h)
        h_relu2_2 = h
        vgg_outputs = namedtuple("VggOutputs", ['relu1_2', 'relu2_2'])
        out = vgg_outputs(h_relu1_2, h_relu2_2)
        return out


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    # normalize using imagenet mean and std
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def fast_neural_style(args):
    rs = np.random.RandomState(args.seed)
    train_x = torch.from_numpy((rs.rand(8, 3, 8, 8) * 255).astype(np.float32))
    style = torch.from_numpy((rs.rand(1, 3, 8, 8) * 255).astype(np.float32))
    train_loader = DataLoader(TensorDataset(train_x, torch.zeros(8)), batch_size=4)

    transformer = TransformerNet()
    vgg = Vgg16(requires_grad=False)
    if args.save_init:
        torch.save({"transformer": transformer.state_dict(), "vgg": vgg.state_dict()}, args.save_init)
    if args.init:
        state = torch.load(args.init)
        transformer.load_state_dict(state["transformer"])
        vgg.load_state_dict(state["vgg"])
    optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()

    style = style.repeat(4, 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    content_weight, style_weight = 1e5, 1e10

    for e in range(args.epochs):
        transformer.train()
        agg_content_loss = 0.
        agg_style_loss = 0.
        count = 0
        for batch_id, (x, _) in enumerate(train_loader):
            n_batch = len(x)
            count += n_batch
            optimizer.zero_grad()

            y = transformer(x)

            y = normalize_batch(y)
            x = normalize_batch(x)

            features_y = vgg(y)
            features_x = vgg(x)

            content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)

            style_loss = 0.
            for ft_y, gm_s in zip(features_y, gram_style):
                gm_y = gram_matrix(ft_y)
                style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
            style_loss *= style_weight

            total_loss = content_loss + style_loss
            total_loss.backward()
            optimizer.step()

            agg_content_loss += content_loss.item()
            agg_style_loss += style_loss.item()

            mesg = "Epoch {}:\t[{}/{}]\tcontent: {:.6f}\tstyle: {:.6f}\ttotal loss: {:.6f}".format(
                e + 1, count, len(train_loader.dataset),
                agg_content_loss / (batch_id + 1),
                agg_style_loss / (batch_id + 1),
                (agg_content_loss + agg_style_loss) / (batch_id + 1)
            )
            print(mesg)

    transformer.eval()
    with torch.no_grad():
        output = transformer(train_x[:1].clone()).cpu()
    img = output[0].clone().clamp(0, 255).numpy()
    img = img.transpose(1, 2, 0)
    # (the example saves img.astype("uint8"); its truncation could flip on an ulp, so the mean prints)
    print("stylized image mean {:.5f} shape {}".format(float(img.mean()), img.shape))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--example", default="super_resolution", choices=["super_resolution", "fast_neural_style"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    if args.example == "super_resolution":
        super_resolution(args)
    else:
        fast_neural_style(args)
