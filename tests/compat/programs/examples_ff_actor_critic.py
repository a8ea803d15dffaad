"""Two pytorch/examples programs, shrunk, taking everything from torch.manual_seed (no --init):
mnist_forward_forward (a Module whose train() is overridden with another signature, one Adam
per layer built in __init__, x / (x.norm(2, 1, keepdim=True) + 1e-4), the label overlay
x_[range(n), y] = x.max(), negatives drawn with torch.randint) and
reinforcement_learning/actor_critic.py on a hand-written CartPole (Categorical sampling,
torch.tensor of a list of floats and of [0-d tensor], torch.stack(...).sum(), smooth_l1_loss)."""

import argparse
import math
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical
from torch.optim import Adam

# ---------------------------------------------------------------- forward-forward


def overlay_y_on_x(x, y, classes=10):
    x_ = x.clone()
    x_[:, :classes] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


def get_y_neg(y):
    y_neg = y.clone()
    for idx, y_samp in enumerate(y):
        allowed_indices = list(range(10))
        allowed_indices.remove(y_samp.item())
        y_neg[idx] = torch.tensor(allowed_indices)[torch.randint(len(allowed_indices), size=(1,))].item()
    return y_neg


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, epochs):
        super().__init__(in_features, out_features)
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=0.03)
        self.threshold = 2.0
        self.num_epochs = epochs

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            loss = torch.log(1 + torch.exp(torch.cat([-g_pos + self.threshold, g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            if i % 5 == 0:
                print(f"ff loss {loss.item():.6g}")
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


class Net(torch.nn.Module):
    def __init__(self, dims, epochs):
        super().__init__()
        self.layers = []
        for d in range(len(dims) - 1):
            self.layers = self.layers + [Layer(dims[d], dims[d + 1], epochs)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness = goodness + [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        return torch.cat(goodness_per_label, 1).argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            print("training layer:", i)
            h_pos, h_neg = layer.train(h_pos, h_neg)


def forward_forward():
    x = torch.rand(96, 64)
    y = torch.randint(0, 10, (96,))
    x[torch.arange(96), 10 + 5 * y] += 1.0  # something to learn
    net = Net([64, 32, 32], epochs=16)
    x_pos = overlay_y_on_x(x, y)
    y_neg = get_y_neg(y)
    x_neg = overlay_y_on_x(x, y_neg)
    print("y_neg", y_neg[:12].tolist())
    net.train(x_pos, x_neg)
    print("train error:", f"{1.0 - net.predict(x).eq(y).float().mean().item():.6g}")
    print("module parameters", len(list(net.parameters())), "layers", len(net.layers))


# ---------------------------------------------------------------- actor-critic


class CartPole:
    """gym's CartPole-v1 dynamics; episodes end at the threshold or after max_steps."""

    def __init__(self, seed, max_steps=40):
        self.rs = np.random.RandomState(seed)
        self.max_steps = max_steps

    def reset(self):
        self.state, self.steps = self.rs.uniform(-0.05, 0.05, size=4), 0
        return self.state.astype(np.float32)

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = 10.0 if action == 1 else -10.0
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + 0.05 * theta_dot ** 2 * sin) / 1.1
        thetaacc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos ** 2 / 1.1))
        xacc = temp - 0.05 * thetaacc * cos / 1.1
        self.state = (x + 0.02 * x_dot, x_dot + 0.02 * xacc, theta + 0.02 * theta_dot, theta_dot + 0.02 * thetaacc)
        self.steps += 1
        done = abs(self.state[0]) > 2.4 or abs(self.state[2]) > 12 * 2 * math.pi / 360
        return np.array(self.state, dtype=np.float32), 1.0, done or self.steps >= self.max_steps


SavedAction = namedtuple("SavedAction", ["log_prob", "value"])


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(4, 32)
        self.action_head = nn.Linear(32, 2)
        self.value_head = nn.Linear(32, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        return F.softmax(self.action_head(x), dim=-1), self.value_head(x)


def actor_critic(gamma=0.99):
    env, model = CartPole(543), Policy()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()
    running_reward = 10
    for i_episode in range(1, 9):
        state, ep_reward, done = env.reset(), 0, False
        while not done:
            probs, state_value = model(torch.from_numpy(state).float())
            m = Categorical(probs)
            action = m.sample()
            model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
            state, reward, done = env.step(action.item())
            model.rewards.append(reward)
            ep_reward += reward
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        R, policy_losses, value_losses, returns = 0, [], [], []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(model.saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        print(f"Episode {i_episode}\tLast reward: {ep_reward:.2f}\tAverage reward: {running_reward:.2f}"
              f"\tloss {loss.item():.6g}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--save-init")  # the harness passes these; this program ignores them
    parser.add_argument("--init")
    parser.parse_args()
    torch.manual_seed(1)
    forward_forward()
    torch.manual_seed(543)
    actor_critic()


if __name__ == "__main__":
    main()
