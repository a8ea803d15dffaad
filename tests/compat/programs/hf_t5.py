"""A T5 encoder-decoder as transformers' modeling_t5.py writes it (from scratch): relative
position buckets (torch.log, torch.min, torch.full_like, torch.where) into a bias embedding
shared by the layers of a stack, a T5LayerNorm (RMS in float32, cast back with
``hidden.to(self.weight.dtype)``), un-scaled attention with an additive position bias and
finfo-min masks, cross attention over the encoder, gated-gelu feed-forward, ``_shift_right`` with
masked_fill_, ``-100`` labels, Adafactor-free AdamW; then greedy decoding with a growing
past_key_values cache, checked against the full forward, under float32 or float64."""

import argparse
import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class T5Config:
    def __init__(self, vocab_size=32, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4,
                 relative_attention_num_buckets=8, relative_attention_max_distance=20,
                 layer_norm_epsilon=1e-6, initializer_factor=1.0, pad_token_id=0,
                 decoder_start_token_id=0, eos_token_id=1, is_decoder=False):
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.d_kv = d_kv
        self.d_ff = d_ff
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.relative_attention_num_buckets = relative_attention_num_buckets
        self.relative_attention_max_distance = relative_attention_max_distance
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_factor = initializer_factor
        self.pad_token_id = pad_token_id
        self.decoder_start_token_id = decoder_start_token_id
        self.eos_token_id = eos_token_id
        self.is_decoder = is_decoder


class T5LayerNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        # T5 uses a layer_norm which only scales and doesn't shift (RMS norm), in float32
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight.dtype in [torch.float16, torch.bfloat16]:
            hidden_states = hidden_states.to(self.weight.dtype)
        return self.weight * hidden_states.to(self.weight.dtype)


class T5DenseGatedActDense(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(0.0)

    def forward(self, hidden_states):
        hidden_gelu = F.gelu(self.wi_0(hidden_states), approximate="tanh")
        hidden_linear = self.wi_1(hidden_states)
        hidden_states = self.dropout(hidden_gelu * hidden_linear)
        if isinstance(self.wo.weight, torch.Tensor) and hidden_states.dtype != self.wo.weight.dtype:
            hidden_states = hidden_states.to(self.wo.weight.dtype)
        return self.wo(hidden_states)


class T5Attention(nn.Module):
    def __init__(self, config, has_relative_attention_bias=False):
        super().__init__()
        self.is_decoder = config.is_decoder
        self.has_relative_attention_bias = has_relative_attention_bias
        self.relative_attention_num_buckets = config.relative_attention_num_buckets
        self.relative_attention_max_distance = config.relative_attention_max_distance
        self.d_model = config.d_model
        self.key_value_proj_dim = config.d_kv
        self.n_heads = config.num_heads
        self.inner_dim = self.n_heads * self.key_value_proj_dim
        self.q = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.k = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.v = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.o = nn.Linear(self.inner_dim, self.d_model, bias=False)
        if self.has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.relative_attention_num_buckets, self.n_heads)

    @staticmethod
    def _relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
        relative_buckets = 0
        if bidirectional:
            num_buckets //= 2
            relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
            relative_position = torch.abs(relative_position)
        else:
            relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
        # now relative_position is in the range [0, inf)
        max_exact = num_buckets // 2
        is_small = relative_position < max_exact
        relative_position_if_large = max_exact + (
            torch.log(relative_position.float() / max_exact)
            / math.log(max_distance / max_exact)
            * (num_buckets - max_exact)
        ).to(torch.long)
        relative_position_if_large = torch.min(
            relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
        relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
        return relative_buckets

    def compute_bias(self, query_length, key_length, device=None):
        if device is None:
            device = self.relative_attention_bias.weight.device
        context_position = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
        memory_position = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
        relative_position = memory_position - context_position  # shape (query_length, key_length)
        relative_position_bucket = self._relative_position_bucket(
            relative_position, bidirectional=(not self.is_decoder),
            num_buckets=self.relative_attention_num_buckets,
            max_distance=self.relative_attention_max_distance)
        values = self.relative_attention_bias(relative_position_bucket)  # (q, k, heads)
        values = values.permute([2, 0, 1]).unsqueeze(0)  # (1, heads, q, k)
        return values

    def forward(self, hidden_states, mask=None, key_value_states=None, position_bias=None,
                past_key_value=None, use_cache=False):
        batch_size, seq_length = hidden_states.shape[:2]
        real_seq_length = seq_length
        if past_key_value is not None and key_value_states is None:
            real_seq_length += past_key_value[0].shape[2]
        key_length = real_seq_length if key_value_states is None else key_value_states.shape[1]

        def shape(states):
            return states.view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)

        def unshape(states):
            return states.transpose(1, 2).contiguous().view(batch_size, -1, self.inner_dim)

        def project(hidden_states, proj_layer, key_value_states, past_key_value):
            if key_value_states is None:  # self-attn
                hidden_states = shape(proj_layer(hidden_states))
            elif past_key_value is None:  # cross-attn, first step
                hidden_states = shape(proj_layer(key_value_states))
            if past_key_value is not None:
                if key_value_states is None:  # self-attn: grow the cache
                    hidden_states = torch.cat([past_key_value, hidden_states], dim=2)
                else:  # cross-attn: reuse
                    hidden_states = past_key_value
            return hidden_states

        query_states = shape(self.q(hidden_states))
        key_states = project(hidden_states, self.k, key_value_states,
                             past_key_value[0] if past_key_value is not None else None)
        value_states = project(hidden_states, self.v, key_value_states,
                               past_key_value[1] if past_key_value is not None else None)
        scores = torch.matmul(query_states, key_states.transpose(3, 2))  # no 1/sqrt(d) in T5

        if position_bias is None:
            if not self.has_relative_attention_bias:
                position_bias = torch.zeros((1, self.n_heads, real_seq_length, key_length),
                                            device=scores.device, dtype=scores.dtype)
            else:
                position_bias = self.compute_bias(real_seq_length, key_length, device=scores.device)
            if past_key_value is not None:
                position_bias = position_bias[:, :, -hidden_states.size(1):, :]
            if mask is not None:
                position_bias = position_bias + mask  # (batch_size, n_heads, seq_length, key_length)
        scores += position_bias
        attn_weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        attn_output = unshape(torch.matmul(attn_weights, value_states))
        attn_output = self.o(attn_output)
        present = (key_states, value_states) if (self.is_decoder and use_cache) else None
        return attn_output, present, position_bias


