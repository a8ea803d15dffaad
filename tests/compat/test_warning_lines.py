"""Warnings name the user's line, with torch's text.

torch's C++ warnings show at the innermost Python frame (the user's call); gradstep reaches the
same warnings through a varying number of its own frames (amp's op policy, keyword renames),
so it places them at the first frame outside the package.
"""

import warnings

import pytest
import torch

import gradstep as gs


def _text(w):
    """The message without torch's C++ source location; gradstep's repr says gradstep.Size
    unless it stands in for torch (install_as_torch)."""
    return str(w.message).split(" (Triggered internally")[0].replace("gradstep.", "torch.")


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return caught


CASES = {
    "copy-construct": lambda L: L.tensor(L.ones(2)),
    "target-size": lambda L: L.nn.functional.mse_loss(L.ones(3, 1), L.ones(3)),
    "upsample": lambda L: L.nn.functional.upsample(L.ones(1, 1, 2, 2), scale_factor=2),
    "legacy-reduction": lambda L: L.nn.functional.nll_loss(L.zeros(2, 3), L.tensor([0, 1]),
                                                           reduce=False),
    "dropout2d-3d": lambda L: L.nn.functional.dropout2d(L.ones(2, 3, 4)),
    "chain_matmul": lambda L: L.chain_matmul(L.eye(2), L.eye(2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_warning_text_is_torchs_and_names_the_callers_line(case, monkeypatch):
    # some are warned once per process (TORCH_WARN_ONCE): un-give them on both sides
    monkeypatch.setattr(gs._warn_once, "_given", set())
    torch._C._set_warnAlways(True)
    try:
        theirs = _caught(lambda: CASES[case](torch))
    finally:
        torch._C._set_warnAlways(False)
    ours = _caught(lambda: CASES[case](gs))
    assert [_text(w) for w in ours] == [_text(w) for w in theirs]
    assert [w.category for w in ours] == [w.category for w in theirs]
    assert ours and all(w.filename == __file__ for w in ours)
