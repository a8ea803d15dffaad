"""A Kaggle/HF-style fine-tuning loop: the infrastructure around the model.

model.apply(init_fn), a frozen backbone (requires_grad_(False)) unfrozen later with
optimizer.add_param_group, no-decay parameter groups by name, torch.compile (state_dict keys
with _orig_mod.), gradient accumulation, clip_grad_value_, bfloat16 autocast with
GradScaler('cpu'), ReduceLROnPlateau with early stopping, learning rates edited by hand,
an EMA model with update_bn, evaluation under inference_mode and a no_grad decorator with
top-k accuracy, a confusion matrix by bincount and unique counts, TensorBoard logging and
tqdm bars.
"""

import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

CLASSES = 5


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.adaptive_avg_pool2d(F.relu(self.bn2(self.conv2(x))), 1).flatten(1)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.dropout = nn.Dropout(0.0)
        self.classifier = nn.Linear(16, CLASSES)

    def forward(self, x):
        return self.classifier(self.dropout(self.backbone(x)))


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:  # none here: a bias before BatchNorm gets only rounding noise as
            nn.init.zeros_(m.bias)  # its gradient, which Adam would blow up to lr-sized steps
    elif isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.constant_(m.bias, 0.01)


def make_data(n, seed):
    rs = np.random.RandomState(seed)
    y = rs.randint(0, CLASSES, n)
    x = rs.randn(n, 1, 8, 8).astype(np.float32) * 0.5
    for i, c in enumerate(y):
        x[i, 0, c, :] += 1.5  # the class is the bright row
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def groups(model, lr, wd, prefix=""):
    named = [(n, p) for n, p in model.named_parameters() if n.startswith(prefix) and p.requires_grad]
    return [{"params": [p for n, p in named if not any(k in n for k in ("bias", "bn"))],
             "weight_decay": wd, "lr": lr},
            {"params": [p for n, p in named if any(k in n for k in ("bias", "bn"))],
             "weight_decay": 0.0, "lr": lr}]


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    loss, top1, top3, preds, targets = 0.0, 0, 0, [], []
    for x, y in loader:
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        _, top = logits.topk(3, dim=1)
        top1 += (top[:, 0] == y).sum().item()
        top3 += (top == y[:, None]).any(1).sum().item()
        preds.append(logits.argmax(dim=-1))
        targets.append(y)
    n = len(loader.dataset)
    return loss / n, top1 / n, top3 / n, torch.cat(preds), torch.cat(targets)


def confusion(preds, targets):
    return torch.bincount(targets * CLASSES + preds, minlength=CLASSES ** 2).reshape(CLASSES, CLASSES)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--save-init")
    parser.add_argument("--init")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--logdir", default="runs")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Model()
    model.apply(init_weights)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    elif args.save_init:
        torch.save(model.state_dict(), args.save_init)
    train_set, val_set = make_data(120, 1), make_data(40, 2)
    loader = DataLoader(train_set, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    val_loader = DataLoader(val_set, batch_size=20)

    model.backbone.requires_grad_(False)
    print("trainable", sum(p.numel() for p in model.parameters() if p.requires_grad),
          "of", sum(p.numel() for p in model.parameters()))
    opt = torch.optim.AdamW(groups(model, 1e-2, 0.01), lr=1e-2)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1,
                                                         threshold=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=args.amp, init_scale=256.0)
    compiled = torch.compile(model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.8))
    writer = SummaryWriter(args.logdir)
    accum, best, bad_epochs, step = 2, -1.0, 0, 0
    for epoch in range(8):
        if epoch == 2:  # unfreeze the backbone with its own, smaller learning rate
            model.backbone.requires_grad_(True)
            for g in groups(model, 2e-3, 0.01, "backbone."):
                opt.add_param_group(g)
            print("unfrozen, groups", len(opt.param_groups),
                  [len(g["params"]) for g in opt.param_groups])
        if epoch == 5:
            for g in opt.param_groups:
                g["lr"] = g["lr"] * 0.5
        compiled.train()
        bar = tqdm(loader, desc=f"epoch {epoch}", leave=False)  # to stderr, not compared
        total = 0.0
        for i, (x, y) in enumerate(bar):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.amp):
                loss = F.cross_entropy(compiled(x), y) / accum
            scaler.scale(loss).backward()
            total += loss.item() * accum
            if (i + 1) % accum == 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)
                scaler.step(opt)
                scaler.update()
                opt.zero_grad()
                ema.update_parameters(model)
                step += 1
                writer.add_scalar("train/loss", loss.item() * accum, step)
            bar.set_postfix(loss=f"{loss.item() * accum:.4f}")
        vloss, top1, top3, preds, targets = evaluate(compiled, val_loader)
        plateau.step(top1)
        lrs = [f"{lr:.2e}" for lr in plateau.get_last_lr()]
        writer.add_scalar("val/top1", top1, epoch)
        writer.add_histogram("classifier/weight", model.classifier.weight, epoch)
        print(f"epoch {epoch} loss {total / len(loader):.6f} val {vloss:.6f} top1 {top1:.4f} "
              f"top3 {top3:.4f} lr {lrs} group0 {opt.param_groups[0]['lr']:.2e}")
        if top1 > best + 1e-3:
            best, bad_epochs = top1, 0
            torch.save(compiled.state_dict(), "best.pt")
        else:
            bad_epochs += 1
            if bad_epochs >= 3:
                print("early stop at epoch", epoch)
                break
    writer.close()
    print("event files", len([f for f in os.listdir(args.logdir) if f.startswith("events.out.tfevents")]))

    state = torch.load("best.pt")
    print("compiled keys", list(state)[:2], all(k.startswith("_orig_mod.") for k in state))
    fresh = Model()
    fresh.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in state.items()})
    with torch.inference_mode():
        _, best_top1, _, preds, targets = evaluate(fresh, val_loader)
        print("best reloaded top1", f"{best_top1:.4f}", "no-autograd tensor", preds.is_inference())
    print("confusion", confusion(preds, targets).tolist())
    values, counts = torch.unique(preds, return_counts=True)
    print("predicted", values.tolist(), counts.tolist())
    print("per-class recall", [f"{r:.3f}" for r in
                               (confusion(preds, targets).diag() / confusion(preds, targets).sum(1).clamp(min=1)).tolist()])

    update_bn(loader, ema)  # recompute the EMA model's BatchNorm statistics on the training data
    eloss, etop1, _, _, _ = evaluate(ema, val_loader)
    print(f"ema loss {eloss:.6f} top1 {etop1:.4f} n_averaged {int(ema.n_averaged)} "
          f"bn mean {ema.module.backbone.bn2.running_mean[:3].tolist()}")
    print("ema running_var", [f"{v:.5f}" for v in ema.module.backbone.bn1.running_var.tolist()[:4]])


if __name__ == "__main__":
    main()