class T5Block(nn.Module):
    def __init__(self, config, has_relative_attention_bias=False):
        super().__init__()
        self.is_decoder = config.is_decoder
        self.self_attn = T5Attention(config, has_relative_attention_bias)
        self.self_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        if self.is_decoder:
            self.cross_attn = T5Attention(config, has_relative_attention_bias=False)
            self.cross_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.ff = T5DenseGatedActDense(config)
        self.ff_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)

    def forward(self, hidden_states, attention_mask=None, position_bias=None, encoder_hidden_states=None,
                encoder_attention_mask=None, encoder_decoder_position_bias=None, past_key_value=None,
                use_cache=False):
        self_past = past_key_value[:2] if past_key_value is not None else None
        cross_past = past_key_value[2:] if past_key_value is not None else None
        attn, self_present, position_bias = self.self_attn(
            self.self_norm(hidden_states), mask=attention_mask, position_bias=position_bias,
            past_key_value=self_past, use_cache=use_cache)
        hidden_states = hidden_states + attn
        present = self_present
        if self.is_decoder and encoder_hidden_states is not None:
            attn, cross_present, encoder_decoder_position_bias = self.cross_attn(
                self.cross_norm(hidden_states), mask=encoder_attention_mask,
                key_value_states=encoder_hidden_states, position_bias=encoder_decoder_position_bias,
                past_key_value=cross_past, use_cache=use_cache)
            hidden_states = hidden_states + attn
            if present is not None:
                present = present + cross_present
        hidden_states = hidden_states + self.ff(self.ff_norm(hidden_states))
        return hidden_states, position_bias, encoder_decoder_position_bias, present


