"""CleanRL-style continuous PPO and SAC, shrunk, taking everything from torch.manual_seed (no
--init): ``layer_init`` with ``orthogonal_(weight, std)``, ``Normal(mean, std)`` samples and
``log_prob(a).sum(1)``, GAE by a reversed loop into ``zeros_like(rewards)``, minibatches from
``np.random.shuffle``, the clipped ratio and value losses, ``clip_grad_norm_``; then SAC's
tanh-squashed ``rsample`` with ``log(scale * (1 - y**2) + eps)``, a learned temperature and
polyak target updates through ``.data.mul_``/``.add_``.

pg and kl are small differences of float32 terms near 1 (normalised advantages times ratios
close to 1), so their relative drift is large (6e-4) while the absolute one stays ~1e-7, inside
the harness's atol; in float64 every printed digit agrees.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions.normal import Normal

parser = argparse.ArgumentParser()
parser.add_argument("--save-init")  # the harness passes these; this program ignores them
parser.add_argument("--init")
parser.parse_args()

torch.manual_seed(0)
np.random.seed(0)


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):  # noqa: B008 (as CleanRL writes it)
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_dim, act_dim):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0))
        self.actor_mean = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, act_dim), std=0.01))
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        action_mean = self.actor_mean(x)
        action_logstd = self.actor_logstd.expand_as(action_mean)
        action_std = torch.exp(action_logstd)
        probs = Normal(action_mean, action_std)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)


num_steps, num_envs, obs_dim, act_dim = 16, 4, 6, 2
gamma, gae_lambda = 0.99, 0.95
agent = Agent(obs_dim, act_dim)
optimizer = optim.Adam(agent.parameters(), lr=3e-4, eps=1e-5)
obs = torch.zeros((num_steps, num_envs, obs_dim))
actions = torch.zeros((num_steps, num_envs, act_dim))
logprobs = torch.zeros((num_steps, num_envs))
rewards = torch.zeros((num_steps, num_envs))
dones = torch.zeros((num_steps, num_envs))
values = torch.zeros((num_steps, num_envs))
next_obs = torch.Tensor(np.random.randn(num_envs, obs_dim))
next_done = torch.zeros(num_envs)
for update in range(1, 3):
    frac = 1.0 - (update - 1.0) / 2
    optimizer.param_groups[0]["lr"] = frac * 3e-4
    for step in range(num_steps):
        obs[step] = next_obs
        dones[step] = next_done
        with torch.no_grad():
            action, logprob, _, value = agent.get_action_and_value(next_obs)
            values[step] = value.flatten()
        actions[step] = action
        logprobs[step] = logprob
        r = -(action.cpu().numpy() ** 2).sum(1)
        d = np.random.rand(num_envs) < 0.1
        rewards[step] = torch.tensor(r).to("cpu").view(-1)
        next_obs, next_done = torch.Tensor(np.random.randn(num_envs, obs_dim)), torch.Tensor(d)
    with torch.no_grad():
        next_value = agent.get_value(next_obs).reshape(1, -1)
        advantages = torch.zeros_like(rewards)
        lastgaelam = 0
        for t in reversed(range(num_steps)):
            if t == num_steps - 1:
                nextnonterminal = 1.0 - next_done
                nextvalues = next_value
            else:
                nextnonterminal = 1.0 - dones[t + 1]
                nextvalues = values[t + 1]
            delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
            advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
        returns = advantages + values
    b_obs = obs.reshape((-1, obs_dim))
    b_logprobs = logprobs.reshape(-1)
    b_actions = actions.reshape((-1, act_dim))
    b_advantages = advantages.reshape(-1)
    b_returns = returns.reshape(-1)
    b_values = values.reshape(-1)
    b_inds = np.arange(64)
    clipfracs = []
    for epoch in range(2):
        np.random.shuffle(b_inds)
        for start in range(0, 64, 16):
            mb_inds = b_inds[start:start + 16]
            _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
            logratio = newlogprob - b_logprobs[mb_inds]
            ratio = logratio.exp()
            with torch.no_grad():
                old_approx_kl = (-logratio).mean()
                approx_kl = ((ratio - 1) - logratio).mean()
                clipfracs += [((ratio - 1.0).abs() > 0.2).float().mean().item()]
            mb_advantages = b_advantages[mb_inds]
            mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
            pg_loss1 = -mb_advantages * ratio
            pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - 0.2, 1 + 0.2)
            pg_loss = torch.max(pg_loss1, pg_loss2).mean()
            newvalue = newvalue.view(-1)
            v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
            v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -0.2, 0.2)
            v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
            v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
            v_loss = 0.5 * v_loss_max.mean()
            entropy_loss = entropy.mean()
            loss = pg_loss - 0.0 * entropy_loss + v_loss * 0.5
            optimizer.zero_grad()
            loss.backward()
            gn = nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
            optimizer.step()
    y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
    var_y = np.var(y_true)
    explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
    print(f"update {update} loss {loss.item():.6g} v_loss {v_loss.item():.6g} pg {pg_loss.item():.6g} "
          f"kl {approx_kl.item():.6g} oldkl {old_approx_kl.item():.6g} clipfrac {np.mean(clipfracs):.6g} "
          f"ev {explained_var:.6g} gn {gn.item():.6g} ent {entropy_loss.item():.6g}")

# SAC
LOG_STD_MAX, LOG_STD_MIN = 2, -5


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc_mean = nn.Linear(32, act_dim)
        self.fc_logstd = nn.Linear(32, act_dim)
        self.register_buffer("action_scale", torch.tensor(np.ones(act_dim) * 2.0, dtype=torch.float32))
        self.register_buffer("action_bias", torch.tensor(np.zeros(act_dim), dtype=torch.float32))

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        mean = self.fc_mean(x)
        log_std = torch.tanh(self.fc_logstd(x))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return mean, log_std

    def get_action(self, x):
        mean, log_std = self(x)
        std = log_std.exp()
        normal = torch.distributions.Normal(mean, std)
        x_t = normal.rsample()
        y_t = torch.tanh(x_t)
        action = y_t * self.action_scale + self.action_bias
        log_prob = normal.log_prob(x_t)
        log_prob -= torch.log(self.action_scale * (1 - y_t.pow(2)) + 1e-6)
        log_prob = log_prob.sum(1, keepdim=True)
        mean = torch.tanh(mean) * self.action_scale + self.action_bias
        return action, log_prob, mean


class SoftQNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim + act_dim, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


actor = Actor()
qf1, qf1_target = SoftQNetwork(), SoftQNetwork()
qf1_target.load_state_dict(qf1.state_dict())
q_optimizer = optim.Adam(list(qf1.parameters()), lr=1e-3)
actor_optimizer = optim.Adam(list(actor.parameters()), lr=3e-4)
target_entropy = -torch.prod(torch.Tensor((act_dim,))).item()
log_alpha = torch.zeros(1, requires_grad=True)
alpha = log_alpha.exp().item()
a_optimizer = optim.Adam([log_alpha], lr=1e-3)
polyak = 0.995
for it in range(4):
    o = torch.Tensor(np.random.randn(32, obs_dim))
    a = torch.Tensor(np.random.uniform(-2, 2, (32, act_dim)))
    r = torch.Tensor(np.random.randn(32))
    o2 = torch.Tensor(np.random.randn(32, obs_dim))
    d = torch.Tensor((np.random.rand(32) < 0.1).astype(np.float32))
    with torch.no_grad():
        next_state_actions, next_state_log_pi, _ = actor.get_action(o2)
        qf1_next_target = qf1_target(o2, next_state_actions)
        min_qf_next_target = qf1_next_target - alpha * next_state_log_pi
        next_q_value = r.flatten() + (1 - d.flatten()) * 0.99 * (min_qf_next_target).view(-1)
    qf1_a_values = qf1(o, a).view(-1)
    qf_loss = F.mse_loss(qf1_a_values, next_q_value)
    q_optimizer.zero_grad()
    qf_loss.backward()
    q_optimizer.step()
    pi, log_pi, _ = actor.get_action(o)
    min_qf_pi = qf1(o, pi)
    actor_loss = ((alpha * log_pi) - min_qf_pi).mean()
    actor_optimizer.zero_grad()
    actor_loss.backward()
    actor_optimizer.step()
    with torch.no_grad():
        _, log_pi, _ = actor.get_action(o)
    alpha_loss = (-log_alpha.exp() * (log_pi + target_entropy)).mean()
    a_optimizer.zero_grad()
    alpha_loss.backward()
    a_optimizer.step()
    alpha = log_alpha.exp().item()
    with torch.no_grad():
        for p, p_targ in zip(qf1.parameters(), qf1_target.parameters()):
            p_targ.data.mul_(polyak)
            p_targ.data.add_((1 - polyak) * p.data)
    for param, target_param in zip(qf1.parameters(), qf1_target.parameters()):
        target_param.data.copy_(0.005 * param.data + (1 - 0.005) * target_param.data)
    print(f"sac {it} qf_loss {qf_loss.item():.6g} actor_loss {actor_loss.item():.6g} alpha {alpha:.6g} "
          f"targ {sum(p.sum().item() for p in qf1_target.parameters()):.6g}")
