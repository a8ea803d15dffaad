"""``torch.backends.mkl``: gradstep's BLAS is NumPy's (OpenBLAS), not MKL."""


def is_available() -> bool:
    return False
