"""``torch.backends.openmp``: gradstep's threads are the BLAS's and its own, not OpenMP's."""


def is_available() -> bool:
    return False
