# ruff: noqa: UP004, UP008, UP031, UP032, N812  (as their authors wrote them)
"""pytorch/examples gat and mnist_hogwild, and the PyTorch DQN tutorial, shrunk.

gat: GraphAttentionLayer (nn.Parameter(torch.empty(...)) with xavier_normal_(gain=1.414),
torch.matmul over heads, the e_ij of h @ a split in two, mask by torch.where(adj_mat > 0,
e, -9e15), F.softmax over neighbours, dropout 0 and concat/mean of heads, F.elu), the
Cora-style adjacency built with torch.sparse_coo_tensor(...).to_dense() + torch.eye, and
training with Adam(weight_decay=5e-4), NLL over train_mask, argmax accuracy.
hogwild: model.share_memory(), training in spawned torch.multiprocessing Processes (one after
the other so the result is deterministic) that report through an mp.Queue, the parent testing
the weights its children updated.
dqn: ReplayMemory (deque, namedtuple Transition, random.sample), policy/target nets with the
target's load_state_dict(policy_net.state_dict()), epsilon-greedy select_action by
policy_net(state).max(1).indices.view(1, 1), non_final_mask from a tuple of bools,
gather(1, action_batch), next_state_values[non_final_mask] = target_net(...).max(1).values
under no_grad, SmoothL1Loss, AdamW(amsgrad=True), clip_grad_value_(..., 100) and the soft
update of the target through state_dict entries."""

import argparse
import math
import random
from collections import deque, namedtuple
from itertools import count

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# ---------------------------------------------------------------- gat


class GraphAttentionLayer(nn.Module):
    def __init__(self, in_features: int, out_features: int, n_heads: int, concat: bool = False,
                 dropout: float = 0.4, leaky_relu_slope: float = 0.2):
        super(GraphAttentionLayer, self).__init__()

        self.n_heads = n_heads  # Number of attention heads
        self.concat = concat  # wether to concatenate the final attention heads
        self.dropout = dropout  # Dropout rate

        if concat:  # concatenating the attention heads
            self.out_features = out_features  # Number of output features per node
            assert out_features % n_heads == 0  # Ensure that out_features is a multiple of n_heads
            self.n_hidden = out_features // n_heads
        else:  # averaging output over the attention heads (Used in the main paper)
            self.n_hidden = out_features

        #  A shared linear transformation, parametrized by a weight matrix W is applied to every node
        #  Initialize the weight matrix W
        self.W = nn.Parameter(torch.empty(size=(in_features, self.n_hidden * n_heads)))

        # Initialize the attention weights a
        self.a = nn.Parameter(torch.empty(size=(n_heads, 2 * self.n_hidden, 1)))

        self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)  # LeakyReLU activation function
        self.softmax = nn.Softmax(dim=1)  # softmax activation function to the attention coefficients

        self.reset_parameters()  # Reset the parameters

    def reset_parameters(self):
        nn.init.xavier_normal_(self.W)
        nn.init.xavier_normal_(self.a)

    def _get_attention_scores(self, h_transformed: torch.Tensor):
        source_scores = torch.matmul(h_transformed, self.a[:, :self.n_hidden, :])
        target_scores = torch.matmul(h_transformed, self.a[:, self.n_hidden:, :])

        # broadcast add
        # (n_heads, n_nodes, 1) + (n_heads, 1, n_nodes) = (n_heads, n_nodes, n_nodes)
        e = source_scores + target_scores.mT
        return self.leakyrelu(e)

    def forward(self, h: torch.Tensor, adj_mat: torch.Tensor):
        n_nodes = h.shape[0]

        # Apply linear transformation to node feature -> W h
        # output shape (n_nodes, n_hidden * n_heads)
        h_transformed = torch.mm(h, self.W)
        h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)

        # splitting the heads by reshaping the tensor and putting heads dim first
        # output shape (n_heads, n_nodes, n_hidden)
        h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)

        # getting the attention scores
        # output shape (n_heads, n_nodes, n_nodes)
        e = self._get_attention_scores(h_transformed)

        # Set the attention score for non-existent edges to -9e15 (MASKING NON-EXISTENT EDGES)
        connectivity_mask = -9e16 * torch.ones_like(e)
        e = torch.where(adj_mat > 0, e, connectivity_mask)  # masked attention scores

        # attention coefficients are computed as a softmax over the rows
        # for each column j in the attention score matrix e
        attention = F.softmax(e, dim=-1)
        attention = F.dropout(attention, self.dropout, training=self.training)

        # final node embeddings are computed as a weighted average of the features of its neighbors
        h_prime = torch.matmul(attention, h_transformed)

        # concatenating/averaging the attention heads
        # output shape (n_nodes, out_features)
        if self.concat:
            h_prime = h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.out_features)
        else:
            h_prime = h_prime.mean(dim=0)

        return h_prime


