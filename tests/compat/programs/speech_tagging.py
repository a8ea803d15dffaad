# ruff: noqa: UP008  (as the authors wrote it)
"""Sequence labelling as speech and NER repos write it. A DeepSpeech2-style acoustic model
(Conv2d/Conv1d front end, MaskConv-style length bookkeeping, bidirectional GRU over a
pack_padded_sequence, log_softmax then F.ctc_loss / nn.CTCLoss on (T, N, C), greedy CTC decode
with unique_consecutive) and the PyTorch-tutorial BiLSTM-CRF (batched forward algorithm with
logsumexp, gold-path score with gather, Viterbi decode with max/argmax and back-pointers)."""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence


class SequenceWise(nn.Module):
    def __init__(self, module):
        super(SequenceWise, self).__init__()
        self.module = module

    def forward(self, x):
        t, n = x.size(0), x.size(1)
        x = x.view(t * n, -1)
        x = self.module(x)
        x = x.view(t, n, -1)
        return x


class BatchRNN(nn.Module):
    def __init__(self, input_size, hidden_size, rnn_type=nn.GRU, bidirectional=True, batch_norm=True):
        super(BatchRNN, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.batch_norm = SequenceWise(nn.BatchNorm1d(input_size)) if batch_norm else None
        self.rnn = rnn_type(input_size=input_size, hidden_size=hidden_size,
                            bidirectional=bidirectional, bias=True)
        self.num_directions = 2 if bidirectional else 1

    def forward(self, x, output_lengths, h=None):
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x = nn.utils.rnn.pack_padded_sequence(x, output_lengths, enforce_sorted=False)
        x, h = self.rnn(x, h)
        x, _ = nn.utils.rnn.pad_packed_sequence(x)
        if self.bidirectional:
            x = x.view(x.size(0), x.size(1), 2, -1).sum(2).view(x.size(0), x.size(1), -1)
        return x, h


class MaskConv(nn.Module):
    """Zeroes the padded time steps after each conv, as deepspeech.pytorch does."""

    def __init__(self, seq_module):
        super(MaskConv, self).__init__()
        self.seq_module = seq_module

    def forward(self, x, lengths):
        for module in self.seq_module:
            x = module(x)
            mask = torch.BoolTensor(x.size()).fill_(0)
            if x.is_cuda:
                mask = mask.cuda()
            for i, length in enumerate(lengths):
                length = length.item()
                if (mask[i].size(2) - length) > 0:
                    mask[i].narrow(2, length, mask[i].size(2) - length).fill_(1)
            x = x.masked_fill(mask, 0)
        return x, lengths


class DeepSpeech(nn.Module):
    def __init__(self, n_feats, n_classes, hidden=16):
        super().__init__()
        self.conv = MaskConv(nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=(5, 5), stride=(2, 1), padding=(2, 2)),
            nn.BatchNorm2d(4),
            nn.Hardtanh(0, 20, inplace=True),
            nn.Conv2d(4, 4, kernel_size=(3, 3), stride=(2, 1), padding=(1, 1)),
            nn.BatchNorm2d(4),
            nn.Hardtanh(0, 20, inplace=True),
        ))
        rnn_input_size = int(math.floor((n_feats + 2 * 2 - 5) / 2 + 1))
        rnn_input_size = int(math.floor((rnn_input_size + 2 * 1 - 3) / 2 + 1))
        rnn_input_size *= 4
        self.front = nn.Conv1d(rnn_input_size, hidden, kernel_size=3, padding=1)
        self.rnns = nn.Sequential(
            BatchRNN(hidden, hidden, batch_norm=False),
            BatchRNN(hidden, hidden),
        )
        self.fc = nn.Sequential(SequenceWise(nn.Sequential(nn.BatchNorm1d(hidden),
                                                           nn.Linear(hidden, n_classes, bias=False))))

    def forward(self, x, lengths):
        # x: (N, 1, F, T)
        x, _ = self.conv(x, lengths)
        sizes = x.size()
        x = x.view(sizes[0], sizes[1] * sizes[2], sizes[3])  # (N, C*F, T)
        x = F.relu(self.front(x))
        x = x.transpose(1, 2).transpose(0, 1).contiguous()  # TxNxH
        for rnn in self.rnns:
            x, h = rnn(x, lengths)
        x = self.fc(x)
        return x.log_softmax(-1), lengths  # (T, N, C)


def greedy_decode(log_probs, lengths, blank=0):
    out = []
    best = log_probs.argmax(-1).transpose(0, 1)  # (N, T)
    for seq, n in zip(best, lengths.tolist()):
        seq = torch.unique_consecutive(seq[:n])
        out.append(seq[seq != blank].tolist())
    return out


def argmax(vec):
    _, idx = torch.max(vec, 1)
    return idx.item()


