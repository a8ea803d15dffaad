"""``torch.backends.cuda`` against torch 2.13's CPU build."""

import warnings

import pytest

import gradstep

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("lib", [torch, gradstep], ids=["torch", "gradstep"])
def test_sdp_kernel_warns_future_and_restores_the_switches(lib):
    # torch's sdp_kernel is @deprecated(category=FutureWarning) under @contextmanager: the warning
    # comes when it is called, attributed to contextlib's frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lib.backends.cuda.sdp_kernel(enable_flash=False, enable_math=True):
            inside = lib.backends.cuda.flash_sdp_enabled()
    assert inside is False and lib.backends.cuda.flash_sdp_enabled() is True
    assert [w.category for w in caught] == [FutureWarning]
    assert "sdp_kernel()` is deprecated" in str(caught[0].message)
    assert caught[0].filename.endswith("contextlib.py")