class GAT(nn.Module):
    def __init__(self, in_features, n_hidden, n_heads, num_classes, concat=False, dropout=0.4,
                 leaky_relu_slope=0.2):
        super(GAT, self).__init__()

        # Define the Graph Attention layers
        self.gat1 = GraphAttentionLayer(
            in_features=in_features, out_features=n_hidden, n_heads=n_heads,
            concat=concat, dropout=dropout, leaky_relu_slope=leaky_relu_slope
        )

        self.gat2 = GraphAttentionLayer(
            in_features=n_hidden, out_features=num_classes, n_heads=1,
            concat=False, dropout=dropout, leaky_relu_slope=leaky_relu_slope
        )

    def forward(self, input_tensor: torch.Tensor, adj_mat: torch.Tensor):
        # Apply the first Graph Attention layer
        x = self.gat1(input_tensor, adj_mat)
        x = F.elu(x)  # Apply ELU activation function to the output of the first layer

        # Apply the second Graph Attention layer
        x = self.gat2(x, adj_mat)

        return F.log_softmax(x, dim=1)  # Apply log softmax activation function


def gat(args):
    torch.manual_seed(args.seed)
    rs = np.random.RandomState(0)
    n_nodes, n_feat, n_class = 24, 12, 3
    labels = torch.from_numpy(rs.randint(0, n_class, size=n_nodes))
    feats = (rs.rand(n_nodes, n_feat) < 0.3).astype(np.float32)
    feats[:, :n_class] += np.eye(n_class, dtype=np.float32)[labels.numpy()]
    features = torch.from_numpy(feats)
    features = features / features.sum(1, keepdim=True)
    src = rs.randint(0, n_nodes, size=60)
    dst = np.where(rs.rand(60) < 0.7, src, rs.randint(0, n_nodes, size=60))
    dst = (dst + 1) % n_nodes
    edges = torch.tensor(np.stack([np.r_[src, dst], np.r_[dst, src]]), dtype=torch.int64)
    adj_mat = torch.sparse_coo_tensor(edges, torch.ones(edges.size(1)), (n_nodes, n_nodes)).to_dense()
    adj_mat = (adj_mat > 0).float() + torch.eye(n_nodes)
    idx_train, idx_val = torch.arange(0, 16), torch.arange(16, 24)

    model = GAT(in_features=n_feat, n_hidden=16, n_heads=4, num_classes=n_class,
                concat=args.concat_heads, dropout=0.0, leaky_relu_slope=0.2)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    optimizer = optim.Adam(params=model.parameters(), lr=0.02, weight_decay=5e-4)
    criterion = nn.NLLLoss()

    def test(model, criterion, input, target, mask):
        model.eval()
        with torch.no_grad():
            output = model(*input)
            output, target = output[mask], target[mask]
            loss = criterion(output, target)
            acc = (output.argmax(dim=1) == target).float().sum() / len(target)
        return loss.item(), acc.item()

    for epoch in range(30):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj_mat)
        loss = criterion(output[idx_train], labels[idx_train])
        loss.backward()
        optimizer.step()
        loss_val, acc_val = test(model, criterion, (features, adj_mat), labels, idx_val)
        if epoch % 5 == 0:
            print(f'Epoch: {epoch:04d} loss_train: {loss.item():.6f} loss_val: {loss_val:.6f} acc_val: {acc_val:.4f}')
    loss_test, acc_test = test(model, criterion, (features, adj_mat), labels, idx_val)
    print(f'Test set results: loss {loss_test:.6f} accuracy {acc_test:.4f}')


