"""Two public GCN programs, written as their authors wrote them against ``torch``, run on
gradstep and on torch from the same weights and data; the per-epoch losses must agree.

* tkipf/pygcn: ``GraphConvolution`` (``Parameter(torch.FloatTensor(in, out))``, uniform
  ``reset_parameters``, ``torch.mm`` then ``torch.spmm``), a row-normalised adjacency built as
  ``torch.sparse.FloatTensor(indices, values, torch.Size(shape))`` from a COO matrix (NumPy
  arrays here: scipy is not installed), ``F.dropout``, ``F.log_softmax``, ``F.nll_loss``,
  pygcn's ``accuracy`` and ``Adam(lr=0.01, weight_decay=5e-4)``;
* pytorch/examples ``gcn``: ``GraphConv`` with ``nn.init.xavier_normal_`` and
  ``torch.sparse.mm``, a symmetric-normalised adjacency from ``torch.sparse_coo_tensor`` (plus
  a sparse identity, ``coalesce``, ``torch.sparse.sum(adj, dim=1).to_dense()``), ``nn.Dropout``,
  ``nn.NLLLoss``.

Dropout draws from each library's own generator, so the comparisons run with p=0 (the dropout
calls still run); a separate run trains gradstep with pygcn's p=0.5.

Tolerance: each step is float32 (products of at most ~20 terms per entry, softmax, Adam). Over
10 steps the losses agree to about 1e-6 relative; 1e-4 leaves room for Adam's amplification of
rounding in gradient entries that are nearly zero, and is far below a one-step change (~1e-2).
"""

import math

import numpy as np
import pytest
import torch

import gradstep

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks",
                                        "ignore:torch.sparse.SparseTensor")
N, FEATS, HIDDEN, CLASSES, EPOCHS = 60, 20, 16, 3, 10


