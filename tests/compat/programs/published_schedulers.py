# ruff: noqa: UP008, UP032  (torch 1.x style, as published)
"""Schedulers and training utilities as researchers paste them from their authors' repos:
ildoonet's GradualWarmupScheduler (a torch 1.x ``_LRScheduler`` wrapping a StepLR or a
ReduceLROnPlateau), katsura-jp's CosineAnnealingWarmupRestarts, HuggingFace's
``get_cosine_schedule_with_warmup`` (LambdaLR over ``functools.partial``), Tony-Y's
pytorch_warmup (``dampening()``), and SWA with SWALR, update_bn and a timm ModelEmaV3
(``_foreach_lerp_``) under a CPU GradScaler with gradient clipping."""

import argparse
import copy
import math
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR, _LRScheduler
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn


class GradualWarmupScheduler(_LRScheduler):
    """ildoonet/pytorch-gradual-warmup-lr, as published."""

    def __init__(self, optimizer, multiplier, total_epoch, after_scheduler=None):
        self.multiplier = multiplier
        if self.multiplier < 1.:
            raise ValueError('multiplier should be greater thant or equal to 1.')
        self.total_epoch = total_epoch
        self.after_scheduler = after_scheduler
        self.finished = False
        super(GradualWarmupScheduler, self).__init__(optimizer)

    def get_lr(self):
        if self.last_epoch > self.total_epoch:
            if self.after_scheduler:
                if not self.finished:
                    self.after_scheduler.base_lrs = [base_lr * self.multiplier for base_lr in self.base_lrs]
                    self.finished = True
                return self.after_scheduler.get_last_lr()
            return [base_lr * self.multiplier for base_lr in self.base_lrs]
        return [base_lr * ((self.multiplier - 1.) * self.last_epoch / self.total_epoch + 1.)
                for base_lr in self.base_lrs]

    def step_ReduceLROnPlateau(self, metrics, epoch=None):  # noqa: N802
        if epoch is None:
            epoch = self.last_epoch + 1
        self.last_epoch = epoch if epoch != 0 else 1
        if self.last_epoch <= self.total_epoch:
            warmup_lr = [base_lr * ((self.multiplier - 1.) * self.last_epoch / self.total_epoch + 1.)
                         for base_lr in self.base_lrs]
            for param_group, lr in zip(self.optimizer.param_groups, warmup_lr):
                param_group['lr'] = lr
        else:
            self.after_scheduler.step(metrics, None)

    def step(self, epoch=None, metrics=None):
        if type(self.after_scheduler) != ReduceLROnPlateau:  # noqa: E721
            if self.finished and self.after_scheduler:
                self.after_scheduler.step(None)
                self._last_lr = self.after_scheduler.get_last_lr()
            else:
                return super(GradualWarmupScheduler, self).step(epoch)
        else:
            self.step_ReduceLROnPlateau(metrics, epoch)


class CosineAnnealingWarmupRestarts(_LRScheduler):
    """katsura-jp/pytorch-cosine-annealing-with-warmup, as published (steps without epochs)."""

    def __init__(self, optimizer, first_cycle_steps, cycle_mult=1., max_lr=0.1, min_lr=0.001,
                 warmup_steps=0, gamma=1., last_epoch=-1):
        assert warmup_steps < first_cycle_steps
        self.first_cycle_steps = first_cycle_steps
        self.cycle_mult = cycle_mult
        self.base_max_lr = max_lr
        self.max_lr = max_lr
        self.min_lr = min_lr
        self.warmup_steps = warmup_steps
        self.gamma = gamma
        self.cur_cycle_steps = first_cycle_steps
        self.cycle = 0
        self.step_in_cycle = last_epoch
        super(CosineAnnealingWarmupRestarts, self).__init__(optimizer, last_epoch)
        self.init_lr()

    def init_lr(self):
        self.base_lrs = []
        for param_group in self.optimizer.param_groups:
            param_group['lr'] = self.min_lr
            self.base_lrs.append(self.min_lr)

    def get_lr(self):
        if self.step_in_cycle == -1:
            return self.base_lrs
        elif self.step_in_cycle < self.warmup_steps:
            return [(self.max_lr - base_lr) * self.step_in_cycle / self.warmup_steps + base_lr
                    for base_lr in self.base_lrs]
        return [base_lr + (self.max_lr - base_lr)
                * (1 + math.cos(math.pi * (self.step_in_cycle - self.warmup_steps)
                                / (self.cur_cycle_steps - self.warmup_steps))) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch=None):
        epoch = self.last_epoch + 1
        self.step_in_cycle = self.step_in_cycle + 1
        if self.step_in_cycle >= self.cur_cycle_steps:
            self.cycle += 1
            self.step_in_cycle = self.step_in_cycle - self.cur_cycle_steps
            self.cur_cycle_steps = int((self.cur_cycle_steps - self.warmup_steps) * self.cycle_mult) \
                + self.warmup_steps
        self.max_lr = self.base_max_lr * (self.gamma ** self.cycle)
        self.last_epoch = math.floor(epoch)
        for param_group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            param_group['lr'] = lr


def _cosine_with_warmup_lambda(current_step, *, num_warmup_steps, num_training_steps, num_cycles):
    """HuggingFace transformers' optimization.py."""
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5):
    lr_lambda = partial(_cosine_with_warmup_lambda, num_warmup_steps=num_warmup_steps,
                        num_training_steps=num_training_steps, num_cycles=num_cycles)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)


