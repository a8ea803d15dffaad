"""``torch.utils.tensorboard``: ``SummaryWriter`` writing TensorBoard event files.

The files are written without the ``tensorboard`` package (TFRecord framing and protobuf
encoding are done here); TensorBoard itself is only needed to view them.
"""

from ._event_file import RecordWriter
from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]
