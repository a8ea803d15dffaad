"""The layers of ``gradstep.nn`` (one family per file, as in torch.nn.modules)."""

from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .module import Module

# ---- other nn families add their import lines below this line ----
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
