"""Mixture-of-experts language models with the routers public repos ship: HF Mixtral's sparse
block (softmax + topk, one_hot expert mask, torch.where routing, index_add_) with its
load-balancing loss and a router z-loss; fairseq/DeepSpeed Switch top-1 gating with a capacity
(cumsum locations, one_hot, einsum dispatch/combine); DeepSeekMoE's gate (seq-level aux loss by
scatter_add_, AddAuxiliaryLoss autograd.Function, repeat_interleave training path) and its
inference path (argsort, bincount, scatter_reduce_)."""

import argparse
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Expert(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MixtralSparseMoeBlock(nn.Module):
    def __init__(self, dim, hidden, num_experts, top_k):
        super().__init__()
        self.hidden_dim, self.num_experts, self.top_k = dim, num_experts, top_k
        self.gate = nn.Linear(dim, num_experts, bias=False)
        self.experts = nn.ModuleList([Expert(dim, hidden) for _ in range(num_experts)])

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros((batch_size * sequence_length, hidden_dim),
                                          dtype=hidden_states.dtype, device=hidden_states.device)
        expert_mask = torch.nn.functional.one_hot(selected_experts,
                                                  num_classes=self.num_experts).permute(2, 1, 0)
        expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
        for expert_idx in expert_hit:
            expert_layer = self.experts[expert_idx]
            idx, top_x = torch.where(expert_mask[expert_idx].squeeze(0))
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        final_hidden_states = final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)
        return final_hidden_states, router_logits


def load_balancing_loss_func(gate_logits, num_experts, top_k=2):
    if gate_logits is None or not isinstance(gate_logits, tuple):
        return 0
    compute_device = gate_logits[0].device
    concatenated_gate_logits = torch.cat([layer_gate.to(compute_device) for layer_gate in gate_logits], dim=0)
    routing_weights = torch.nn.functional.softmax(concatenated_gate_logits, dim=-1)
    _, selected_experts = torch.topk(routing_weights, top_k, dim=-1)
    expert_mask = torch.nn.functional.one_hot(selected_experts, num_experts)
    tokens_per_expert = torch.mean(expert_mask.float(), dim=0)
    router_prob_per_expert = torch.mean(routing_weights, dim=0)
    overall_loss = torch.sum(tokens_per_expert * router_prob_per_expert.unsqueeze(0))
    return overall_loss * num_experts


def router_z_loss_func(router_logits):
    num_groups, tokens_per_group, _ = router_logits.shape
    log_z = torch.logsumexp(router_logits, dim=-1)
    z_loss = log_z ** 2
    return torch.sum(z_loss) / (num_groups * tokens_per_group)


class SwitchTop1MoE(nn.Module):
    """fairseq's moe_layer with top1gating: dense einsum dispatch into capacity slots."""

    def __init__(self, dim, hidden, num_experts, capacity_factor=1.25):
        super().__init__()
        self.num_experts, self.capacity_factor = num_experts, capacity_factor
        self.wg = nn.Linear(dim, num_experts, bias=False)
        self.experts = nn.ModuleList([Expert(dim, hidden) for _ in range(num_experts)])

    def top1gating(self, logits):
        gates = F.softmax(logits, dim=1)
        num_tokens, num_experts = gates.shape
        capacity = int(math.ceil(num_tokens / num_experts * self.capacity_factor))
        indices1_s = torch.argmax(gates, dim=1)
        mask1 = F.one_hot(indices1_s, num_classes=num_experts)
        gates1_s = (gates * mask1).sum(dim=1)
        locations1 = torch.cumsum(mask1, dim=0) - 1
        me = torch.mean(gates, dim=0)
        ce = torch.mean(mask1.to(gates.dtype), dim=0)
        l_aux = torch.mean(me * ce) * num_experts * num_experts
        mask1 = mask1 * torch.lt(locations1, capacity)
        locations1_s = torch.sum(locations1 * mask1, dim=1)
        gates1 = gates1_s.unsqueeze(-1) * mask1.to(gates1_s.dtype)  # einsum("s,se->se")
        locations1_sc = F.one_hot(locations1_s, num_classes=capacity).type_as(gates1)
        combine1_sec = torch.bmm(gates1.unsqueeze(-1), locations1_sc.unsqueeze(1))  # "se,sc->sec"
        dispatch_mask = combine1_sec.bool()
        dropped = int((mask1.sum(dim=1) == 0).sum())
        return l_aux, combine1_sec, dispatch_mask, dropped

    def forward(self, x):
        d_model = x.shape[-1]
        reshaped_input = x.reshape(-1, d_model)
        l_aux, combine_weights, dispatch_mask, dropped = self.top1gating(self.wg(reshaped_input))
        dispatched_input = torch.einsum("sec,sm->ecm", dispatch_mask.to(x.dtype), reshaped_input)
        chunks = dispatched_input.chunk(self.num_experts, dim=0)
        expert_outputs = [expert(chunk) for chunk, expert in zip(chunks, self.experts)]
        expert_output = torch.cat(expert_outputs, dim=0)
        combined_output = torch.einsum("sec,ecm->sm", combine_weights, expert_output)
        return combined_output.reshape(x.shape), l_aux, dropped


