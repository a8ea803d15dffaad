"""``torch.backends.mkldnn``: gradstep does not use oneDNN; ``enabled`` is settable and ignored."""

enabled = True
deterministic = False


def is_available() -> bool:
    return False
