"""``gradstep.nn``: modules, parameters, functional ops, init and utilities (torch.nn's layout)."""

# ruff: noqa: I001  (sections below are appended to by several families)

from .modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .modules.module import Module
from .modules.linear import Bilinear, Identity, Linear
from .modules.flatten import Flatten, Unflatten
from .modules.activation import (
    CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid,
    LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus, Softsign,
    Tanh, Tanhshrink, Threshold, Softmax2d, Hardshrink, Softshrink, RReLU,
)
from .modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from .modules.sparse import Embedding, EmbeddingBag
from .modules.padding import (
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
    ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
    ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d,
)
from .modules.distance import CosineSimilarity, PairwiseDistance
from .modules.loss import (
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss,
    HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
    MultiLabelSoftMarginLoss, NLLLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss,
    TripletMarginLoss, MultiMarginLoss,
)
from .parameter import Buffer, Parameter
from . import functional, init, utils

# ---- other nn families add their import lines below this line ----
from .modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .modules.attention import MultiheadAttention
from .modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .modules.fold import Fold, Unfold
from .modules.pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, MaxPool1d, MaxPool2d,
)
from .modules.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .modules.normalization import GroupNorm, LayerNorm, RMSNorm
from .modules.transformer import (
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
)
from . import parallel
from .modules.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .modules.normalization import CrossMapLRN2d, LocalResponseNorm
from .modules.pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
from .modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .modules.conv import Conv3d, ConvTranspose3d
from .modules.pooling import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d
from .modules.pooling import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d
from .parallel import DataParallel
from .modules.batchnorm import SyncBatchNorm
from .modules.lazy import (
    LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d,
    LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
    LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear,
)
from .parameter import UninitializedBuffer, UninitializedParameter
from .modules.dropout import FeatureAlphaDropout
from .modules.loss import MultiLabelMarginLoss, NLLLoss2d, TripletMarginWithDistanceLoss
from .modules.pooling import LPPool1d, LPPool2d, LPPool3d
from .modules.container import Container
from .modules.loss import CTCLoss
from .modules.pooling import FractionalMaxPool2d, FractionalMaxPool3d
from .modules.adaptive import AdaptiveLogSoftmaxWithLoss
from .modules.loss import LinearCrossEntropyLoss
from .modules.linear_cross_entropy_options import LinearCrossEntropyOptions
from . import attention  # noqa: E402  (torch.nn.attention: sdpa_kernel, SDPBackend)
