"""``torch.backends.cpu``: which SIMD level the CPU kernels use."""


def get_cpu_capability() -> str:
    """NumPy picks its SIMD kernels at run time; gradstep reports the ones it dispatches to."""
    import numpy

    try:
        found = numpy._core._multiarray_umath.__cpu_features__
    except AttributeError:
        return "DEFAULT"
    for level in ("AVX512_SKX", "AVX2"):
        if found.get(level):
            return "AVX512" if level == "AVX512_SKX" else "AVX2"
    return "DEFAULT"
