"""``torch.backends.opt_einsum``: ``einsum`` contraction order is NumPy's own."""

enabled = False
strategy = None


def is_available() -> bool:
    return False
