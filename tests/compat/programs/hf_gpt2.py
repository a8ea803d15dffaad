# ruff: noqa: UP006, UP035, UP045  (typing as transformers' model files write it)
"""A GPT-2 as transformers' modeling_gpt2.py, nanoGPT and minGPT write it (from scratch): Conv1D
projections by torch.addmm, a non-persistent ``tril(ones).view(1, 1, n, n)`` causal buffer
applied with torch.where and torch.finfo(dtype).min, gelu(approximate='tanh'), apply(_init_weights)
with the scaled c_proj init by parameter name, tied lm_head, past_key_values grown by torch.cat;
then top-k/top-p filtering (topk, sort, cumsum, scatter), multinomial sampling and a beam search
(gather, index_select, view/topk over beams*vocab)."""

import argparse
import math
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class GPT2Config:
    def __init__(self, vocab_size=28, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                 layer_norm_epsilon=1e-5, initializer_range=0.02):
        self.vocab_size = vocab_size
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_head = n_head
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range


class Conv1D(nn.Module):
    """A linear layer with transposed weights (nf = out features), as in GPT-2's TF port."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        x = x.view(size_out)
        return x


class GPT2Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        max_positions = config.n_positions
        self.register_buffer(
            "bias",
            torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
                1, 1, max_positions, max_positions),
            persistent=False,
        )
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.split_size = self.embed_dim
        self.scale_attn_weights = True
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(0.0)
        self.resid_dropout = nn.Dropout(0.0)

    def _attn(self, query, key, value, attention_mask=None):
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        if self.scale_attn_weights:
            attn_weights = attn_weights / torch.full(
                [], value.size(-1) ** 0.5, dtype=attn_weights.dtype, device=attn_weights.device)
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length: key_length, :key_length]
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.full([], mask_value, dtype=attn_weights.dtype, device=attn_weights.device)
        attn_weights = torch.where(causal_mask, attn_weights.to(attn_weights.dtype), mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        attn_weights = attn_weights.type(value.dtype)
        attn_weights = self.attn_dropout(attn_weights)
        attn_output = torch.matmul(attn_weights, value)
        return attn_output, attn_weights

    def _split_heads(self, tensor, num_heads, attn_head_size):
        new_shape = tensor.size()[:-1] + (num_heads, attn_head_size)
        tensor = tensor.view(new_shape)
        return tensor.permute(0, 2, 1, 3)  # (batch, head, seq_length, head_features)

    def _merge_heads(self, tensor, num_heads, attn_head_size):
        tensor = tensor.permute(0, 2, 1, 3).contiguous()
        new_shape = tensor.size()[:-2] + (num_heads * attn_head_size,)
        return tensor.view(new_shape)

    def forward(self, hidden_states, layer_past: Optional[Tuple[torch.Tensor]] = None,
                attention_mask=None, use_cache=False):
        query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query = self._split_heads(query, self.num_heads, self.head_dim)
        key = self._split_heads(key, self.num_heads, self.head_dim)
        value = self._split_heads(value, self.num_heads, self.head_dim)
        if layer_past is not None:
            past_key, past_value = layer_past
            key = torch.cat((past_key, key), dim=-2)
            value = torch.cat((past_value, value), dim=-2)
        present = (key, value) if use_cache is True else None
        attn_output, attn_weights = self._attn(query, key, value, attention_mask)
        attn_output = self._merge_heads(attn_output, self.num_heads, self.head_dim)
        attn_output = self.c_proj(attn_output)
        attn_output = self.resid_dropout(attn_output)
        return attn_output, present


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size, config):
        super().__init__()
        embed_dim = config.n_embd
        self.c_fc = Conv1D(intermediate_size, embed_dim)
        self.c_proj = Conv1D(embed_dim, intermediate_size)
        self.dropout = nn.Dropout(0.0)

    def forward(self, hidden_states):
        hidden_states = self.c_fc(hidden_states)
        hidden_states = F.gelu(hidden_states, approximate="tanh")
        hidden_states = self.c_proj(hidden_states)
        return self.dropout(hidden_states)


class GPT2Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden_size = config.n_embd
        self.ln_1 = nn.LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(4 * hidden_size, config)

    def forward(self, hidden_states, layer_past=None, attention_mask=None, use_cache=False):
        residual = hidden_states
        hidden_states = self.ln_1(hidden_states)
        attn_output, present = self.attn(hidden_states, layer_past=layer_past,
                                         attention_mask=attention_mask, use_cache=use_cache)
        hidden_states = attn_output + residual
        residual = hidden_states
        hidden_states = self.ln_2(hidden_states)
        hidden_states = residual + self.mlp(hidden_states)
        return hidden_states, present


class GPT2LMHeadModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(0.0)
        self.h = nn.ModuleList([GPT2Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        self.lm_head.weight = self.wte.weight  # tie_weights

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, Conv1D)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        # "Scale the weights of residual layers at initialization" (GPT-2 paper)
        for name, p in module.named_parameters():
            if name == "c_proj.weight":
                nn.init.normal_(p, mean=0.0, std=(self.config.initializer_range / math.sqrt(2 * self.config.n_layer)))

    def forward(self, input_ids, past_key_values=None, attention_mask=None, labels=None,
                use_cache=False):
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        batch_size = input_ids.shape[0]
        if past_key_values is None:
            past_length = 0
            past_key_values = tuple([None] * len(self.h))
        else:
            past_length = past_key_values[0][0].size(-2)
        position_ids = torch.arange(past_length, input_shape[-1] + past_length, dtype=torch.long,
                                    device=input_ids.device)
        position_ids = position_ids.unsqueeze(0)
        if attention_mask is not None:
            attention_mask = attention_mask.view(batch_size, -1)
            attention_mask = attention_mask[:, None, None, :]
            attention_mask = attention_mask.to(dtype=self.wte.weight.dtype)
            attention_mask = (1.0 - attention_mask) * torch.finfo(self.wte.weight.dtype).min
        hidden_states = self.wte(input_ids) + self.wpe(position_ids)
        hidden_states = self.drop(hidden_states)
        output_shape = (-1,) + input_shape[1:] + (hidden_states.size(-1),)
        presents = () if use_cache else None
        for block, layer_past in zip(self.h, past_key_values):
            hidden_states, present = block(hidden_states, layer_past=layer_past,
                                           attention_mask=attention_mask, use_cache=use_cache)
            if use_cache is True:
                presents = presents + (present,)
        hidden_states = self.ln_f(hidden_states)
        hidden_states = hidden_states.view(output_shape)
        lm_logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            shift_logits = lm_logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss_fct = nn.CrossEntropyLoss()
            loss = loss_fct(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
        return loss, lm_logits, presents


def top_k_top_p_filtering(logits, top_k=0, top_p=1.0, filter_value=-float("Inf"), min_tokens_to_keep=1):
    if top_k > 0:
        top_k = min(max(top_k, min_tokens_to_keep), logits.size(-1))
        indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
        logits[indices_to_remove] = filter_value
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True)
        cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        sorted_indices_to_remove = cumulative_probs > top_p
        if min_tokens_to_keep > 1:
            sorted_indices_to_remove[..., :min_tokens_to_keep] = 0
        sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
        sorted_indices_to_remove[..., 0] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
        logits[indices_to_remove] = filter_value
    return logits


@torch.no_grad()
def sample(model, input_ids, max_new_tokens, temperature=1.0, top_k=0, top_p=1.0):
    past = None
    cur = input_ids
    for _ in range(max_new_tokens):
        _, logits, past = model(cur, past_key_values=past, use_cache=True)
        next_token_logits = logits[:, -1, :] / temperature
        filtered = top_k_top_p_filtering(next_token_logits, top_k=top_k, top_p=top_p)
        probs = F.softmax(filtered, dim=-1)
        next_token = torch.multinomial(probs, num_samples=1)
        input_ids = torch.cat([input_ids, next_token], dim=-1)
        cur = next_token
    return input_ids


@torch.no_grad()
def beam_search(model, input_ids, num_beams, max_new_tokens):
    """One sequence, num_beams beams; past_key_values reordered by index_select each step."""
    input_ids = input_ids.expand(num_beams, -1).clone()
    beam_scores = torch.zeros(num_beams, dtype=torch.float)
    beam_scores[1:] = -1e9  # only the first beam is live at the start
    past = None
    cur = input_ids
    vocab = model.config.vocab_size
    for _ in range(max_new_tokens):
        _, logits, past = model(cur, past_key_values=past, use_cache=True)
        next_scores = F.log_softmax(logits[:, -1, :], dim=-1) + beam_scores[:, None].expand_as(logits[:, -1, :])
        next_scores = next_scores.view(1, num_beams * vocab)
        next_scores, next_tokens = torch.topk(next_scores, 2 * num_beams, dim=1, largest=True, sorted=True)
        next_indices = torch.div(next_tokens, vocab, rounding_mode="floor")
        next_tokens = next_tokens % vocab
        beam_idx = next_indices[0, :num_beams]
        beam_scores = next_scores[0, :num_beams]
        beam_tokens = next_tokens[0, :num_beams]
        input_ids = torch.cat([input_ids.index_select(0, beam_idx), beam_tokens.unsqueeze(-1)], dim=-1)
        past = tuple(tuple(p.index_select(0, beam_idx) for p in layer) for layer in past)
        cur = beam_tokens.unsqueeze(-1)
    best = torch.gather(beam_scores, 0, torch.argmax(beam_scores).unsqueeze(0))
    return input_ids, beam_scores, best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--block-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = GPT2Config()
    rs = np.random.RandomState(args.seed)
    n = 1500
    stream = np.empty(n, dtype=np.int64)
    stream[0] = 1
    for i in range(1, n):  # mostly (prev * 3 + 1) % vocab, sometimes random
        stream[i] = (stream[i - 1] * 3 + 1) % config.vocab_size if rs.rand() < 0.85 else rs.randint(config.vocab_size)
    data = torch.tensor(stream)

    model = GPT2LMHeadModel(config)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    model.to(device)
    print(f"tied: {model.lm_head.weight is model.wte.weight}; "
          f"{sum(p.numel() for p in model.parameters())} parameters; "
          f"state_dict keys {len(model.state_dict())}; buffers {len(list(model.buffers()))}")
    std = model.h[0].attn.c_proj.weight.std().item()
    print(f"c_proj std below 0.02: {std < 0.015}")

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    model.train()
    for step in range(args.steps):
        ix = rs.randint(0, n - args.block_size, size=args.batch_size)
        x = torch.stack([data[i:i + args.block_size] for i in ix]).to(device)
        # left padding on the first row, as a batch of unequal prompts would have
        attention_mask = torch.ones_like(x)
        attention_mask[0, :3] = 0
        loss, logits, _ = model(x, attention_mask=attention_mask, labels=x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 2 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.6f} logits mean {logits.mean().item():.6f}")

    model.eval()
    prompt = torch.tensor([[1, 4, 13]], device=device)
    # the cache must give the same logits as a full forward
    with torch.no_grad():
        _, full, _ = model(torch.tensor([[1, 4, 13, 12, 9]]))
        _, part, past = model(torch.tensor([[1, 4, 13]]), use_cache=True)
        _, step1, past = model(torch.tensor([[12]]), past_key_values=past, use_cache=True)
        _, step2, past = model(torch.tensor([[9]]), past_key_values=past, use_cache=True)
    cached = torch.cat([part, step1, step2], dim=1)
    print(f"cache max diff small: {(cached - full).abs().max().item() < 1e-5}; "
          f"past shape {tuple(past[0][0].shape)}")
    torch.manual_seed(0)
    out = sample(model, prompt.expand(2, -1), 8, temperature=0.9, top_k=6, top_p=0.9)
    print("sampled:", out.tolist())
    ids, scores, best = beam_search(model, prompt, num_beams=3, max_new_tokens=6)
    print("beams:", ids.tolist())
    print("beam scores:", [round(s, 5) for s in scores.tolist()], f"best {best.item():.5f}")


if __name__ == "__main__":
    main()