class BiLSTM_CRF(nn.Module):
    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
        super(BiLSTM_CRF, self).__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)
        self.word_embeds = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True,
                            batch_first=True)
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
        # transitions[i, j] is the score of transitioning *to* i *from* j.
        self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))
        self.transitions.data[tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000

    def _get_lstm_features(self, sentences, lengths):
        embeds = self.word_embeds(sentences)
        packed = pack_padded_sequence(embeds, lengths, batch_first=True, enforce_sorted=False)
        lstm_out, _ = self.lstm(packed)
        lstm_out, _ = pad_packed_sequence(lstm_out, batch_first=True, total_length=sentences.size(1))
        return self.hidden2tag(lstm_out)

    def _forward_alg(self, feats, mask):
        """Batched forward algorithm: log partition function per sentence."""
        B, T, K = feats.shape
        alpha = torch.full((B, K), -10000.)
        alpha[:, self.tag_to_ix[START_TAG]] = 0.
        for t in range(T):
            # next[b, i] = logsumexp_j alpha[b, j] + trans[i, j] + emit[b, i]
            scores = alpha.unsqueeze(1) + self.transitions.unsqueeze(0) + feats[:, t].unsqueeze(2)
            new_alpha = torch.logsumexp(scores, dim=2)
            m = mask[:, t].unsqueeze(1)
            alpha = torch.where(m, new_alpha, alpha)
        terminal_var = alpha + self.transitions[self.tag_to_ix[STOP_TAG]]
        return torch.logsumexp(terminal_var, dim=1)

    def _score_sentence(self, feats, tags, mask):
        B, T, K = feats.shape
        start = torch.full((B, 1), self.tag_to_ix[START_TAG], dtype=torch.long)
        tags_ext = torch.cat([start, tags], dim=1)
        emit = feats.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        trans = self.transitions[tags_ext[:, 1:], tags_ext[:, :-1]]  # (B, T)
        score = ((emit + trans) * mask).sum(1)
        last = tags.gather(1, (mask.sum(1).long() - 1).unsqueeze(1)).squeeze(1)
        return score + self.transitions[self.tag_to_ix[STOP_TAG], last]

    def _viterbi_decode(self, feats):
        """The tutorial's single-sentence Viterbi, with back-pointers and max/argmax."""
        backpointers = []
        init_vvars = torch.full((1, self.tagset_size), -10000.)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0
        forward_var = init_vvars
        for feat in feats:
            bptrs_t = []
            viterbivars_t = []
            for next_tag in range(self.tagset_size):
                next_tag_var = forward_var + self.transitions[next_tag]
                best_tag_id = argmax(next_tag_var)
                bptrs_t.append(best_tag_id)
                viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
            forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
            backpointers.append(bptrs_t)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = argmax(terminal_var)
        path_score = terminal_var[0][best_tag_id]
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]  # Sanity check
        best_path.reverse()
        return path_score, best_path

    def neg_log_likelihood(self, sentences, lengths, tags):
        mask = sentences != 0
        feats = self._get_lstm_features(sentences, lengths)
        forward_score = self._forward_alg(feats, mask)
        gold_score = self._score_sentence(feats, tags, mask.float())
        return (forward_score - gold_score).mean()

    def forward(self, sentences, lengths):
        feats = self._get_lstm_features(sentences, lengths)
        return [self._viterbi_decode(f[:n]) for f, n in zip(feats, lengths.tolist())]


START_TAG, STOP_TAG = "<START>", "<STOP>"


def run_ctc(args, rs):
    n_feats, n_classes, N = 12, 6, 6
    model = DeepSpeech(n_feats, n_classes)
    init(model, args)
    ctc = nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    lengths = torch.tensor([20, 18, 15, 20, 12, 16], dtype=torch.int32)
    feats = torch.from_numpy(rs.randn(N, 1, n_feats, 20).astype(np.float32))
    targets = [torch.from_numpy(rs.randint(1, n_classes, size=n)) for n in (4, 3, 5, 2, 3, 4)]
    target_lengths = torch.tensor([len(t) for t in targets])
    concat_targets = torch.cat(targets)
    padded_targets = pad_sequence(targets, batch_first=True)
    for step in range(args.steps):
        model.train()
        log_probs, out_lengths = model(feats, lengths)
        if step % 2 == 0:
            loss = ctc(log_probs, concat_targets, out_lengths, target_lengths)
        else:
            loss = F.ctc_loss(log_probs, padded_targets, out_lengths, target_lengths,
                              reduction="sum") / N
        opt.zero_grad()
        loss.backward()
        gn = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        print(f"step {step}: ctc loss {loss.item():.6f} grad norm {gn.item():.6f}")
    model.eval()
    with torch.no_grad():
        log_probs, out_lengths = model(feats, lengths)
        per = F.ctc_loss(log_probs, padded_targets, out_lengths, target_lengths, reduction="none")
        print("eval per-utterance loss", [round(v, 4) for v in per.tolist()])
        print("greedy", greedy_decode(log_probs, out_lengths))


def run_crf(args, rs):
    tag_to_ix = {"O": 0, "B": 1, "I": 2, START_TAG: 3, STOP_TAG: 4}
    vocab = 15
    model = BiLSTM_CRF(vocab, tag_to_ix, embedding_dim=8, hidden_dim=12)
    init(model, args)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr * 40, weight_decay=1e-4)
    lengths = torch.from_numpy(rs.randint(4, 10, size=8))
    sents = torch.zeros(8, 9, dtype=torch.long)
    tags = torch.zeros(8, 9, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        words = rs.randint(1, vocab, size=n)
        sents[i, :n] = torch.from_numpy(words)
        # tag rule: words > 10 start an entity, the word after it continues it
        t = np.where(words > 10, 1, 0)
        t[1:][(t[:-1] == 1) & (t[1:] == 0)] = 2
        tags[i, :n] = torch.from_numpy(t)
    for step in range(args.steps):
        model.zero_grad()
        loss = model.neg_log_likelihood(sents, lengths, tags)
        loss.backward()
        opt.step()
        print(f"step {step}: crf loss {loss.item():.6f}")
    with torch.no_grad():
        decoded = model(sents[:4], lengths[:4])
        for score, path in decoded:
            print(f"viterbi score {score.item():.5f} path {path}")


def init(model, args):
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="ctc", choices=["ctc", "crf"])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rs = np.random.RandomState(args.seed)
    (run_ctc if args.task == "ctc" else run_crf)(args, rs)


if __name__ == "__main__":
    main()