def graph(seed=0):
    """A random undirected graph (edge list with duplicates), features and labels."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, N, (2, 150))
    edges = np.concatenate([edges, edges[::-1]], axis=1)
    features = (rng.random((N, FEATS)) < 0.3).astype(np.float32)
    labels = rng.integers(0, CLASSES, N)
    return edges, features, labels


# ---------------------------------------------------------------- tkipf/pygcn
def pygcn_adjacency(edges):
    """pygcn's ``normalize(adj + sp.eye(n))`` as a COO matrix (row, col, data), entries in a
    scrambled order so the sparse tensor starts uncoalesced."""
    dense = np.zeros((N, N), np.float32)
    dense[edges[0], edges[1]] = 1.0
    dense = np.maximum(dense, dense.T) + np.eye(N, dtype=np.float32)
    dense = dense / dense.sum(1, keepdims=True)
    row, col = np.nonzero(dense)
    perm = np.random.default_rng(1).permutation(row.size)
    return row[perm], col[perm], dense[row, col][perm], dense.shape


def _pygcn(torch, coo, features, labels, weights, dropout):
    """tkipf/pygcn (layers.py, models.py, utils.py, train.py) folded into one function."""
    F = torch.nn.functional
    Parameter = torch.nn.parameter.Parameter
    Module = torch.nn.modules.module.Module

    class GraphConvolution(Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight = Parameter(torch.FloatTensor(in_features, out_features))
            if bias:
                self.bias = Parameter(torch.FloatTensor(out_features))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1.0 / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)

        def forward(self, input, adj):  # noqa: A002
            support = torch.mm(input, self.weight)
            output = torch.spmm(adj, support)
            if self.bias is not None:
                return output + self.bias
            return output

    class GCN(torch.nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout):
            super().__init__()
            self.gc1 = GraphConvolution(nfeat, nhid)
            self.gc2 = GraphConvolution(nhid, nclass)
            self.dropout = dropout

        def forward(self, x, adj):
            x = F.relu(self.gc1(x, adj))
            x = F.dropout(x, self.dropout, training=self.training)
            x = self.gc2(x, adj)
            return F.log_softmax(x, dim=1)

    def sparse_mx_to_torch_sparse_tensor(row, col, data, shape):
        indices = torch.from_numpy(np.vstack((row, col)).astype(np.int64))
        values = torch.from_numpy(data)
        shape = torch.Size(shape)
        return torch.sparse.FloatTensor(indices, values, shape)

    def accuracy(output, labels):
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        correct = correct.sum()
        return correct / len(labels)

    adj = sparse_mx_to_torch_sparse_tensor(*coo)
    features = torch.FloatTensor(features)
    labels = torch.LongTensor(labels)
    idx_train = torch.LongTensor(range(40))
    model = GCN(nfeat=features.shape[1], nhid=HIDDEN, nclass=int(labels.max()) + 1, dropout=dropout)
    if weights is not None:
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    history = []
    for _ in range(EPOCHS):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        history.append((loss_train.item(), acc_train.item()))
    model.eval()
    output = model(features, adj)
    return history, F.nll_loss(output[40:], labels[40:]).item()


def _weights(shapes, seed=3):
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-0.3, 0.3, s).astype(np.float32) for k, s in shapes.items()}


def test_pygcn_trains_the_same_on_gradstep_and_torch():
    edges, features, labels = graph()
    coo = pygcn_adjacency(edges)
    weights = _weights({"gc1.weight": (FEATS, HIDDEN), "gc1.bias": (HIDDEN,),
                        "gc2.weight": (HIDDEN, CLASSES), "gc2.bias": (CLASSES,)})
    ours, ours_test = _pygcn(gradstep, coo, features, labels, weights, dropout=0.0)
    theirs, theirs_test = _pygcn(torch, coo, features, labels, weights, dropout=0.0)
    np.testing.assert_allclose([h[0] for h in ours], [h[0] for h in theirs], rtol=1e-4)
    assert [h[1] for h in ours] == [h[1] for h in theirs]
    assert ours[-1][0] < ours[0][0] - 0.05  # it learns
    np.testing.assert_allclose(ours_test, theirs_test, rtol=1e-4)


def test_pygcn_runs_with_its_dropout_on_gradstep():
    edges, features, labels = graph(seed=5)
    gradstep.manual_seed(0)
    history, _ = _pygcn(gradstep, pygcn_adjacency(edges), features, labels, None, dropout=0.5)
    assert all(math.isfinite(h[0]) for h in history)
    assert history[-1][0] < history[0][0]


# ---------------------------------------------------------------- pytorch/examples gcn
def _examples_gcn(torch, edges, features, labels, weights):
    nn, F = torch.nn, torch.nn.functional

    class GraphConv(nn.Module):
        def __init__(self, input_dim, output_dim, use_bias=False):
            super().__init__()
            self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
            nn.init.xavier_normal_(self.kernel)
            self.bias = nn.Parameter(torch.zeros(output_dim)) if use_bias else None

        def forward(self, input_tensor, adj_mat):
            support = torch.mm(input_tensor, self.kernel)
            output = torch.sparse.mm(adj_mat, support)
            if self.bias is not None:
                output = output + self.bias
            return output

    class GCN(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim, use_bias=True, dropout_p=0.0):
            super().__init__()
            self.gc1 = GraphConv(input_dim, hidden_dim, use_bias=use_bias)
            self.gc2 = GraphConv(hidden_dim, output_dim, use_bias=use_bias)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input_tensor, adj_mat):
            x = self.gc1(input_tensor, adj_mat)
            x = F.relu(x)
            x = self.dropout(x)
            x = self.gc2(x, adj_mat)
            return F.log_softmax(x, dim=1)

    n = features.shape[0]
    adj = torch.sparse_coo_tensor(torch.tensor(edges), torch.ones(edges.shape[1]), (n, n))
    adj = (adj + torch.eye(n).to_sparse()).coalesce()
    adj = torch.sparse_coo_tensor(adj.indices(), torch.ones(adj._nnz()), adj.shape,
                                  is_coalesced=True)  # 0/1 edges
    degree = torch.sparse.sum(adj, dim=1).to_dense()
    d_inv_sqrt = degree.pow(-0.5)
    row, col = adj.indices()
    adj = torch.sparse_coo_tensor(adj.indices(), d_inv_sqrt[row] * adj.values() * d_inv_sqrt[col],
                                  adj.shape)
    assert adj.is_sparse and adj.layout == torch.sparse_coo

    features, labels = torch.from_numpy(features), torch.from_numpy(labels)
    train_mask = torch.arange(n) < 40
    model = GCN(features.shape[1], HIDDEN, CLASSES)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    criterion = nn.NLLLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    losses = []
    for _ in range(EPOCHS):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss = criterion(output[train_mask], labels[train_mask])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        output = model(features, adj)
        acc = (output[~train_mask].argmax(dim=1) == labels[~train_mask]).float().mean().item()
    return losses, acc


def test_examples_gcn_trains_the_same_on_gradstep_and_torch():
    edges, features, labels = graph(seed=2)
    weights = _weights({"gc1.kernel": (FEATS, HIDDEN), "gc1.bias": (HIDDEN,),
                        "gc2.kernel": (HIDDEN, CLASSES), "gc2.bias": (CLASSES,)})
    ours, ours_acc = _examples_gcn(gradstep, edges, features, labels, weights)
    theirs, theirs_acc = _examples_gcn(torch, edges, features, labels, weights)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert ours[-1] < ours[0] - 0.02  # it learns (0.04 in 10 steps)
    assert ours_acc == theirs_acc
