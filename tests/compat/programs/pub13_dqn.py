# ruff: noqa: UP008, UP031, UP032  (as their authors wrote them)
"""DQN as the popular blog posts and gists write it, from torch.manual_seed, random.seed and
np.random.seed alone, on a small CartPole written in NumPy (no gym): a ReplayBuffer over
collections.deque(maxlen=...) sampled by random.sample and stacked by torch.tensor(np.array(...)),
epsilon-greedy with torch.FloatTensor(state).unsqueeze(0) and .argmax().item(), q.gather(1,
a.unsqueeze(1)), a target network synced by load_state_dict, Double DQN (argmax(1, keepdim=True)),
a Dueling head (value + advantage - advantage.mean(dim=1, keepdim=True)), smooth_l1_loss, prioritized
replay (np.random.choice(p=...), importance weights, reduction='none', td errors back to NumPy),
clip_grad_value_ and clip_grad_norm_, and a soft update by zip(parameters) copy_.
"""

import argparse
import math
import random
from collections import deque, namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument("--save-init")  # the harness passes these; this program ignores them
parser.add_argument("--init")
parser.add_argument("--variant", default="double", choices=["vanilla", "double", "dueling_per"])
args = parser.parse_args()

SEED = 1
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class CartPole:
    """gym's CartPole-v1 dynamics."""

    def __init__(self):
        self.gravity, self.masscart, self.masspole, self.length = 9.8, 1.0, 0.1, 0.5
        self.force_mag, self.tau = 10.0, 0.02
        self.np_random = np.random.RandomState(SEED)

    def reset(self):
        self.state = self.np_random.uniform(low=-0.05, high=0.05, size=(4,))
        self.steps = 0
        return np.array(self.state, dtype=np.float32)

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta, sintheta = math.cos(theta), math.sin(theta)
        total_mass = self.masspole + self.masscart
        polemass_length = self.masspole * self.length
        temp = (force + polemass_length * theta_dot ** 2 * sintheta) / total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta ** 2 / total_mass))
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = (x, x_dot, theta, theta_dot)
        self.steps += 1
        done = bool(x < -2.4 or x > 2.4 or theta < -12 * 2 * math.pi / 360 or theta > 12 * 2 * math.pi / 360)
        return np.array(self.state, dtype=np.float32), 1.0, done or self.steps >= 200, {}


Experience = namedtuple("Experience", field_names=["state", "action", "reward", "next_state", "done"])


class ReplayBuffer:
    def __init__(self, buffer_size, batch_size):
        self.memory = deque(maxlen=buffer_size)
        self.batch_size = batch_size

    def add(self, state, action, reward, next_state, done):
        self.memory.append(Experience(state, action, reward, next_state, done))

    def sample(self):
        experiences = random.sample(self.memory, k=self.batch_size)
        states = torch.from_numpy(np.vstack([e.state for e in experiences if e is not None])).float().to(device)
        actions = torch.from_numpy(np.vstack([e.action for e in experiences if e is not None])).long().to(device)
        rewards = torch.from_numpy(np.vstack([e.reward for e in experiences if e is not None])).float().to(device)
        next_states = torch.tensor(np.array([e.next_state for e in experiences])).to(device)
        dones = torch.from_numpy(np.vstack([e.done for e in experiences if e is not None]).astype(np.uint8)).float().to(device)
        return states, actions, rewards, next_states, dones

    def __len__(self):
        return len(self.memory)


