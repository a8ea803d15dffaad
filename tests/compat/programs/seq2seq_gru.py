# ruff: noqa: UP008  (torch 1.x style, as users wrote it)
"""A GRU encoder / attention-decoder seq2seq model (after the PyTorch seq2seq tutorial) that
learns to reverse digit strings, with teacher forcing in training and greedy decoding in eval."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

SOS_token = 0
EOS_token = 1


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.0):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, max_length, dropout_p=0.0):
        super(AttnDecoderRNN, self).__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)
        self.max_length = max_length

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long,
                                    device=encoder_outputs.device).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []

        for i in range(self.max_length):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs)
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)

            if target_tensor is not None:
                # Teacher forcing: Feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input

        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


def make_pairs(n, length, n_digits, seed):
    """Digit strings (tokens 2..) and their reversals, each ending in EOS."""
    rs = np.random.RandomState(seed)
    src = rs.randint(2, 2 + n_digits, size=(n, length))
    tgt = src[:, ::-1]
    eos = np.full((n, 1), EOS_token)
    return (torch.from_numpy(np.concatenate([src, eos], 1).astype(np.int64)),
            torch.from_numpy(np.ascontiguousarray(np.concatenate([tgt, eos], 1)).astype(np.int64)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hidden-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-cuda", action="store_true")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu")
    n_digits, length = 5, 4
    vocab = 2 + n_digits
    src, tgt = make_pairs(48, length, n_digits, args.seed)
    train_data = torch.utils.data.TensorDataset(src.to(device), tgt.to(device))
    train_dataloader = torch.utils.data.DataLoader(train_data, batch_size=args.batch_size)

    encoder = EncoderRNN(vocab, args.hidden_size).to(device)
    decoder = AttnDecoderRNN(args.hidden_size, vocab, max_length=length + 1).to(device)
    if args.save_init:
        torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict()},
                   args.save_init)
    if args.init:
        state = torch.load(args.init)
        encoder.load_state_dict(state["encoder"])
        decoder.load_state_dict(state["decoder"])

    encoder_optimizer = optim.Adam(encoder.parameters(), lr=args.lr)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=args.lr)
    criterion = nn.NLLLoss()

    for epoch in range(1, args.epochs + 1):
        total_loss = 0
        for input_tensor, target_tensor in train_dataloader:
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
            loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)),
                             target_tensor.view(-1))
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
        print(f"epoch {epoch} loss {total_loss / len(train_dataloader):.8f}")

    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(src[:4].to(device))
        decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden)
        _, decoded_ids = decoder_outputs.topk(1)
        print("decoded", decoded_ids.squeeze(-1).tolist())
        print(f"attention entropy loss {-(attentions * attentions.log()).sum(-1).mean().item():.8f}")


if __name__ == "__main__":
    main()