class AddAuxiliaryLoss(torch.autograd.Function):
    """The trick to add the aux loss: the gradient of the loss is 1 on the way back."""

    @staticmethod
    def forward(ctx, x, loss):
        assert loss.numel() == 1
        ctx.dtype = loss.dtype
        ctx.required_aux_loss = loss.requires_grad
        return x

    @staticmethod
    def backward(ctx, grad_output):
        grad_loss = None
        if ctx.required_aux_loss:
            grad_loss = torch.ones(1, dtype=ctx.dtype, device=grad_output.device)
        return grad_output, grad_loss


class MoEGate(nn.Module):
    def __init__(self, dim, n_routed_experts, top_k, alpha=0.01, seq_aux=True):
        super().__init__()
        self.top_k, self.n_routed_experts = top_k, n_routed_experts
        self.alpha, self.seq_aux = alpha, seq_aux
        self.norm_topk_prob = True
        self.weight = nn.Parameter(torch.empty((n_routed_experts, dim)))
        self.reset_parameters()

    def reset_parameters(self):
        import torch.nn.init as init
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, hidden_states):
        bsz, seq_len, h = hidden_states.shape
        hidden_states = hidden_states.view(-1, h)
        logits = F.linear(hidden_states, self.weight, None)
        scores = logits.softmax(dim=-1)
        topk_weight, topk_idx = torch.topk(scores, k=self.top_k, dim=-1, sorted=False)
        if self.top_k > 1 and self.norm_topk_prob:
            denominator = topk_weight.sum(dim=-1, keepdim=True) + 1e-20
            topk_weight = topk_weight / denominator
        if self.training and self.alpha > 0.0:
            scores_for_aux = scores
            aux_topk = self.top_k
            topk_idx_for_aux_loss = topk_idx.view(bsz, -1)
            if self.seq_aux:
                scores_for_seq_aux = scores_for_aux.view(bsz, seq_len, -1)
                ce = torch.zeros(bsz, self.n_routed_experts, device=hidden_states.device)
                ce.scatter_add_(1, topk_idx_for_aux_loss,
                                torch.ones(bsz, seq_len * aux_topk, device=hidden_states.device)
                                ).div_(seq_len * aux_topk / self.n_routed_experts)
                aux_loss = (ce * scores_for_seq_aux.mean(dim=1)).sum(dim=1).mean() * self.alpha
            else:
                mask_ce = F.one_hot(topk_idx_for_aux_loss.view(-1), num_classes=self.n_routed_experts)
                ce = mask_ce.float().mean(0)
                Pi = scores_for_aux.mean(0)
                fi = ce * self.n_routed_experts
                aux_loss = (Pi * fi).sum() * self.alpha
        else:
            aux_loss = None
        return topk_idx, topk_weight, aux_loss


class DeepseekMoE(nn.Module):
    def __init__(self, dim, hidden, n_routed_experts, top_k, n_shared_experts=1):
        super().__init__()
        self.num_experts_per_tok = top_k
        self.experts = nn.ModuleList([Expert(dim, hidden) for _ in range(n_routed_experts)])
        self.gate = MoEGate(dim, n_routed_experts, top_k)
        self.shared_experts = Expert(dim, hidden * n_shared_experts)

    def forward(self, hidden_states):
        identity = hidden_states
        orig_shape = hidden_states.shape
        topk_idx, topk_weight, aux_loss = self.gate(hidden_states)
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])
        flat_topk_idx = topk_idx.view(-1)
        if self.training:
            hidden_states = hidden_states.repeat_interleave(self.num_experts_per_tok, dim=0)
            y = torch.empty_like(hidden_states)
            for i, expert in enumerate(self.experts):
                y[flat_topk_idx == i] = expert(hidden_states[flat_topk_idx == i])
            y = (y.view(*topk_weight.shape, -1) * topk_weight.unsqueeze(-1)).sum(dim=1)
            y = y.view(*orig_shape)
            y = AddAuxiliaryLoss.apply(y, aux_loss)
        else:
            y = self.moe_infer(hidden_states, flat_topk_idx, topk_weight.view(-1, 1)).view(*orig_shape)
        y = y + self.shared_experts(identity)
        return y

    @torch.no_grad()
    def moe_infer(self, x, flat_expert_indices, flat_expert_weights):
        expert_cache = torch.zeros_like(x)
        idxs = flat_expert_indices.argsort()
        tokens_per_expert = flat_expert_indices.bincount().cpu().numpy().cumsum(0)
        token_idxs = idxs // self.num_experts_per_tok
        for i, end_idx in enumerate(tokens_per_expert):
            start_idx = 0 if i == 0 else tokens_per_expert[i - 1]
            if start_idx == end_idx:
                continue
            expert = self.experts[i]
            exp_token_idx = token_idxs[start_idx:end_idx]
            expert_tokens = x[exp_token_idx]
            expert_out = expert(expert_tokens)
            expert_out.mul_(flat_expert_weights[idxs[start_idx:end_idx]])
            expert_cache.scatter_reduce_(0, exp_token_idx.view(-1, 1).repeat(1, x.shape[-1]),
                                         expert_out, reduce='sum')
        return expert_cache


