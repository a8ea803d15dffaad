# ruff: noqa: UP004, UP008, UP031, UP032  (torch 1.x style, as users wrote it)
"""The pieces of pytorch/examples imagenet/main.py and of the transfer-learning tutorial.

imagenet: AverageMeter/ProgressMeter with the Summary enum (meters that average 0-d tensors:
top1.update(acc1[0], n), formatted by '{val:6.2f}'), accuracy(output, target, topk=(1, 5)) by
topk(maxk, 1, True, True), pred.t(), eq(...expand_as(pred)), correct[:k].reshape(-1).float()
.sum(0, keepdim=True).mul_(100.0 / batch_size); cudnn flags, non_blocking .to(device), StepLR,
save_checkpoint with shutil.copyfile to model_best.pth.tar (best_acc1 a tensor, max() of
tensors), then --resume-style loading with map_location and optimizer/scheduler state.
transfer learning: a "pretrained" backbone frozen by requires_grad = False, model.fc replaced,
phases under torch.set_grad_enabled(phase == 'train'), _, preds = torch.max(outputs, 1),
running_corrects += torch.sum(preds == labels.data), epoch_acc = running_corrects.double() /
size printed with :.4f, copy.deepcopy(model.state_dict()) of the best epoch, a TemporaryDirectory
checkpoint, and lr_scheduler.StepLR(step_size=2, gamma=0.1)."""

import argparse
import copy
import os
import shutil
import time
import warnings
from enum import Enum
from tempfile import TemporaryDirectory

import numpy as np
import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.nn.functional as F
import torch.optim
import torch.utils.data
from torch.optim import lr_scheduler
from torch.optim.lr_scheduler import StepLR


class Summary(Enum):
    NONE = 0
    AVERAGE = 1
    SUM = 2
    COUNT = 3


class AverageMeter(object):
    """Computes and stores the average and current value"""
    def __init__(self, name, fmt=':f', summary_type=Summary.AVERAGE):
        self.name = name
        self.fmt = fmt
        self.summary_type = summary_type
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = '{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'
        return fmtstr.format(**self.__dict__)

    def summary(self):
        fmtstr = ''
        if self.summary_type is Summary.NONE:
            fmtstr = ''
        elif self.summary_type is Summary.AVERAGE:
            fmtstr = '{name} {avg:.3f}'
        elif self.summary_type is Summary.SUM:
            fmtstr = '{name} {sum:.3f}'
        elif self.summary_type is Summary.COUNT:
            fmtstr = '{name} {count:.3f}'
        else:
            raise ValueError('invalid summary type %r' % self.summary_type)

        return fmtstr.format(**self.__dict__)


class ProgressMeter(object):
    def __init__(self, num_batches, meters, prefix=""):
        self.batch_fmtstr = self._get_batch_fmtstr(num_batches)
        self.meters = meters
        self.prefix = prefix

    def display(self, batch):
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        print('\t'.join(entries))

    def display_summary(self):
        entries = [" *"]
        entries += [meter.summary() for meter in self.meters]
        print(' '.join(entries))

    def _get_batch_fmtstr(self, num_batches):
        num_digits = len(str(num_batches // 1))
        fmt = '{:' + str(num_digits) + 'd}'
        return '[' + fmt + '/' + fmt.format(num_batches) + ']'


def accuracy(output, target, topk=(1,)):
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def save_checkpoint(state, is_best, filename='checkpoint.pth.tar'):
    torch.save(state, filename)
    if is_best:
        shutil.copyfile(filename, 'model_best.pth.tar')


class SmallNet(nn.Module):
    def __init__(self, num_classes=10):
        super(SmallNet, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def fake_data(n, classes, seed):
    rs = np.random.RandomState(seed)
    protos = rs.randn(classes, 3, 8, 8).astype(np.float32)
    y = rs.randint(0, classes, size=n)
    x = protos[y] + 1.5 * rs.randn(n, 3, 8, 8).astype(np.float32)
    return torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def imagenet(args):
    if args.seed is not None:
        torch.manual_seed(args.seed)
        cudnn.deterministic = True
        cudnn.benchmark = False
        warnings.warn('You have chosen to seed training. ')
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    model = SmallNet()
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    model = model.to(device)
    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=0.9, weight_decay=1e-4)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    train_loader = torch.utils.data.DataLoader(fake_data(48, 10, 0), batch_size=16, shuffle=False,
                                               num_workers=0, pin_memory=True)
    val_loader = torch.utils.data.DataLoader(fake_data(32, 10, 1), batch_size=16, shuffle=False,
                                             num_workers=0, pin_memory=True)

    def train(epoch):
        losses = AverageMeter('Loss', ':.4e')
        top1 = AverageMeter('Acc@1', ':6.2f')
        top5 = AverageMeter('Acc@5', ':6.2f')
        progress = ProgressMeter(len(train_loader), [losses, top1, top5], prefix="Epoch: [{}]".format(epoch))
        model.train()
        end = time.time()
        for i, (images, target) in enumerate(train_loader):
            images = images.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True)
            output = model(images)
            loss = criterion(output, target)
            acc1, acc5 = accuracy(output, target, topk=(1, 5))
            losses.update(loss.item(), images.size(0))
            top1.update(acc1[0], images.size(0))
            top5.update(acc5[0], images.size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            end = time.time() - end
            progress.display(i + 1)

    def validate():
        losses = AverageMeter('Loss', ':.4e', Summary.NONE)
        top1 = AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE)
        top5 = AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)
        progress = ProgressMeter(len(val_loader), [losses, top1, top5], prefix='Test: ')
        model.eval()
        with torch.no_grad():
            for i, (images, target) in enumerate(val_loader):
                output = model(images)
                loss = criterion(output, target)
                acc1, acc5 = accuracy(output, target, topk=(1, 5))
                losses.update(loss.item(), images.size(0))
                top1.update(acc1[0], images.size(0))
                top5.update(acc5[0], images.size(0))
                progress.display(i + 1)
        progress.display_summary()
        return top1.avg

    best_acc1 = 0
    for epoch in range(args.epochs):
        train(epoch)
        acc1 = validate()
        scheduler.step()
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        save_checkpoint({
            'epoch': epoch + 1,
            'arch': 'smallnet',
            'state_dict': model.state_dict(),
            'best_acc1': best_acc1,
            'optimizer': optimizer.state_dict(),
            'scheduler': scheduler.state_dict()
        }, is_best)

    # resume from the best checkpoint, as --resume does
    loc = 'cuda:{}'.format(0) if torch.cuda.is_available() else 'cpu'
    checkpoint = torch.load('model_best.pth.tar', map_location=loc)
    start_epoch = checkpoint['epoch']
    best_acc1 = checkpoint['best_acc1']
    model.load_state_dict(checkpoint['state_dict'])
    optimizer.load_state_dict(checkpoint['optimizer'])
    scheduler.load_state_dict(checkpoint['scheduler'])
    print("=> loaded checkpoint '{}' (epoch {}) best_acc1 {:.3f} lr {}".format(
        'model_best.pth.tar', start_epoch, best_acc1, scheduler.get_last_lr()))
    validate()


