# ruff: noqa: UP006, UP035, UP045  (typing as transformers' model files write it)
"""A BERT as transformers' modeling_bert.py writes it (from scratch): word + position +
token-type embeddings with a non-persistent position_ids buffer, the extended attention mask
``(1.0 - mask[:, None, None, :]) * torch.finfo(dtype).min``, attention scores by torch.baddbmm,
an MLM head tied to the word embeddings with ``-100`` labels and nn.CrossEntropyLoss(ignore_index),
a tanh pooler for next-sentence prediction; AdamW with no-decay groups chosen by parameter name,
a linear-warmup LambdaLR, clip_grad_norm_, then masked-token predictions and accuracy."""

import argparse
import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PAD, CLS, SEP, MASK = 0, 1, 2, 3


class BertConfig:
    def __init__(self, vocab_size=40, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=32, type_vocab_size=2,
                 initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=PAD):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.pad_token_id = pad_token_id


class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(0.0)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)),
                             persistent=False)
        self.register_buffer("token_type_ids", torch.zeros(self.position_ids.size(), dtype=torch.long),
                             persistent=False)

    def forward(self, input_ids, token_type_ids=None):
        seq_length = input_ids.size(1)
        position_ids = self.position_ids[:, :seq_length]
        if token_type_ids is None:
            buffered = self.token_type_ids[:, :seq_length]
            token_type_ids = buffered.expand(input_ids.size(0), seq_length)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings += self.position_embeddings(position_ids)
        embeddings = self.LayerNorm(embeddings)
        return self.dropout(embeddings)


class BertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(0.0)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        x = x.view(new_x_shape)
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask: Optional[torch.Tensor] = None):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        bsz, heads, q_len, dk = query_layer.size()
        k_len = key_layer.size(-2)
        # scores = mask + q @ k^T / sqrt(d), one baddbmm (as GPT-Neo / Bloom write it)
        base = attention_mask.expand(bsz, heads, q_len, k_len).reshape(bsz * heads, q_len, k_len)
        attention_scores = torch.baddbmm(
            base, query_layer.reshape(bsz * heads, q_len, dk),
            key_layer.reshape(bsz * heads, k_len, dk).transpose(1, 2),
            beta=1.0, alpha=1.0 / math.sqrt(self.attention_head_size))
        attention_scores = attention_scores.view(bsz, heads, q_len, k_len)
        attention_probs = nn.functional.softmax(attention_scores, dim=-1)
        attention_probs = self.dropout(attention_probs)
        context_layer = torch.matmul(attention_probs, value_layer)
        context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
        new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
        return context_layer.view(new_context_layer_shape)


class BertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = BertSelfAttention(config)
        self.attention_output = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
        self.output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states, attention_mask):
        attn = self.attention(hidden_states, attention_mask)
        hidden_states = self.attention_norm(self.attention_output(attn) + hidden_states)
        intermediate = F.gelu(self.intermediate(hidden_states))
        return self.output_norm(self.output(intermediate) + hidden_states)


class BertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states):
        first_token_tensor = hidden_states[:, 0]
        return self.activation(self.dense(first_token_tensor))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden_states):
        hidden_states = self.LayerNorm(F.gelu(self.dense(hidden_states)))
        return self.decoder(hidden_states)


class BertForPreTraining(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.pooler = BertPooler(config)
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)
        self.apply(self._init_weights)
        self.predictions.decoder.weight = self.embeddings.word_embeddings.weight

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    def get_extended_attention_mask(self, attention_mask, dtype):
        extended_attention_mask = attention_mask[:, None, None, :]
        extended_attention_mask = extended_attention_mask.to(dtype=dtype)  # fp16 compatibility
        return (1.0 - extended_attention_mask) * torch.finfo(dtype).min

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None,
                next_sentence_label=None):
        if attention_mask is None:
            attention_mask = torch.ones(input_ids.shape, device=input_ids.device)
        extended = self.get_extended_attention_mask(attention_mask, self.embeddings.word_embeddings.weight.dtype)
        hidden = self.embeddings(input_ids, token_type_ids)
        for layer in self.layer:
            hidden = layer(hidden, extended)
        prediction_scores = self.predictions(hidden)
        seq_relationship_score = self.seq_relationship(self.pooler(hidden))
        total_loss = None
        if labels is not None and next_sentence_label is not None:
            loss_fct = nn.CrossEntropyLoss()  # -100 index = padding token
            masked_lm_loss = loss_fct(prediction_scores.view(-1, self.config.vocab_size), labels.view(-1))
            next_sentence_loss = loss_fct(seq_relationship_score.view(-1, 2), next_sentence_label.view(-1))
            total_loss = masked_lm_loss + next_sentence_loss
        return total_loss, prediction_scores, seq_relationship_score