class PrioritizedBuffer:
    def __init__(self, capacity, prob_alpha=0.6):
        self.prob_alpha = prob_alpha
        self.capacity = capacity
        self.buffer = []
        self.pos = 0
        self.priorities = np.zeros((capacity,), dtype=np.float32)

    def add(self, state, action, reward, next_state, done):
        max_prio = self.priorities.max() if self.buffer else 1.0
        if len(self.buffer) < self.capacity:
            self.buffer.append((state, action, reward, next_state, done))
        else:
            self.buffer[self.pos] = (state, action, reward, next_state, done)
        self.priorities[self.pos] = max_prio
        self.pos = (self.pos + 1) % self.capacity

    def sample(self, batch_size, beta=0.4):
        prios = self.priorities if len(self.buffer) == self.capacity else self.priorities[:self.pos]
        probs = prios ** self.prob_alpha
        probs /= probs.sum()
        indices = np.random.choice(len(self.buffer), batch_size, p=probs)
        samples = [self.buffer[idx] for idx in indices]
        total = len(self.buffer)
        weights = (total * probs[indices]) ** (-beta)
        weights /= weights.max()
        weights = np.array(weights, dtype=np.float32)
        batch = list(zip(*samples))
        states = np.concatenate([s[None] for s in batch[0]])
        return states, batch[1], batch[2], np.concatenate([s[None] for s in batch[3]]), batch[4], indices, weights

    def update_priorities(self, batch_indices, batch_priorities):
        for idx, prio in zip(batch_indices, batch_priorities):
            self.priorities[idx] = prio

    def __len__(self):
        return len(self.buffer)


class QNetwork(nn.Module):
    def __init__(self, state_size, action_size, seed, fc1_units=32, fc2_units=32):
        super(QNetwork, self).__init__()
        self.seed = torch.manual_seed(seed)
        self.fc1 = nn.Linear(state_size, fc1_units)
        self.fc2 = nn.Linear(fc1_units, fc2_units)
        self.fc3 = nn.Linear(fc2_units, action_size)

    def forward(self, state):
        x = F.relu(self.fc1(state))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class DuelingDQN(nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super(DuelingDQN, self).__init__()
        self.feature = nn.Sequential(nn.Linear(num_inputs, 32), nn.ReLU())
        self.advantage = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, num_outputs))
        self.value = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x):
        x = self.feature(x)
        advantage = self.advantage(x)
        value = self.value(x)
        return value + advantage - advantage.mean(dim=1, keepdim=True)

    def act(self, state, epsilon):
        if random.random() > epsilon:
            with torch.no_grad():
                state = torch.FloatTensor(state).unsqueeze(0)
                q_value = self.forward(state)
            action = q_value.max(1)[1].data[0].item()
        else:
            action = random.randrange(2)
        return action


GAMMA, TAU, LR, BATCH_SIZE, UPDATE_EVERY = 0.99, 1e-2, 5e-3, 16, 2


class Agent:
    def __init__(self, state_size, action_size, seed, double):
        self.state_size, self.action_size, self.double = state_size, action_size, double
        self.seed = random.seed(seed)
        self.qnetwork_local = QNetwork(state_size, action_size, seed).to(device)
        self.qnetwork_target = QNetwork(state_size, action_size, seed).to(device)
        self.qnetwork_target.load_state_dict(self.qnetwork_local.state_dict())
        self.optimizer = optim.Adam(self.qnetwork_local.parameters(), lr=LR)
        self.memory = ReplayBuffer(1000, BATCH_SIZE)
        self.t_step = 0
        self.losses = []

    def step(self, state, action, reward, next_state, done):
        self.memory.add(state, action, reward, next_state, done)
        self.t_step = (self.t_step + 1) % UPDATE_EVERY
        if self.t_step == 0 and len(self.memory) > BATCH_SIZE:
            self.learn(self.memory.sample(), GAMMA)

    def act(self, state, eps=0.):
        state = torch.from_numpy(state).float().unsqueeze(0).to(device)
        self.qnetwork_local.eval()
        with torch.no_grad():
            action_values = self.qnetwork_local(state)
        self.qnetwork_local.train()
        if random.random() > eps:
            return np.argmax(action_values.cpu().data.numpy())
        return random.choice(np.arange(self.action_size))

    def learn(self, experiences, gamma):
        states, actions, rewards, next_states, dones = experiences
        if self.double:
            best = self.qnetwork_local(next_states).detach().argmax(1, keepdim=True)
            Q_targets_next = self.qnetwork_target(next_states).detach().gather(1, best)
        else:
            Q_targets_next = self.qnetwork_target(next_states).detach().max(1)[0].unsqueeze(1)
        Q_targets = rewards + (gamma * Q_targets_next * (1 - dones))
        Q_expected = self.qnetwork_local(states).gather(1, actions)
        loss = F.smooth_l1_loss(Q_expected, Q_targets)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.qnetwork_local.parameters(), 1)
        self.optimizer.step()
        self.losses.append(loss.item())
        self.soft_update(self.qnetwork_local, self.qnetwork_target, TAU)

    def soft_update(self, local_model, target_model, tau):
        for target_param, local_param in zip(target_model.parameters(), local_model.parameters()):
            target_param.data.copy_(tau * local_param.data + (1.0 - tau) * target_param.data)


