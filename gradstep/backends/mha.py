"""``torch.backends.mha``: whether ``TransformerEncoder`` may take torch's inference fast
path (here: the nested-tensor semantics of padded positions, see ``nn/modules/transformer.py``)."""

_fastpath_enabled = True


def get_fastpath_enabled() -> bool:
    return _fastpath_enabled


def set_fastpath_enabled(value: bool) -> None:
    global _fastpath_enabled
    _fastpath_enabled = bool(value)