def mask_tokens(inputs, special_mask, rs, vocab_size, mlm_probability=0.15):
    """DataCollatorForLanguageModeling's 80/10/10 masking, drawn from numpy so both libraries agree."""
    labels = inputs.clone()
    probability_matrix = torch.full(labels.shape, mlm_probability)
    probability_matrix.masked_fill_(special_mask, value=0.0)
    masked_indices = torch.from_numpy(rs.rand(*labels.shape)) < probability_matrix.double()
    labels[~masked_indices] = -100  # only compute loss on masked tokens
    draws = torch.from_numpy(rs.rand(*labels.shape))
    indices_replaced = (draws < 0.8) & masked_indices
    inputs[indices_replaced] = MASK
    indices_random = (draws >= 0.9) & masked_indices
    random_words = torch.from_numpy(rs.randint(4, vocab_size, size=labels.shape))
    inputs[indices_random] = random_words[indices_random]
    return inputs, labels


def make_batch(rs, batch_size, config):
    """Pairs of segments from a structured stream: [CLS] a [SEP] b [SEP] [PAD]...; is b a's continuation?"""
    seq_len = config.max_position_embeddings // 2
    ids = torch.full((batch_size, seq_len), PAD, dtype=torch.long)
    types = torch.zeros((batch_size, seq_len), dtype=torch.long)
    nsp = torch.from_numpy(rs.randint(0, 2, size=batch_size))
    for b in range(batch_size):
        la, lb = rs.randint(3, 6), rs.randint(3, 6)
        start = rs.randint(4, config.vocab_size)
        seq = [start]
        for _ in range(la + lb - 1):
            seq.append(4 + (seq[-1] * 7 + 2) % (config.vocab_size - 4))
        a, b_seg = seq[:la], seq[la:]
        if nsp[b] == 1:  # not the continuation: a random segment
            b_seg = list(rs.randint(4, config.vocab_size, size=lb))
        row = [CLS] + a + [SEP] + b_seg + [SEP]
        ids[b, :len(row)] = torch.tensor(row)
        types[b, la + 2:len(row)] = 1
    attention_mask = (ids != PAD).long()
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    return ids, types, attention_mask, special, nsp


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, last_epoch=-1):
    def lr_lambda(current_step: int):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = BertConfig()
    model = BertForPreTraining(config)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    model.to(device)
    print(f"{len(model.state_dict())} state_dict tensors, {len(list(model.named_buffers()))} buffers; "
          f"decoder tied: {model.predictions.decoder.weight is model.embeddings.word_embeddings.weight}")

    no_decay = ["bias", "LayerNorm.weight", "norm.weight"]
    optimizer_grouped_parameters = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
         "weight_decay": 0.0},
    ]
    print("group sizes:", [len(g["params"]) for g in optimizer_grouped_parameters])
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=args.lr, eps=1e-6)
    scheduler = get_linear_schedule_with_warmup(optimizer, args.warmup, args.steps)
    rs = np.random.RandomState(args.seed)

    model.train()
    for step in range(args.steps):
        ids, types, attention_mask, special, nsp = make_batch(rs, args.batch_size, config)
        inputs, labels = mask_tokens(ids.clone(), special, rs, config.vocab_size)
        loss, scores, nsp_scores = model(inputs.to(device), attention_mask.to(device), types.to(device),
                                         labels=labels.to(device), next_sentence_label=nsp.to(device))
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        scheduler.step()
        model.zero_grad()
        if step % 2 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.6f} grad_norm {grad_norm.item():.6f} "
                  f"lr {scheduler.get_last_lr()[0]:.6e} masked {(labels != -100).sum().item()}")

    model.eval()
    with torch.no_grad():
        ids, types, attention_mask, special, nsp = make_batch(rs, 16, config)
        inputs, labels = mask_tokens(ids.clone(), special, rs, config.vocab_size, mlm_probability=0.3)
        loss, scores, nsp_scores = model(inputs, attention_mask, types, labels=labels, next_sentence_label=nsp)
        masked = labels != -100
        preds = scores.argmax(-1)
        mlm_acc = (preds[masked] == labels[masked]).float().mean().item()
        nsp_acc = (nsp_scores.argmax(-1) == nsp).float().mean().item()
        pooled = model.pooler(model.embeddings(inputs, types))
    print(f"eval loss {loss.item():.6f} mlm acc {mlm_acc:.4f} nsp acc {nsp_acc:.4f} "
          f"masked {masked.sum().item()} pooled absmax {pooled.abs().max().item():.6f}")
    print("first predictions:", preds[masked][:10].tolist())


if __name__ == "__main__":
    main()