env = CartPole()
if args.variant in ("vanilla", "double"):
    agent = Agent(state_size=4, action_size=2, seed=0, double=args.variant == "double")
    scores, scores_window = [], deque(maxlen=5)
    eps, eps_end, eps_decay = 1.0, 0.05, 0.8
    for i_episode in range(1, 11):
        state = env.reset()
        score = 0
        for t in range(60):
            action = agent.act(state, eps)
            next_state, reward, done, _ = env.step(action)
            agent.step(state, action, reward, next_state, done)
            state = next_state
            score += reward
            if done:
                break
        scores_window.append(score)
        scores.append(score)
        eps = max(eps_end, eps_decay * eps)
        print('\rEpisode {}\tAverage Score: {:.2f}\tlast loss {:.6f}'.format(
            i_episode, np.mean(scores_window), agent.losses[-1] if agent.losses else 0.0))
    torch.save(agent.qnetwork_local.state_dict(), 'checkpoint.pth')
    agent.qnetwork_target.load_state_dict(torch.load('checkpoint.pth'))
    probe = torch.tensor(np.array([env.reset() for _ in range(3)]))
    print('greedy actions', agent.qnetwork_target(probe).argmax(dim=1).tolist(), 'mean loss %.6f' % np.mean(agent.losses))
else:
    current_model, target_model = DuelingDQN(4, 2), DuelingDQN(4, 2)
    optimizer = optim.Adam(current_model.parameters(), lr=1e-3)
    replay_buffer = PrioritizedBuffer(500)

    def update_target(current_model, target_model):
        target_model.load_state_dict(current_model.state_dict())

    update_target(current_model, target_model)
    epsilon_by_frame = lambda frame_idx: 0.05 + (1.0 - 0.05) * math.exp(-1. * frame_idx / 100)  # noqa: E731
    beta_by_frame = lambda frame_idx: min(1.0, 0.4 + frame_idx * (1.0 - 0.4) / 1000)  # noqa: E731

    def compute_td_loss(batch_size, beta):
        state, action, reward, next_state, done, indices, weights = replay_buffer.sample(batch_size, beta)
        state = torch.FloatTensor(np.float32(state))
        next_state = torch.FloatTensor(np.float32(next_state))
        action = torch.LongTensor(action)
        reward = torch.FloatTensor(reward)
        done = torch.FloatTensor(done)
        weights = torch.FloatTensor(weights)
        q_values = current_model(state)
        next_q_values = target_model(next_state)
        q_value = q_values.gather(1, action.unsqueeze(1)).squeeze(1)
        next_q_value = next_q_values.max(1)[0]
        expected_q_value = reward + 0.99 * next_q_value * (1 - done)
        loss = (q_value - expected_q_value.detach()).pow(2) * weights
        prios = loss + 1e-5
        loss = loss.mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(current_model.parameters(), 10.0)
        replay_buffer.update_priorities(indices, prios.data.cpu().numpy())
        optimizer.step()
        return loss

    losses, all_rewards, episode_reward = [], [], 0
    state = env.reset()
    for frame_idx in range(1, 301):
        epsilon = epsilon_by_frame(frame_idx)
        action = current_model.act(state, epsilon)
        next_state, reward, done, _ = env.step(action)
        replay_buffer.add(state, action, reward, next_state, done)
        state = next_state
        episode_reward += reward
        if done:
            state = env.reset()
            all_rewards.append(episode_reward)
            episode_reward = 0
        if len(replay_buffer) > 32:
            beta = beta_by_frame(frame_idx)
            loss = compute_td_loss(32, beta)
            losses.append(loss.item())
        if frame_idx % 50 == 0:
            update_target(current_model, target_model)
            print('frame %d rewards %s loss %.6f' % (frame_idx, all_rewards[-3:], np.mean(losses[-50:])))
    print('priorities sum %.5f' % replay_buffer.priorities.sum())
