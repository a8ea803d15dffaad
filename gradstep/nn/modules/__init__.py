"""The layers of ``gradstep.nn`` (one family per file, as in torch.nn.modules)."""

# ruff: noqa: I001  (sections below are appended to by several families)

from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .module import Module
from .linear import Bilinear, Identity, Linear
from .flatten import Flatten, Unflatten
from .activation import (
    CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid,
    LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus, Softsign,
    Tanh, Tanhshrink, Threshold, Softmax2d, Hardshrink, Softshrink, RReLU,
)
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from .sparse import Embedding, EmbeddingBag
from .padding import (
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
    ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
    ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d,
)
from .distance import CosineSimilarity, PairwiseDistance
from .loss import (
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss,
    HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
    MultiLabelSoftMarginLoss, NLLLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss,
    TripletMarginLoss, MultiMarginLoss,
)

# ---- other nn families add their import lines below this line ----
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .attention import MultiheadAttention
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .fold import Fold, Unfold
from .pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, MaxPool1d, MaxPool2d,
)
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .normalization import GroupNorm, LayerNorm, RMSNorm
from .transformer import (
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
)
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .normalization import CrossMapLRN2d, LocalResponseNorm
from .pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .conv import Conv3d, ConvTranspose3d
from .pooling import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d
from .pooling import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d
from .batchnorm import SyncBatchNorm
from .lazy import (
    LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d,
    LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
    LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear, LazyModuleMixin,
)
from .dropout import FeatureAlphaDropout
from .loss import MultiLabelMarginLoss, NLLLoss2d, TripletMarginWithDistanceLoss
from .pooling import LPPool1d, LPPool2d, LPPool3d
from .container import Container
from .loss import CTCLoss
from .pooling import FractionalMaxPool2d, FractionalMaxPool3d
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .loss import LinearCrossEntropyLoss
from .linear_cross_entropy_options import LinearCrossEntropyOptions