class T5Stack(nn.Module):
    def __init__(self, config, embed_tokens):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.is_decoder = config.is_decoder
        self.block = nn.ModuleList([T5Block(config, has_relative_attention_bias=bool(i == 0))
                                    for i in range(config.num_layers)])
        self.final_layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)

    def forward(self, input_ids, attention_mask=None, encoder_hidden_states=None,
                encoder_attention_mask=None, past_key_values=None, use_cache=False):
        batch_size, seq_length = input_ids.size()
        inputs_embeds = self.embed_tokens(input_ids)
        past_length = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        mask_seq_length = past_length + seq_length
        if attention_mask is None:
            attention_mask = torch.ones(batch_size, mask_seq_length, device=inputs_embeds.device)
        dtype = inputs_embeds.dtype
        if self.is_decoder:  # causal and padding mask together
            seq_ids = torch.arange(mask_seq_length, device=inputs_embeds.device)
            causal_mask = seq_ids[None, None, :].repeat(batch_size, mask_seq_length, 1) <= seq_ids[None, :, None]
            causal_mask = causal_mask.to(attention_mask.dtype)
            extended = causal_mask[:, None, :, :] * attention_mask[:, None, None, :]
            extended = extended[:, :, -seq_length:, :]
        else:
            extended = attention_mask[:, None, None, :]
        extended = (1.0 - extended.to(dtype)) * torch.finfo(dtype).min
        if encoder_hidden_states is not None:
            if encoder_attention_mask is None:
                encoder_attention_mask = torch.ones(encoder_hidden_states.shape[:2], device=inputs_embeds.device,
                                                    dtype=torch.long)
            encoder_extended = (1.0 - encoder_attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        else:
            encoder_extended = None
        if past_key_values is None:
            past_key_values = [None] * len(self.block)
        position_bias = encoder_decoder_position_bias = None
        presents = () if use_cache else None
        hidden_states = inputs_embeds
        for layer_module, past_key_value in zip(self.block, past_key_values):
            hidden_states, position_bias, encoder_decoder_position_bias, present = layer_module(
                hidden_states, attention_mask=extended, position_bias=position_bias,
                encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_extended,
                encoder_decoder_position_bias=encoder_decoder_position_bias,
                past_key_value=past_key_value, use_cache=use_cache)
            if use_cache:
                presents = presents + (present,)
        return self.final_layer_norm(hidden_states), presents


class T5ForConditionalGeneration(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model_dim = config.d_model
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        encoder_config = copy.deepcopy(config)
        encoder_config.is_decoder = False
        self.encoder = T5Stack(encoder_config, self.shared)
        decoder_config = copy.deepcopy(config)
        decoder_config.is_decoder = True
        decoder_config.num_layers = config.num_layers
        self.decoder = T5Stack(decoder_config, self.shared)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        factor = self.config.initializer_factor
        if isinstance(module, T5LayerNorm):
            module.weight.data.fill_(factor * 1.0)
        elif isinstance(module, T5ForConditionalGeneration):
            module.shared.weight.data.normal_(mean=0.0, std=factor * 1.0)
            module.lm_head.weight.data.normal_(mean=0.0, std=factor * 1.0)
        elif isinstance(module, T5DenseGatedActDense):
            module.wi_0.weight.data.normal_(mean=0.0, std=factor * ((self.config.d_model) ** -0.5))
            module.wi_1.weight.data.normal_(mean=0.0, std=factor * ((self.config.d_model) ** -0.5))
            module.wo.weight.data.normal_(mean=0.0, std=factor * ((self.config.d_ff) ** -0.5))
        elif isinstance(module, T5Attention):
            d_model, key_value_proj_dim, n_heads = self.config.d_model, self.config.d_kv, self.config.num_heads
            module.q.weight.data.normal_(mean=0.0, std=factor * ((d_model * key_value_proj_dim) ** -0.5))
            module.k.weight.data.normal_(mean=0.0, std=factor * (d_model**-0.5))
            module.v.weight.data.normal_(mean=0.0, std=factor * (d_model**-0.5))
            module.o.weight.data.normal_(mean=0.0, std=factor * ((n_heads * key_value_proj_dim) ** -0.5))
            if module.has_relative_attention_bias:
                module.relative_attention_bias.weight.data.normal_(mean=0.0, std=factor * ((d_model) ** -0.5))

    def _shift_right(self, input_ids):
        decoder_start_token_id = self.config.decoder_start_token_id
        pad_token_id = self.config.pad_token_id
        shifted_input_ids = input_ids.new_zeros(input_ids.shape)
        shifted_input_ids[..., 1:] = input_ids[..., :-1].clone()
        shifted_input_ids[..., 0] = decoder_start_token_id
        # replace possible -100 values in labels by `pad_token_id`
        shifted_input_ids.masked_fill_(shifted_input_ids == -100, pad_token_id)
        return shifted_input_ids

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, labels=None,
                encoder_outputs=None, past_key_values=None, use_cache=False):
        if encoder_outputs is None:
            encoder_outputs, _ = self.encoder(input_ids, attention_mask=attention_mask)
        if labels is not None and decoder_input_ids is None:
            decoder_input_ids = self._shift_right(labels)
        sequence_output, presents = self.decoder(
            decoder_input_ids, encoder_hidden_states=encoder_outputs, encoder_attention_mask=attention_mask,
            past_key_values=past_key_values, use_cache=use_cache)
        sequence_output = sequence_output * (self.model_dim**-0.5)  # rescale before the untied head
        lm_logits = self.lm_head(sequence_output)
        loss = None
        if labels is not None:
            loss_fct = nn.CrossEntropyLoss(ignore_index=-100)
            loss = loss_fct(lm_logits.view(-1, lm_logits.size(-1)), labels.view(-1))
        return loss, lm_logits, presents, encoder_outputs


def make_batch(rs, batch_size, config, src_len=10):
    """Reverse a random sequence (tokens 2..vocab-1, eos = 1), with padded sources and -100 labels."""
    src = torch.zeros((batch_size, src_len), dtype=torch.long)
    labels = torch.full((batch_size, src_len), -100, dtype=torch.long)
    for b in range(batch_size):
        n = rs.randint(4, src_len)
        seq = rs.randint(2, config.vocab_size, size=n - 1)
        src[b, :n] = torch.tensor(list(seq) + [config.eos_token_id])
        labels[b, :n] = torch.tensor(list(seq[::-1]) + [config.eos_token_id])
    return src, (src != config.pad_token_id).long(), labels


@torch.no_grad()
def greedy_decode(model, input_ids, attention_mask, max_length):
    encoder_outputs, _ = model.encoder(input_ids, attention_mask=attention_mask)
    decoder_input_ids = torch.full((input_ids.size(0), 1), model.config.decoder_start_token_id, dtype=torch.long)
    past = None
    cur = decoder_input_ids
    for _ in range(max_length):
        _, logits, past, _ = model(attention_mask=attention_mask, decoder_input_ids=cur,
                                   encoder_outputs=encoder_outputs, past_key_values=past, use_cache=True)
        next_tokens = torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)
        decoder_input_ids = torch.cat([decoder_input_ids, next_tokens], dim=-1)
        cur = next_tokens
    return decoder_input_ids, logits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    config = T5Config()
    model = T5ForConditionalGeneration(config)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    model.to(dtype)
    buckets = T5Attention._relative_position_bucket(
        torch.arange(-12, 13)[None, :], bidirectional=True, num_buckets=8, max_distance=20)
    print("buckets (bidirectional):", buckets.tolist())
    causal = T5Attention._relative_position_bucket(
        torch.arange(-24, 1)[None, :], bidirectional=False, num_buckets=8, max_distance=20)
    print("buckets (causal):", causal.tolist())
    print(f"{sum(p.numel() for p in model.parameters())} parameters, dtype {model.lm_head.weight.dtype}")

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    rs = np.random.RandomState(args.seed)
    model.train()
    for step in range(args.steps):
        src, mask, labels = make_batch(rs, args.batch_size, config)
        loss, logits, _, _ = model(input_ids=src, attention_mask=mask, labels=labels)
        optimizer.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 3 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.6f} norm {norm.item():.6f}")

    model.eval()
    src, mask, labels = make_batch(rs, 4, config)
    out, last_logits = greedy_decode(model, src, mask, 6)
    print("greedy:", out.tolist())
    with torch.no_grad():
        _, full, _, _ = model(input_ids=src, attention_mask=mask, decoder_input_ids=out[:, :-1])
    same = (full[:, -1] - last_logits[:, -1]).abs().max().item() < 1e-4
    print(f"cache agrees with full forward: {same}; last logits sum {full[:, -1].sum().item():.5f}")


if __name__ == "__main__":
    main()