class UntunedLinearWarmup:
    """Tony-Y/pytorch_warmup's BaseWarmup + LinearWarmup + UntunedLinearWarmup, condensed."""

    def __init__(self, optimizer, last_step=-1):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError('{} is not an Optimizer'.format(type(optimizer).__name__))
        self.optimizer = optimizer
        self.warmup_params = [dict(warmup_period=int(2.0 / (1.0 - g['betas'][1])))
                              for g in optimizer.param_groups]
        self.last_step = last_step
        self.lrs = [group['lr'] for group in self.optimizer.param_groups]
        self.dampen()

    def warmup_factor(self, step, warmup_period):
        return min(1.0, (step + 1) / warmup_period)

    def dampen(self, step=None):
        if step is None:
            step = self.last_step + 1
        self.last_step = step
        for group, params in zip(self.optimizer.param_groups, self.warmup_params):
            group['lr'] *= self.warmup_factor(step, **params)

    @contextmanager
    def dampening(self):
        for group, lr in zip(self.optimizer.param_groups, self.lrs):
            group['lr'] = lr
        yield
        self.lrs = [group['lr'] for group in self.optimizer.param_groups]
        self.dampen()


class ModelEmaV3(nn.Module):
    """timm's ModelEmaV3 update (foreach lerp over the float state, copy for the rest)."""

    def __init__(self, model, decay=0.9):
        super().__init__()
        self.module = copy.deepcopy(model)
        self.module.eval()
        self.decay = decay

    @torch.no_grad()
    def update(self, model):
        ema_lerp, model_lerp = [], []
        for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
            if ema_v.is_floating_point():
                ema_lerp.append(ema_v)
                model_lerp.append(model_v)
            else:
                ema_v.copy_(model_v)
        torch._foreach_lerp_(ema_lerp, model_lerp, weight=1. - self.decay)


def make_data(n, seed):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 6)
    y = np.tanh(x @ rs.randn(6, 1)) + 0.1 * rs.randn(n, 1)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def make_model():
    # no bias before the BatchNorm: its gradient would be pure rounding noise, which Adam
    # turns into a full-size step of either sign
    return nn.Sequential(nn.Linear(6, 16, bias=False), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 1))


def batches(x, y, size=16):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def lrs(optimizer):
    return " ".join(f"{g['lr']:.12g}" for g in optimizer.param_groups)


def groups(model, lr2):
    return [{"params": model[0].parameters()},
            {"params": list(model[1].parameters()) + list(model[3].parameters()), "lr": lr2}]


def run_warmup(model, train, val, plateau):
    optimizer = torch.optim.SGD(groups(model, 0.005), lr=0.01, momentum=0.9)
    if plateau:
        after = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)
    else:
        after = StepLR(optimizer, step_size=2, gamma=0.5)
    scheduler = GradualWarmupScheduler(optimizer, multiplier=4, total_epoch=3, after_scheduler=after)
    for epoch in range(1, 9):
        for x, y in train:
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            model.eval()
            val_loss = F.mse_loss(model(val[0]), val[1]).item()
            model.train()
        # a plateau after epoch 4 forces reductions
        scheduler.step(epoch, 1.0 if epoch > 4 else val_loss) if plateau else scheduler.step()
        print(f"epoch {epoch} loss {loss.item():.9g} val {val_loss:.9g} lr {lrs(optimizer)}")


def run_per_step(model, train, recipe):
    if recipe == "restarts":
        optimizer = torch.optim.AdamW(groups(model, 0.1), lr=0.1, weight_decay=0.01)
        scheduler = CosineAnnealingWarmupRestarts(optimizer, first_cycle_steps=6, cycle_mult=1.5,
                                                  max_lr=0.02, min_lr=1e-4, warmup_steps=2, gamma=0.5)
        warmup = None
    else:
        optimizer = torch.optim.AdamW(groups(model, 0.002), lr=0.004, betas=(0.9, 0.8))
        if recipe == "hf_cosine":
            scheduler, warmup = get_cosine_schedule_with_warmup(optimizer, 3, 16, num_cycles=1.5), None
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=16)
            warmup = UntunedLinearWarmup(optimizer)
    for step in range(16):
        x, y = train[step % len(train)]
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        if warmup is None:
            scheduler.step()
        else:
            with warmup.dampening():
                scheduler.step()
        print(f"step {step} loss {loss.item():.9g} lr {lrs(optimizer)}")


def run_swa(model, train, val):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    swa_model, ema = AveragedModel(model), ModelEmaV3(model, decay=0.8)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=8)
    swa_scheduler = SWALR(optimizer, swa_lr=0.01, anneal_epochs=2, anneal_strategy="linear")
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)
    for epoch in range(7):
        for x, y in train:
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5, error_if_nonfinite=True, foreach=True)
            scaler.step(optimizer)
            scaler.update()
            ema.update(model)
        if epoch >= 3:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        else:
            scheduler.step()
        print(f"epoch {epoch} loss {loss.item():.9g} norm {norm.item():.9g} lr {lrs(optimizer)} "
              f"scale {scaler.get_scale():g}")
    update_bn(train, swa_model)
    with torch.no_grad():
        swa_model.eval()
        for name, net in (("swa", swa_model), ("ema", ema.module)):
            print(f"{name} val loss {F.mse_loss(net(val[0]), val[1]).item():.9g}")
    print(f"averaged {int(swa_model.n_averaged)} scaler {scaler.state_dict()}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", default="warmup_step",
                        choices=["warmup_step", "warmup_plateau", "restarts", "hf_cosine", "untuned_warmup", "swa"])
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = make_model()
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    x, y = make_data(64, 0)
    train, val = batches(x, y), make_data(32, 1)
    if args.recipe.startswith("warmup"):
        run_warmup(model, train, val, plateau=args.recipe == "warmup_plateau")
    elif args.recipe == "swa":
        run_swa(model, train, val)
    else:
        run_per_step(model, train, args.recipe)


if __name__ == "__main__":
    main()
