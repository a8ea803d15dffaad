"""Memory and weight tricks of current repos, plus a GNN: activation checkpointing
(torch.utils.checkpoint.checkpoint with use_reentrant=False and True, checkpoint_sequential),
nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal with each orthogonal_map,
a custom register_parametrization with right_inverse, parametrize.cached()), and a GCN / GraphSAGE
(pyg-style message passing with index_add_/scatter_add_, degree normalisation, and the
Kipf-Welling sparse adjacency through torch.sparse_coo_tensor and torch.sparse.mm)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
from torch.nn.utils.parametrizations import orthogonal, spectral_norm, weight_norm
from torch.utils.checkpoint import checkpoint, checkpoint_sequential


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class CkptBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 2 * dim)
        self.fc2 = nn.Linear(2 * dim, dim)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class CkptNet(nn.Module):
    def __init__(self, dim, depth, use_reentrant, orth_map):
        super().__init__()
        self.inp = weight_norm(nn.Linear(6, dim))
        self.blocks = nn.ModuleList([CkptBlock(dim) for _ in range(depth)])
        self.tail = nn.Sequential(*[CkptBlock(dim) for _ in range(2)])
        self.mix = orthogonal(nn.Linear(dim, dim, bias=False), orthogonal_map=orth_map)
        self.sym = nn.Linear(dim, dim)
        parametrize.register_parametrization(self.sym, "weight", Symmetric())
        self.out = spectral_norm(nn.Linear(dim, 3))
        self.use_reentrant = use_reentrant
        self.gradient_checkpointing = True

    def forward(self, x):
        x = self.inp(x)
        if self.use_reentrant:
            x.requires_grad_(True)  # HF-style enable_input_require_grads for reentrant checkpoints
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                x = checkpoint(block, x, use_reentrant=self.use_reentrant)
            else:
                x = block(x)
        if self.training:
            x = checkpoint_sequential(self.tail, 2, x, use_reentrant=self.use_reentrant)
        else:
            x = self.tail(x)
        x = torch.tanh(self.mix(x))
        x = x + 0.1 * self.sym(x)
        return self.out(x)


def gcn_norm(edge_index, num_nodes):
    """Symmetric normalisation with self loops, pyg's gcn_norm in pure torch."""
    loops = torch.arange(num_nodes).unsqueeze(0).repeat(2, 1)
    edge_index = torch.cat([edge_index, loops], dim=1)
    row, col = edge_index[0], edge_index[1]
    deg = torch.zeros(num_nodes).scatter_add_(0, col, torch.ones(col.size(0)))
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt[deg_inv_sqrt == float('inf')] = 0
    norm = deg_inv_sqrt[row] * deg_inv_sqrt[col]
    return edge_index, norm


class GCNConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.empty(out_channels))
        nn.init.zeros_(self.bias)

    def forward(self, x, edge_index, norm):
        x = self.lin(x)
        row, col = edge_index
        msg = x[row] * norm.view(-1, 1)  # message from source (row) to target (col)
        out = torch.zeros_like(x).index_add_(0, col, msg)
        return out + self.bias


class SAGEConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.lin_l = nn.Linear(in_channels, out_channels)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False)

    def forward(self, x, edge_index):
        row, col = edge_index
        summed = torch.zeros(x.size(0), x.size(1)).scatter_add_(
            0, col.unsqueeze(-1).expand(-1, x.size(1)), x[row])
        count = torch.bincount(col, minlength=x.size(0)).clamp(min=1).unsqueeze(-1)
        return self.lin_l(summed / count) + self.lin_r(x)


class KipfGCNLayer(nn.Module):
    """tkipf/pygcn's GraphConvolution: support = x @ W; output = spmm(adj, support)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
        self.bias = nn.Parameter(torch.FloatTensor(out_features))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1. / np.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)
        self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        output = torch.spmm(adj, support) if hasattr(torch, "spmm") else torch.sparse.mm(adj, support)
        return output + self.bias


class GNN(nn.Module):
    def __init__(self, nfeat, nhid, nclass):
        super().__init__()
        self.gcn = GCNConv(nfeat, nhid)
        self.sage = SAGEConv(nhid, nhid)
        self.kipf = KipfGCNLayer(nhid, nclass)

    def forward(self, x, edge_index, norm, adj):
        x = F.relu(self.gcn(x, edge_index, norm))
        x = F.relu(self.sage(x, edge_index[:, :-x.size(0)]))
        return F.log_softmax(self.kipf(x, adj), dim=1)


def run_ckpt(args, rs):
    model = CkptNet(12, 3, args.reentrant, args.orth_map)
    init(model, args)
    print("state_dict:", sorted(k for k in model.state_dict() if "parametrizations" in k or "_u" in k))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    X = torch.from_numpy(rs.randn(48, 6).astype(np.float32))
    y = torch.from_numpy(rs.randint(0, 3, size=48))
    for step in range(args.steps):
        model.train()
        out = model(X)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            W = model.mix.weight
            orth_err = (W @ W.T - torch.eye(W.size(0))).abs().max()
            sym_err = (model.sym.weight - model.sym.weight.T).abs().max()
        print(f"step {step}: loss {loss.item():.6f} orth err < 1e-5 {bool(orth_err < 1e-5)} "
              f"sym err {sym_err.item():.1f} sigma {torch.linalg.matrix_norm(model.out.weight, 2).item():.5f}")
    model.eval()
    with torch.no_grad(), parametrize.cached():
        out = model(X)
        print(f"eval loss {F.cross_entropy(out, y).item():.6f} "
              f"acc {(out.argmax(1) == y).float().mean().item():.4f}")
    print(f"weight_norm g {model.inp.parametrizations.weight.original0.norm().item():.6f}")


def run_gnn(args, rs):
    n, nfeat, nclass = 30, 8, 3
    labels = torch.from_numpy(rs.randint(0, nclass, size=n))
    x = torch.from_numpy(rs.randn(n, nfeat).astype(np.float32)) + F.one_hot(labels, nfeat).float()
    src = rs.randint(0, n, size=80)
    dst = np.where(rs.rand(80) < 0.7, rs.permutation(n).repeat(3)[:80], rs.randint(0, n, size=80))
    edge_index = torch.from_numpy(np.stack([src, dst]))
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)  # undirected
    edge_index_sl, norm = gcn_norm(edge_index, n)
    adj = torch.sparse_coo_tensor(edge_index_sl, norm, (n, n)).coalesce()
    idx_train, idx_test = torch.arange(0, 20), torch.arange(20, 30)
    model = GNN(nfeat, 16, nclass)
    init(model, args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr * 2, weight_decay=5e-4)
    for step in range(args.steps):
        model.train()
        opt.zero_grad()
        output = model(x, edge_index_sl, norm, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        loss_train.backward()
        opt.step()
        acc = output[idx_train].max(1)[1].eq(labels[idx_train]).double().mean()
        print(f"step {step}: loss {loss_train.item():.6f} acc {acc.item():.4f}")
    model.eval()
    output = model(x, edge_index_sl, norm, adj)
    print(f"test loss {F.nll_loss(output[idx_test], labels[idx_test]).item():.6f} "
          f"adj nnz {adj._nnz()} dense sum {adj.to_dense().sum().item():.5f}")


def init(model, args):
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="ckpt", choices=["ckpt", "gnn"])
    parser.add_argument("--reentrant", action="store_true")
    parser.add_argument("--orth-map", default="matrix_exp", choices=["matrix_exp", "cayley", "householder"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rs = np.random.RandomState(args.seed)
    (run_ckpt if args.task == "ckpt" else run_gnn)(args, rs)


if __name__ == "__main__":
    main()
