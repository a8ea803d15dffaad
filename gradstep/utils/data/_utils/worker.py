"""``torch.utils.data._utils.worker``: where some published code imports ``get_worker_info``
and ``WorkerInfo`` from (implemented in ``utils/data/_worker.py``)."""

from .._worker import WorkerInfo, get_worker_info  # noqa: F401
