"""A sequence classifier on nn.TransformerEncoder (batch_first, key padding masks, mean pooling),
fed by a Dataset of variable-length sequences and a pad_sequence collate_fn."""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

PAD = 0


class CountingDataset(Dataset):
    """Variable-length token sequences; the label says whether token 1 outnumbers token 2."""

    def __init__(self, n, max_len, vocab, seed):
        rs = np.random.RandomState(seed)
        self.sequences = []
        for _ in range(n):
            self.sequences.append(rs.randint(1, vocab, size=rs.randint(3, max_len + 1)))

    def __len__(self):
        return len(self.sequences)

    def __getitem__(self, idx):
        seq = self.sequences[idx]
        label = int((seq == 1).sum() > (seq == 2).sum())
        return torch.tensor(seq, dtype=torch.long), label


def collate_batch(batch):
    tokens, labels = zip(*batch)
    return pad_sequence(tokens, batch_first=True, padding_value=PAD), torch.tensor(labels)


class TransformerClassifier(nn.Module):
    def __init__(self, vocab, d_model=16, nhead=4, num_layers=2, dim_feedforward=32,
                 num_classes=2, max_len=32, dropout=0.0):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.pos_embedding = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.head = nn.Linear(d_model, num_classes)
        nn.init.normal_(self.pos_embedding, std=0.02)

    def forward(self, tokens):
        pad_mask = tokens == PAD  # True where padded: those keys are ignored
        x = self.embedding(tokens) * math.sqrt(self.d_model)
        x = x + self.pos_embedding[:, :tokens.size(1)]
        x = self.encoder(x, src_key_padding_mask=pad_mask)
        keep = (~pad_mask).unsqueeze(-1).float()
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.head(pooled)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cuda", action="store_true")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu")
    vocab, max_len = 8, 12
    train = DataLoader(CountingDataset(96, max_len, vocab, args.seed), batch_size=args.batch_size,
                       shuffle=False, pin_memory=True, num_workers=0, collate_fn=collate_batch)
    test = DataLoader(CountingDataset(48, max_len, vocab, args.seed + 1), batch_size=48,
                      collate_fn=collate_batch)

    model = TransformerClassifier(vocab, max_len=max_len).to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)

    for epoch in range(args.epochs):
        model.train()
        for step, (tokens, labels) in enumerate(train):
            tokens = tokens.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            logits = model(tokens)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            print(f"epoch {epoch} step {step} loss {loss.item():.8f}")
        scheduler.step()

        model.eval()
        with torch.no_grad():
            tokens, labels = next(iter(test))
            logits = model(tokens.to(device))
            test_loss = F.cross_entropy(logits, labels.to(device)).item()
            acc = (logits.argmax(-1) == labels.to(device)).float().mean().item()
        print(f"epoch {epoch} test loss {test_loss:.8f} acc {acc:.4f}")


if __name__ == "__main__":
    main()