# ---------------------------------------------------------------- mnist_hogwild


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3)
        self.conv2_drop = nn.Dropout2d(p=0.0)
        self.fc1 = nn.Linear(32, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 32)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=0.0, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def digits(n, seed):
    rs = np.random.RandomState(seed)
    protos = rs.rand(10, 1, 14, 14).astype(np.float32)
    y = rs.randint(0, 10, size=n)
    x = protos[y] + 0.5 * rs.randn(n, 1, 14, 14).astype(np.float32)
    return torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def train_epoch(epoch, args, model, device, data_loader, optimizer, log):
    model.train()
    pid = 'rank'
    for batch_idx, (data, target) in enumerate(data_loader):
        optimizer.zero_grad()
        output = model(data.to(device))
        loss = F.nll_loss(output, target.to(device))
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            log.put('{}\tTrain Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                pid, epoch, batch_idx * len(data), len(data_loader.dataset),
                100. * batch_idx / len(data_loader), loss.item()))


def test_epoch(model, device, data_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in data_loader:
            output = model(data.to(device))
            test_loss += F.nll_loss(output, target.to(device), reduction='sum').item()  # sum up batch loss
            pred = output.max(1)[1]  # get the index of the max log-probability
            correct += pred.eq(target.to(device)).sum().item()

    test_loss /= len(data_loader.dataset)
    print('\nTest set: Average loss: {:.6f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(data_loader.dataset),
        100. * correct / len(data_loader.dataset)))


def train(rank, args, model, device, dataset, dataloader_kwargs, log):
    torch.manual_seed(args.seed + rank)

    train_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)

    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    for epoch in range(1, args.epochs + 1):
        train_epoch(epoch, args, model, device, train_loader, optimizer, log)
    log.put(None)


def hogwild(args):
    use_cuda = args.cuda and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    dataset1 = digits(64, 0)
    dataset2 = digits(32, 1)
    kwargs = {'batch_size': args.batch_size, 'shuffle': False}
    if use_cuda:
        kwargs.update({'num_workers': 1, 'pin_memory': True})

    torch.manual_seed(args.seed)
    mp.set_start_method('spawn', force=True)

    model = Net().to(device)
    if args.save_init:
        torch.save(model.state_dict(), args.save_init)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    model.share_memory()  # gradients are allocated lazily, so they are not shared here
    print('shared:', all(p.is_shared() for p in model.parameters()))

    # the children's progress lines come back through a queue (their stdout is not the parent's
    # sys.stdout when the parent redirects it), printed by the parent in order
    log = mp.Queue()
    processes = []
    for rank in range(args.num_processes):
        p = mp.Process(target=train, args=(rank, args, model, device, dataset1, kwargs, log))
        # We first train the model across `num_processes` processes
        p.start()
        for line in iter(log.get, None):
            print(line)
        p.join()  # one after the other here, so that the run is deterministic
        processes.append(p)
    for p in processes:
        p.join()
    print('exit codes', [p.exitcode for p in processes])

    # Once training is complete, we can test the model
    test_epoch(model, device, torch.utils.data.DataLoader(dataset2, **kwargs))


# ---------------------------------------------------------------- dqn

Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward'))


class ReplayMemory(object):

    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        """Save a transition"""
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):

    def __init__(self, n_observations, n_actions):
        super(DQN, self).__init__()
        self.layer1 = nn.Linear(n_observations, 32)
        self.layer2 = nn.Linear(32, 32)
        self.layer3 = nn.Linear(32, n_actions)

    # Called with either one element to determine next action, or a batch
    # during optimization. Returns tensor([[left0exp,right0exp]...]).
    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


