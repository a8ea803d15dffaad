"""The DataLoader machinery real training scripts use, printed batch by batch.

Samplers (a seeded Generator's shuffle, RandomSampler with replacement, BatchSampler,
SubsetRandomSampler, WeightedRandomSampler), worker processes seeded by worker_init_fn with
persistent workers and prefetch_factor, pin_memory, drop_last, collate functions over dicts,
namedtuples and padded sequences, ConcatDataset/Subset, and an IterableDataset sharded by
get_worker_info(); then a short training run of a padded-sequence model fed by such a loader.
"""

import argparse
import collections
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
)

Pair = collections.namedtuple("Pair", ["x", "y"])


class Sequences(Dataset):
    """Variable-length token sequences; the label is the parity of the token sum."""

    def __init__(self, n=40, vocab=11, seed=3):
        rs = np.random.RandomState(seed)
        self.items = [rs.randint(1, vocab, size=rs.randint(2, 9)) for _ in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        toks = torch.as_tensor(self.items[i], dtype=torch.long)
        return {"tokens": toks, "label": int(toks.sum()) % 2, "index": i}


def pad_collate(batch):
    toks = [b["tokens"] for b in batch]
    lengths = torch.tensor([len(t) for t in toks])
    return {"tokens": pad_sequence(toks, batch_first=True, padding_value=0), "lengths": lengths,
            "label": torch.tensor([b["label"] for b in batch]),
            "index": default_collate([b["index"] for b in batch])}


class Shards(IterableDataset):
    """Each worker yields its own stride of the range, as get_worker_info() tells it."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(wid, self.n, nw):
            yield torch.tensor([i, wid])


class Noisy(Dataset):
    """Draws from numpy and Python's random in __getitem__: worker_init_fn must seed them."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return Pair(torch.tensor(i), torch.tensor([np.random.randint(1000), random.randint(0, 999),
                                                   int(torch.randint(1000, (1,)))]))


def seed_worker(worker_id):
    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)


def show(name, loader, key=None):
    out = []
    for batch in loader:
        b = batch if key is None else key(batch)
        out.append(b.tolist() if torch.is_tensor(b) else b)
    print(name, out)


def samplers():
    g = torch.Generator().manual_seed(5)
    data = TensorDataset(torch.arange(10))
    show("shuffle", DataLoader(data, batch_size=3, shuffle=True, generator=g), lambda b: b[0])
    show("shuffle again", DataLoader(data, batch_size=3, shuffle=True, generator=g), lambda b: b[0])
    show("drop_last", DataLoader(data, batch_size=4, shuffle=True, drop_last=True,
                                 generator=torch.Generator().manual_seed(1)), lambda b: b[0])
    rs = RandomSampler(data, replacement=True, num_samples=7, generator=torch.Generator().manual_seed(2))
    print("replacement", list(rs))
    print("batches", list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)))
    print("batches dropped", list(BatchSampler(range(7), batch_size=3, drop_last=True)))
    sub = SubsetRandomSampler([1, 3, 5, 7, 9], generator=torch.Generator().manual_seed(3))
    print("subset sampler", list(sub), len(sub))
    w = WeightedRandomSampler([0.1, 0.9, 0.4, 0.0, 2.0], num_samples=9,
                              generator=torch.Generator().manual_seed(4))
    print("weighted", list(w))
    w2 = WeightedRandomSampler(torch.tensor([1.0, 1.0, 3.0]), 3, replacement=False,
                               generator=torch.Generator().manual_seed(6))
    print("weighted no replacement", list(w2))
    bs = BatchSampler(RandomSampler(range(9), generator=torch.Generator().manual_seed(7)), 4, False)
    show("batch_sampler", DataLoader(TensorDataset(torch.arange(9) * 10), batch_sampler=bs),
         lambda b: b[0])
    torch.manual_seed(11)  # a loader without a generator draws its shuffle from the global one
    show("global shuffle", DataLoader(data, batch_size=5, shuffle=True), lambda b: b[0])


def datasets():
    a = TensorDataset(torch.arange(4), torch.zeros(4))
    b = TensorDataset(torch.arange(10, 13), torch.ones(3))
    cat = ConcatDataset([a, b])
    print("concat", len(cat), cat.cumulative_sizes, [int(cat[i][0]) for i in (0, 3, 4, 6, -1)])
    sub = Subset(cat, [6, 0, 4])
    print("subset", len(sub), [int(x) for x, _ in sub])
    show("collate namedtuple", DataLoader([Pair(torch.tensor(i), i * 0.5) for i in range(5)],
                                          batch_size=2), lambda p: (type(p).__name__, p.x.tolist(), p.y.tolist()))
    batch = default_collate([{"a": torch.ones(2) * i, "b": (i, float(i)), "c": f"s{i}"} for i in range(3)])
    print("default_collate", batch["a"].tolist(), [t.dtype for t in batch["b"]], batch["c"])
    show("padded", DataLoader(Sequences(6), batch_size=4, collate_fn=pad_collate),
         lambda d: (d["tokens"].tolist(), d["lengths"].tolist()))


def workers():
    loader = DataLoader(Noisy(), batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                        persistent_workers=True, prefetch_factor=3, pin_memory=True,
                        generator=torch.Generator().manual_seed(9))
    for epoch in range(2):
        rows = [b.y.tolist() for b in loader]
        print("worker epoch", epoch, rows, [b.x.tolist() for b in loader][0])
    show("shards", DataLoader(Shards(7), batch_size=2, num_workers=2), lambda t: t.tolist())
    show("shards main", DataLoader(Shards(5), batch_size=None), lambda t: t.tolist())


class Classifier(nn.Module):
    def __init__(self, vocab=11, dim=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = nn.GRU(dim, dim, batch_first=True)
        self.head = nn.Linear(dim, 2)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.emb(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        return self.head(h[-1])


def train(args):
    model = Classifier()
    if args.init:
        model.load_state_dict(torch.load(args.init))
    elif args.save_init:
        torch.save(model.state_dict(), args.save_init)
    data = ConcatDataset([Sequences(40, seed=3), Sequences(24, seed=4)])
    train_set, val_set = Subset(data, range(0, 52)), Subset(data, range(52, 64))
    loader = DataLoader(train_set, batch_size=8, shuffle=True, collate_fn=pad_collate, drop_last=True,
                        generator=torch.Generator().manual_seed(0), num_workers=2,
                        worker_init_fn=seed_worker, persistent_workers=True)
    val = DataLoader(val_set, batch_size=6, collate_fn=pad_collate)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for epoch in range(3):
        model.train()
        seen = []
        for batch in loader:
            loss = F.cross_entropy(model(batch["tokens"], batch["lengths"]), batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += batch["index"].tolist()
        model.eval()
        with torch.no_grad():
            correct = sum((model(b["tokens"], b["lengths"]).argmax(1) == b["label"]).sum().item()
                          for b in val)
        print(f"epoch {epoch} loss {loss.item():.6f} val correct {correct} first {seen[:6]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--save-init")
    parser.add_argument("--init")
    args = parser.parse_args()
    torch.manual_seed(0)
    samplers()
    datasets()
    workers()
    train(args)


if __name__ == "__main__":
    main()