def transfer_learning(args):
    torch.manual_seed(args.seed or 0)
    datasets = {'train': fake_data(32, 2, 2), 'val': fake_data(16, 2, 3)}
    dataloaders = {x: torch.utils.data.DataLoader(datasets[x], batch_size=8, shuffle=False)
                   for x in ['train', 'val']}
    dataset_sizes = {x: len(datasets[x]) for x in ['train', 'val']}
    class_names = ['ants', 'bees']

    model_conv = SmallNet(num_classes=10)  # the "pretrained" model
    for param in model_conv.parameters():
        param.requires_grad = False
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, len(class_names))
    if args.save_init:
        torch.save(model_conv.state_dict(), args.save_init)
    if args.init:
        model_conv.load_state_dict(torch.load(args.init))
    criterion = nn.CrossEntropyLoss()
    optimizer_conv = torch.optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)

    def train_model(model, criterion, optimizer, scheduler, num_epochs=25):
        since = time.time()
        with TemporaryDirectory() as tempdir:
            best_model_params_path = os.path.join(tempdir, 'best_model_params.pt')
            torch.save(model.state_dict(), best_model_params_path)
            best_acc = 0.0
            best_model_wts = copy.deepcopy(model.state_dict())
            for epoch in range(num_epochs):
                print(f'Epoch {epoch}/{num_epochs - 1}')
                print('-' * 10)
                for phase in ['train', 'val']:
                    if phase == 'train':
                        model.train()  # Set model to training mode
                    else:
                        model.eval()   # Set model to evaluate mode
                    running_loss = 0.0
                    running_corrects = 0
                    for inputs, labels in dataloaders[phase]:
                        optimizer.zero_grad()
                        with torch.set_grad_enabled(phase == 'train'):
                            outputs = model(inputs)
                            _, preds = torch.max(outputs, 1)
                            loss = criterion(outputs, labels)
                            if phase == 'train':
                                loss.backward()
                                optimizer.step()
                        running_loss += loss.item() * inputs.size(0)
                        running_corrects += torch.sum(preds == labels.data)
                    if phase == 'train':
                        scheduler.step()
                    epoch_loss = running_loss / dataset_sizes[phase]
                    epoch_acc = running_corrects.double() / dataset_sizes[phase]
                    print(f'{phase} Loss: {epoch_loss:.6f} Acc: {epoch_acc:.4f}')
                    if phase == 'val' and epoch_acc > best_acc:
                        best_acc = epoch_acc
                        best_model_wts = copy.deepcopy(model.state_dict())
                        torch.save(model.state_dict(), best_model_params_path)
                print()
            time_elapsed = time.time() - since
            assert time_elapsed >= 0
            print(f'Best val Acc: {best_acc:4f}')
            model.load_state_dict(best_model_wts)
            model.load_state_dict(torch.load(best_model_params_path, weights_only=True))
        return model

    model_conv = train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, num_epochs=3)
    with torch.no_grad():
        probs = F.softmax(model_conv(datasets['val'].tensors[0][:4]), dim=1)
    print('probs', probs)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description='PyTorch ImageNet Training')
    parser.add_argument('--example', default='imagenet', choices=['imagenet', 'transfer'])
    parser.add_argument('--epochs', default=3, type=int)
    parser.add_argument('--lr', '--learning-rate', default=0.1, type=float, dest='lr')
    parser.add_argument('--seed', default=1, type=int)
    parser.add_argument('--init', default=None)
    parser.add_argument('--save-init', default=None)
    args = parser.parse_args()
    if args.example == 'imagenet':
        imagenet(args)
    else:
        transfer_learning(args)
