"""``gradstep.nn``: modules, parameters, functional ops, init and utilities (torch.nn's layout)."""

from .modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .modules.module import Module
from .parameter import Parameter

# ---- other nn families add their import lines below this line ----
from .modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