class CartPole:
    """A hand-written CartPole-v1 (gymnasium's equations), reset from a numpy RandomState."""

    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)

    def reset(self):
        self.state = self.rs.uniform(-0.05, 0.05, size=4)
        return self.state.astype(np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = 10.0 if action == 1 else -10.0
        costheta, sintheta = math.cos(theta), math.sin(theta)
        temp = (force + 0.05 * theta_dot ** 2 * sintheta) / 1.1
        thetaacc = (9.8 * sintheta - costheta * temp) / (0.5 * (4.0 / 3.0 - 0.1 * costheta ** 2 / 1.1))
        xacc = temp - 0.05 * thetaacc * costheta / 1.1
        x, x_dot = x + 0.02 * x_dot, x_dot + 0.02 * xacc
        theta, theta_dot = theta + 0.02 * theta_dot, theta_dot + 0.02 * thetaacc
        self.state = np.array([x, x_dot, theta, theta_dot])
        terminated = bool(abs(x) > 2.4 or abs(theta) > 12 * 2 * math.pi / 360)
        return self.state.astype(np.float32), 1.0, terminated, False, {}


def dqn(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    env = CartPole(args.seed)

    BATCH_SIZE = 16
    GAMMA = 0.99
    EPS_START = 0.9
    EPS_END = 0.05
    EPS_DECAY = 200
    TAU = 0.005
    LR = 1e-3

    n_actions = 2
    state, info = env.reset()
    n_observations = len(state)

    policy_net = DQN(n_observations, n_actions).to(device)
    target_net = DQN(n_observations, n_actions).to(device)
    if args.save_init:
        torch.save(policy_net.state_dict(), args.save_init)
    if args.init:
        policy_net.load_state_dict(torch.load(args.init))
    target_net.load_state_dict(policy_net.state_dict())

    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(1000)

    steps_done = 0
    explore = np.random.RandomState(args.seed + 1)

    def select_action(state):
        nonlocal steps_done
        sample = explore.rand()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                # t.max(1) will return the largest column value of each row.
                # second column on max result is index of where max element was
                # found, so we pick action with the larger expected reward.
                return policy_net(state).max(1).indices.view(1, 1)
        else:
            return torch.tensor([[int(explore.randint(2))]], device=device, dtype=torch.long)

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return None
        transitions = memory.sample(BATCH_SIZE)
        # Transpose the batch (see https://stackoverflow.com/a/19343/3343043 for
        # detailed explanation). This converts batch-array of Transitions
        # to Transition of batch-arrays.
        batch = Transition(*zip(*transitions))

        # Compute a mask of non-final states and concatenate the batch elements
        # (a final state would've been the one after which simulation ended)
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None,
                                                batch.next_state)), device=device, dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state
                                           if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)

        # Compute Q(s_t, a) - the model computes Q(s_t), then we select the
        # columns of actions taken. These are the actions which would've been taken
        # for each batch state according to policy_net
        state_action_values = policy_net(state_batch).gather(1, action_batch)

        # Compute V(s_{t+1}) for all next states.
        next_state_values = torch.zeros(BATCH_SIZE, device=device)
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        # Compute the expected Q values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch

        # Compute Huber loss
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))

        # Optimize the model
        optimizer.zero_grad()
        loss.backward()
        # In-place gradient clipping
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        return loss.item()

    episode_durations = []
    for i_episode in range(args.episodes):
        # Initialize the environment and get its state
        state, info = env.reset()
        state = torch.tensor(state, dtype=torch.float32, device=device).unsqueeze(0)
        losses = []
        for t in count():
            action = select_action(state)
            observation, reward, terminated, truncated, _ = env.step(action.item())
            reward = torch.tensor([reward], device=device)
            done = terminated or truncated or t >= 40

            if terminated:
                next_state = None
            else:
                next_state = torch.tensor(observation, dtype=torch.float32, device=device).unsqueeze(0)

            # Store the transition in memory
            memory.push(state, action, next_state, reward)

            # Move to the next state
            state = next_state

            # Perform one step of the optimization (on the policy network)
            loss = optimize_model()
            if loss is not None:
                losses.append(loss)

            # Soft update of the target network's weights
            # θ′ ← τ θ + (1 −τ )θ′
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[key] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)

            if done:
                episode_durations.append(t + 1)
                break
        mean_loss = sum(losses) / len(losses) if losses else float('nan')
        print('episode {} duration {} mean loss {:.6f}'.format(i_episode, t + 1, mean_loss))
    durations_t = torch.tensor(episode_durations, dtype=torch.float)
    print('Complete', durations_t.mean().item(), durations_t.max().item())


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--example', default='gat', choices=['gat', 'hogwild', 'dqn'])
    parser.add_argument('--concat-heads', action='store_true', default=False)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--momentum', type=float, default=0.5)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--log-interval', type=int, default=1)
    parser.add_argument('--num-processes', type=int, default=2)
    parser.add_argument('--cuda', action='store_true', default=False)
    parser.add_argument('--episodes', type=int, default=6)
    parser.add_argument('--init', default=None)
    parser.add_argument('--save-init', default=None)
    args = parser.parse_args()
    if args.example == 'gat':
        gat(args)
    elif args.example == 'hogwild':
        hogwild(args)
    else:
        dqn(args)
