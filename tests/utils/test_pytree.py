"""torch.utils._pytree against torch's own: leaves, specs (repr, equality, hash), maps,
prefix matching and its errors, key paths, registration and JSON serialization."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict, deque, namedtuple

import numpy as np
import pytest
import torch
import torch.utils._pytree as tp

import gradstep
import gradstep.utils._pytree as gp

Point = namedtuple("Point", "x y")

TREES = [
    1, None, "s", [], (), {}, [1, 2, 3], (1, [2, (3, None)]), {"b": 1, "a": [2, 3]},
    OrderedDict([("z", 1), ("y", (2, 3))]), defaultdict(list, {"k": [1, 2]}),
    deque([1, [2, 3]], maxlen=5), Point(1, [2, {"q": 3}]),
    {"params": [{"lr": 0.1, "params": [1, 2]}, {"lr": 0.01, "params": [3]}], "state": {}},
    [[[[]]], {"x": ()}, (None,)],
]


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_flatten_as_torch(tree):
    ours, theirs = gp.tree_flatten(tree), tp.tree_flatten(tree)
    assert ours[0] == theirs[0]
    assert repr(ours[1]) == repr(theirs[1])
    spec = ours[1]
    assert (spec.num_leaves, spec.num_nodes, spec.num_children, spec.is_leaf()) == \
        (theirs[1].num_leaves, theirs[1].num_nodes, theirs[1].num_children, theirs[1].is_leaf())
    rebuilt = gp.tree_unflatten(ours[0], spec)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert gp.treespec_pprint(spec) == tp.treespec_pprint(theirs[1])
    assert gp.tree_leaves(tree) == tp.tree_leaves(tree)


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_dumps_loads_as_torch(tree):
    spec = gp.tree_structure(tree)
    if isinstance(tree, Point):  # an unregistered namedtuple: both refuse to serialize
        with pytest.raises(NotImplementedError):
            tp.treespec_dumps(tp.tree_structure(tree))
        with pytest.raises(NotImplementedError):
            gp.treespec_dumps(spec)
        return
    text = gp.treespec_dumps(spec)
    assert text == tp.treespec_dumps(tp.tree_structure(tree))
    assert gp.treespec_loads(text) == spec


def test_spec_equality_and_hash():
    a = gp.tree_structure({"a": [1, (2, 3)]})
    b = gp.tree_structure({"a": [5, (6, 7)]})
    c = gp.tree_structure({"a": [5, [6, 7]]})
    assert a == b and hash(a) == hash(b) and a != c
    assert gp.tree_structure(1) == gp.treespec_leaf()
    assert gp.treespec_dict(a=gp.treespec_leaf()) == gp.tree_structure({"a": 0})
    assert gp.treespec_tuple([gp.treespec_leaf()] * 2) == gp.tree_structure((0, 0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.type = list


def test_tree_map_over_tensors_like_torch():
    rng = np.random.default_rng(0)
    arrays = {"w": rng.standard_normal((2, 3)), "b": [rng.standard_normal(3), None]}
    ours = gp.tree_map_only(gradstep.Tensor, lambda t: t * 2,
                            gp.tree_map(lambda a: a if a is None else gradstep.tensor(a), arrays))
    theirs = tp.tree_map_only(torch.Tensor, lambda t: t * 2,
                              tp.tree_map(lambda a: a if a is None else torch.tensor(a), arrays))
    assert ours["b"][1] is None and theirs["b"][1] is None
    np.testing.assert_array_equal(ours["w"].numpy(), theirs["w"].numpy())
    np.testing.assert_array_equal(ours["b"][0].numpy(), theirs["b"][0].numpy())


def test_tree_map_with_prefix_rests():
    args = ([5, 6], [[7, 9], [1, 2]])
    assert gp.tree_map(lambda x, y: [x] + y, *args) == tp.tree_map(lambda x, y: [x] + y, *args)
    # dict types stand in for each other, keys in any order
    d = {"a": 1, "b": 2}
    od = OrderedDict([("b", 20), ("a", 10)])
    assert gp.tree_map(lambda x, y: x + y, d, od) == tp.tree_map(lambda x, y: x + y, d, od)


@pytest.mark.parametrize("tree, other", [
    ([1, 2], (1, 2)), ([1, 2], [1, 2, 3]), ({"a": 1}, {"b": 1}), ({"a": 1}, {"a": 1, "c": 2}),
    (Point(1, 2), namedtuple("Other", "x y")(1, 2)), ([1, [2]], [1, 2]),
])
def test_prefix_mismatch_errors_as_torch(tree, other):
    with pytest.raises(ValueError) as theirs:
        tp.tree_map(lambda x, y: x, tree, other)
    with pytest.raises(ValueError) as ours:
        gp.tree_map(lambda x, y: x, tree, other)
    assert str(ours.value) == str(theirs.value)


def test_unflatten_length_error():
    spec = gp.tree_structure([1, 2])
    with pytest.raises(ValueError, match="has length 3 but the spec refers to a pytree that "
                                         "holds 2 items"):
        spec.unflatten([1, 2, 3])


def test_key_paths_as_torch():
    tree = {"a": [1, Point(2, 3)], "b": (4,)}
    ours = [(gp.keystr(p), v) for p, v in gp.tree_leaves_with_path(tree)]
    theirs = [(tp.keystr(p), v) for p, v in tp.tree_leaves_with_path(tree)]
    assert ours == theirs == [("['a'][0]", 1), ("['a'][1].x", 2), ("['a'][1].y", 3),
                              ("['b'][0]", 4)]
    mapped = gp.tree_map_with_path(lambda p, v: gp.keystr(p) + str(v), tree)
    assert mapped == tp.tree_map_with_path(lambda p, v: tp.keystr(p) + str(v), tree)
    path = gp.tree_leaves_with_path(tree)[2][0]
    assert gp.key_get(tree, path) == 3


def test_is_leaf_and_predicates():
    tree = [(1, 2), (3, 4)]
    assert gp.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple)) == [(1, 2), (3, 4)]
    assert gp.tree_all(lambda x: x > 0, tree) and not gp.tree_any(lambda x: x > 4, tree)
    assert gp.tree_any_only(int, lambda x: x == 3, [1, "a", 3])
    assert gp.tree_all_only(str, lambda s: s == "a", [1, "a", 3])
    assert gp.arg_tree_leaves(1, [2], k=(3,)) == [1, 2, 3]
    seen = []
    assert gp.tree_map_(seen.append, tree) is tree and seen == [1, 2, 3, 4]


@dataclasses.dataclass
class Batch:
    x: object
    y: object


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


def test_register_custom_nodes():
    for mod in (gp, tp):
        mod.register_dataclass(Batch, serialized_type_name="test.Batch")
        mod.register_pytree_node(Pair, lambda p: ([p.a, p.b], "pair"),
                                 lambda v, c: Pair(*v), serialized_type_name="test.Pair")
    try:
        assert repr(gp.tree_structure(Batch(None, 1))) == repr(tp.tree_structure(Batch(None, 1)))
        assert gp.tree_structure(Batch(None, 1)).unflatten([7]) == Batch(None, 7)
        tree = [Batch(1, [2, 3]), Pair(4, {"k": 5})]
        ours, theirs = gp.tree_flatten(tree), tp.tree_flatten(tree)
        assert ours[0] == theirs[0] == [1, 2, 3, 4, 5]
        assert repr(ours[1]) == repr(theirs[1])
        rebuilt = ours[1].unflatten([10, 20, 30, 40, 50])
        assert rebuilt[0] == Batch(10, [20, 30]) and rebuilt[1].b == {"k": 50}
        with pytest.raises(ValueError, match="already registered as pytree node"):
            gp.register_pytree_node(Pair, lambda p: ([], None), lambda v, c: Pair(0, 0))
    finally:
        for mod in (gp, tp):
            mod._deregister_pytree_node(Batch)
            mod._deregister_pytree_node(Pair)
    assert gp.tree_leaves(Pair(1, 2))[0].a == 1  # a leaf again


def test_return_types_are_nodes_as_in_torch():
    x = np.arange(12.0).reshape(3, 4)
    ours = gp.tree_flatten(gradstep.max(gradstep.tensor(x), 0))
    theirs = tp.tree_flatten(torch.max(torch.tensor(x), 0))
    assert repr(ours[1]) == repr(theirs[1]) == "TreeSpec(max, None, [*,\n  *])"
    rebuilt = ours[1].unflatten(ours[0])
    assert type(rebuilt).__name__ == "max" and rebuilt.indices.tolist() == [2, 2, 2, 2]


def test_importable_as_torch_module():
    import subprocess
    import sys

    code = ("import gradstep; gradstep.install_as_torch()\n"
            "import torch.utils._pytree as pytree\n"
            "from torch.utils._pytree import tree_map\n"
            "print(tree_map(lambda t: t + 1, {'a': (1, 2)}), pytree.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["{'a':", "(2,", "3)}", "gradstep.utils._pytree"]


def test_reachable_as_attribute_like_torch():
    assert gradstep.utils._pytree is gp and torch.utils._pytree is tp
    with pytest.raises(AttributeError):
        gradstep.utils.no_such_module  # noqa: B018
