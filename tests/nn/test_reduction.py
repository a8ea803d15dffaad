"""``F._Reduction`` (``gradstep.nn._reduction``) against torch's ``torch.nn._reduction``: the
helpers torch 1.x custom losses call (enum values, legacy flag mapping, warnings, errors)."""

from __future__ import annotations

import warnings

import pytest
import torch

import gradstep
from gradstep.nn import _reduction as ours

theirs = torch.nn._reduction


@pytest.mark.parametrize("name", ["none", "mean", "sum"])
def test_get_enum(name):
    assert ours.get_enum(name) == theirs.get_enum(name)
    assert gradstep.nn.functional._Reduction is ours


def test_get_enum_elementwise_mean_warns_and_bad_name_raises():
    with pytest.warns(UserWarning, match="elementwise_mean' is deprecated"):
        assert ours.get_enum("elementwise_mean") == 1
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        ours.get_enum("avg")
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        theirs.get_enum("avg")


@pytest.mark.parametrize("size_average", [None, True, False])
@pytest.mark.parametrize("reduce", [None, True, False])
def test_legacy_get_string_and_enum(size_average, reduce):
    deprecated = "size_average and reduce args will be deprecated"
    with pytest.warns(UserWarning, match=deprecated) as ours_w:
        got = ours.legacy_get_string(size_average, reduce)
    with pytest.warns(UserWarning) as theirs_w:
        want = theirs.legacy_get_string(size_average, reduce)
    assert got == want and str(ours_w[0].message) == str(theirs_w[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # emit_warning=False must stay silent
        assert ours.legacy_get_enum(size_average, reduce, emit_warning=False) == \
            theirs.legacy_get_enum(size_average, reduce, emit_warning=False)