class MoELM(nn.Module):
    def __init__(self, router, vocab, dim=16, hidden=24, num_experts=4, top_k=2, n_layers=2):
        super().__init__()
        self.router = router
        self.embed = nn.Embedding(vocab, dim)
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(n_layers)])
        if router == "mixtral":
            make = lambda: MixtralSparseMoeBlock(dim, hidden, num_experts, top_k)
        elif router == "switch":
            make = lambda: SwitchTop1MoE(dim, hidden, num_experts)
        else:
            make = lambda: DeepseekMoE(dim, hidden, num_experts, top_k)
        self.moes = nn.ModuleList([make() for _ in range(n_layers)])
        self.mix = nn.Conv1d(dim, dim, 3, padding=2)  # causal token mixing: crop the right side
        self.head = nn.Linear(dim, vocab)
        self.num_experts, self.top_k = num_experts, top_k

    def forward(self, idx):
        x = self.embed(idx)
        x = x + self.mix(x.transpose(1, 2))[..., :idx.shape[1]].transpose(1, 2)
        aux, gate_logits, extra = 0.0, [], {}
        for norm, moe in zip(self.norms, self.moes):
            if self.router == "mixtral":
                y, logits = moe(norm(x))
                gate_logits.append(logits)
            elif self.router == "switch":
                y, l_aux, dropped = moe(norm(x))
                aux = aux + l_aux
                extra["dropped"] = extra.get("dropped", 0) + dropped
            else:
                y = moe(norm(x))
            x = x + y
        if self.router == "mixtral":
            aux = load_balancing_loss_func(tuple(gate_logits), self.num_experts, self.top_k)
            extra["z"] = router_z_loss_func(torch.stack(gate_logits))
            extra["counts"] = torch.bincount(torch.topk(gate_logits[0], self.top_k).indices.flatten(),
                                             minlength=self.num_experts)
        return self.head(x), aux, extra


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--router", default="mixtral", choices=["mixtral", "switch", "deepseek"])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--aux-coef", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", default=None)
    parser.add_argument("--save-init", default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    vocab, seq, batch = 20, 12, 8
    model = MoELM(args.router, vocab)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    rs = np.random.RandomState(args.seed)
    base = rs.randint(0, vocab, size=(64, 1))
    tokens = torch.from_numpy((base + np.arange(seq + 1) * rs.randint(1, 4, size=(64, 1))) % vocab)

    for step in range(args.steps):
        model.train()
        b = tokens[rs.randint(0, len(tokens), size=batch)]
        x, y = b[:, :-1], b[:, 1:]
        logits, aux, extra = model(x)
        ce = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        loss = ce + args.aux_coef * aux
        if "z" in extra:
            loss = loss + 1e-3 * extra["z"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        msg = f"step {step}: loss {loss.item():.6f} ce {ce.item():.6f}"
        if torch.is_tensor(aux):
            msg += f" aux {aux.item():.6f}"
        if "counts" in extra:
            msg += f" z {extra['z'].item():.5f} counts {extra['counts'].tolist()}"
        if "dropped" in extra:
            msg += f" dropped {extra['dropped']}"
        print(msg)
    model.eval()
    with torch.no_grad():
        x, y = tokens[:16, :-1], tokens[:16, 1:]
        logits, aux, extra = model(x)
        acc = (logits.argmax(-1) == y).float().mean()
        print(f"eval ce {F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)).item():.6f} "
              f"acc {acc.item():.4f}")
    gnorm = sum(p.grad.norm() ** 2 for p in model.parameters() if p.grad is not None) ** 0.5
    print(f"grad norm {gnorm.item():.6f} experts without grad "
          f"{sum(p.grad is None for p in model.parameters())}")


if __name__ == "__main__":
    main()
