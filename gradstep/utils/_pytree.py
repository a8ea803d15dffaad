"""``torch.utils._pytree``: nested containers flattened to a list of leaves and a ``TreeSpec``.

A pytree is a leaf, or a node of a registered container type whose children are pytrees.
The registered types are ``tuple``, ``list``, ``dict``, ``OrderedDict``, ``defaultdict``,
``deque`` and every namedtuple class (all namedtuples share the ``namedtuple`` entry; the
class itself is the node's context), plus what ``register_pytree_node`` adds. Anything
else, ``None`` included, is a leaf. Dicts keep their insertion order.

``tree_flatten(tree)`` returns ``(leaves, spec)``; ``spec.unflatten(leaves)`` rebuilds the
tree. ``tree_map(fn, tree, *rests)`` maps over the leaves of ``tree`` and of ``rests``,
which must have ``tree``'s structure down to its leaves (``TreeSpec.flatten_up_to``: a
leaf of ``tree`` may stand over a whole subtree of a rest). Error texts are torch's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
import types
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

__all__ = [
    "PyTree", "Context", "FlattenFunc", "UnflattenFunc", "DumpableContext",
    "ToDumpableContextFn", "FromDumpableContextFn", "TreeSpec", "LeafSpec", "keystr", "key_get",
    "register_pytree_node", "register_dataclass", "tree_is_leaf", "tree_flatten",
    "tree_flatten_with_path", "tree_unflatten", "tree_iter", "tree_leaves",
    "tree_leaves_with_path", "tree_structure", "tree_map", "tree_map_with_path", "tree_map_",
    "tree_map_only", "tree_map_only_", "tree_all", "tree_any", "tree_all_only",
    "tree_any_only", "treespec_dumps", "treespec_loads", "treespec_pprint", "treespec_leaf",
    "treespec_tuple", "treespec_dict", "is_namedtuple", "is_namedtuple_class",
    "is_namedtuple_instance", "SequenceKey", "MappingKey", "GetAttrKey", "map_only",
    "arg_tree_leaves",
]

PyTree = Any
Context = Any
DumpableContext = Any
FlattenFunc = Callable[[PyTree], "tuple[list[Any], Context]"]
UnflattenFunc = Callable[[Iterable[Any], Context], PyTree]
ToDumpableContextFn = Callable[[Context], DumpableContext]
FromDumpableContextFn = Callable[[DumpableContext], Context]
DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL = 1
NO_SERIALIZED_TYPE_NAME_FOUND = "NO_SERIALIZED_TYPE_NAME_FOUND"


class NodeDef(NamedTuple):
    type: type
    flatten_fn: FlattenFunc
    unflatten_fn: UnflattenFunc
    flatten_with_keys_fn: Callable | None


class _SerializeNodeDef(NamedTuple):
    typ: type
    serialized_type_name: str
    to_dumpable_context: ToDumpableContextFn | None
    from_dumpable_context: FromDumpableContextFn | None


SUPPORTED_NODES: dict[type, NodeDef] = {}
SUPPORTED_SERIALIZED_TYPES: dict[type, _SerializeNodeDef] = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE: dict[str, type] = {}
_NODE_REGISTRY_LOCK = threading.Lock()


# ---------------------------------------------------------------- key paths
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self):
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp) -> str:
    """A key path as text: ``[0]['a'].x``."""
    return "".join(str(k) for k in kp)


def key_get(obj, kp):
    """The value at key path ``kp`` inside ``obj``."""
    for k in kp:
        obj = k.get(obj)
    return obj


# ---------------------------------------------------------------- registry
def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None,
                         flatten_with_keys_fn=None):
    """Make ``cls`` a container node: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``."""
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            raise ValueError(f"{cls} is already registered as pytree node.")
    _private_register_pytree_node(cls, flatten_fn, unflatten_fn,
                                  serialized_type_name=serialized_type_name,
                                  to_dumpable_context=to_dumpable_context,
                                  from_dumpable_context=from_dumpable_context,
                                  flatten_with_keys_fn=flatten_with_keys_fn)


def _register_pytree_node(cls, flatten_fn, unflatten_fn, to_str_fn=None, maybe_from_str_fn=None,
                          *, serialized_type_name=None, to_dumpable_context=None,
                          from_dumpable_context=None, flatten_with_keys_fn=None):
    """The pre-2.2 name of ``register_pytree_node`` (torch warns and still accepts it)."""
    warnings.warn("torch.utils._pytree._register_pytree_node is deprecated. "
                  "Please use torch.utils._pytree.register_pytree_node instead.",
                  FutureWarning, stacklevel=2)
    if to_str_fn is not None or maybe_from_str_fn is not None:
        warnings.warn("`to_str_fn` and `maybe_from_str_fn` is deprecated. "
                      "Please use `to_dumpable_context` and `from_dumpable_context` instead.",
                      FutureWarning, stacklevel=2)
    _private_register_pytree_node(cls, flatten_fn, unflatten_fn,
                                  serialized_type_name=serialized_type_name,
                                  to_dumpable_context=to_dumpable_context,
                                  from_dumpable_context=from_dumpable_context,
                                  flatten_with_keys_fn=flatten_with_keys_fn)


def _private_register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                                  to_dumpable_context=None, from_dumpable_context=None,
                                  flatten_with_keys_fn=None):
    with _NODE_REGISTRY_LOCK:
        SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
        if (to_dumpable_context is None) != (from_dumpable_context is None):
            raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} "
                             "must be None or registered.")
        name = serialized_type_name or NO_SERIALIZED_TYPE_NAME_FOUND
        SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(cls, name, to_dumpable_context,
                                                            from_dumpable_context)
        SERIALIZED_TYPE_TO_PYTHON_TYPE[name] = cls


def _deregister_pytree_node(cls):
    with _NODE_REGISTRY_LOCK:
        SUPPORTED_NODES.pop(cls, None)
        node = SUPPORTED_SERIALIZED_TYPES.pop(cls, None)
        if node is not None and node.serialized_type_name != NO_SERIALIZED_TYPE_NAME_FOUND:
            SERIALIZED_TYPE_TO_PYTHON_TYPE.pop(node.serialized_type_name, None)


def register_dataclass(cls, *, field_names=None, drop_field_names=None,
                       serialized_type_name=None):
    """Register a dataclass (or a class built from keyword fields): its fields are the
    children, in order, except those holding None, which the context records."""
    drop = set(drop_field_names or ())
    if not dataclasses.is_dataclass(cls):
        if field_names is None:
            raise ValueError("field_names must be specified with a list of all fields used to "
                             f"initialize {cls}, as it is not a dataclass.")
    elif field_names is None:
        field_names = [f.name for f in dataclasses.fields(cls) if f.init]
    else:
        _check_dataclass_fields(cls, field_names, drop)
    names = list(field_names)

    def flatten(obj):
        values, flat, nones = [], [], []
        for n in names:
            v = getattr(obj, n)
            (nones if v is None else flat).append(n)
            if v is not None:
                values.append(v)
        return values, [flat, nones]

    def unflatten(values, context):
        flat, nones = context
        return cls(**dict(zip(flat, values)), **dict.fromkeys(nones))

    def flatten_with_keys(obj):
        values, context = flatten(obj)
        return [(GetAttrKey(n), v) for n, v in zip(context[0], values)], context

    register_pytree_node(cls, flatten, unflatten, serialized_type_name=serialized_type_name,
                         flatten_with_keys_fn=flatten_with_keys)


def _check_dataclass_fields(cls, field_names, drop):
    init = {f.name for f in dataclasses.fields(cls) if f.init} - drop
    if init == set(field_names):
        return
    message = "field_names does not include all dataclass fields.\n"
    if init - set(field_names):
        message += (f"Missing fields in `field_names`: {init - set(field_names)}. If you want to "
                    "include these fields in the pytree, please add them to `field_names`, "
                    "otherwise please add them to `drop_field_names`.\n")
    if set(field_names) - init:
        message += (f"Unexpected fields in `field_names`: {set(field_names) - init}. Please "
                    "remove these fields, or add them to `drop_field_names`.\n")
    raise ValueError(message)


def _sequence_keys(values):
    return [(SequenceKey(i), v) for i, v in enumerate(values)]


def _mapping_keys(keys, values):
    return [(MappingKey(k), v) for k, v in zip(keys, values)]


def _builtin_nodes():
    """(type, flatten, unflatten, flatten_with_keys, serialized name) of the built-in nodes."""
    def dict_flat(d):
        return list(d.values()), list(d.keys())

    def defaultdict_flat(d):
        return list(d.values()), [d.default_factory, list(d.keys())]

    return [
        (tuple, lambda t: (list(t), None), lambda v, c: tuple(v),
         lambda t: (_sequence_keys(t), None), "builtins.tuple"),
        (list, lambda t: (t, None), lambda v, c: list(v),
         lambda t: (_sequence_keys(t), None), "builtins.list"),
        (dict, dict_flat, lambda v, c: dict(zip(c, v)),
         lambda d: (_mapping_keys(d.keys(), d.values()), list(d.keys())), "builtins.dict"),
        (namedtuple, lambda t: (list(t), type(t)), lambda v, c: c(*v),
         lambda t: ([(GetAttrKey(f), x) for f, x in zip(t._fields, t)], type(t)),
         "collections.namedtuple"),
        (OrderedDict, dict_flat, lambda v, c: OrderedDict(zip(c, v)),
         lambda d: (_mapping_keys(d.keys(), d.values()), list(d.keys())),
         "collections.OrderedDict"),
        (defaultdict, defaultdict_flat, lambda v, c: defaultdict(c[0], zip(c[1], v)),
         lambda d: (_mapping_keys(d.keys(), d.values()), [d.default_factory, list(d.keys())]),
         "collections.defaultdict"),
        (deque, lambda d: (list(d), d.maxlen), lambda v, c: deque(v, maxlen=c),
         lambda d: (_sequence_keys(d), d.maxlen), "collections.deque"),
    ]


for _cls, _flat, _unflat, _keys, _name in _builtin_nodes():
    _private_register_pytree_node(_cls, _flat, _unflat, serialized_type_name=_name,
                                  flatten_with_keys_fn=_keys)
STANDARD_DICT_TYPES = frozenset({dict, OrderedDict, defaultdict})
BUILTIN_TYPES = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})


def is_namedtuple_class(cls) -> bool:
    """Whether ``cls`` is a namedtuple class (a tuple subclass with ``_fields``, ``_make``...)."""
    return (isinstance(cls, type) and issubclass(cls, tuple)
            and isinstance(getattr(cls, "_fields", None), tuple)
            and all(type(f) is str for f in cls._fields)
            and callable(getattr(cls, "_make", None)) and callable(getattr(cls, "_asdict", None)))


def is_namedtuple(obj) -> bool:
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj) -> bool:
    return is_namedtuple_class(type(obj))


def _get_node_type(tree):
    cls = type(tree)
    if cls not in SUPPORTED_NODES and is_namedtuple_class(cls):
        return namedtuple  # every namedtuple class flattens through the one entry
    return cls


def tree_is_leaf(tree, is_leaf=None) -> bool:
    """Whether ``tree`` is a leaf: not a registered node, or chosen by ``is_leaf``."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _get_node_type(tree) not in SUPPORTED_NODES


# ---------------------------------------------------------------- TreeSpec
class TreeSpec:
    """The structure of a pytree: the root's node ``type`` and ``context``, and a spec per
    child. Immutable; equal specs compare equal and hash alike."""

    __slots__ = ("type", "_context", "_children", "num_nodes", "num_leaves", "num_children")

    def __init__(self, type, context, children_specs):  # noqa: A002 - torch's parameter name
        set_ = object.__setattr__
        set_(self, "type", type)
        set_(self, "_context", context)
        set_(self, "_children", list(children_specs))
        if type is None:
            if context is not None or self._children:
                raise AssertionError("leaf node should not have a context or children")
            nodes = leaves = 1
        else:
            nodes = 1 + sum(c.num_nodes for c in self._children)
            leaves = sum(c.num_leaves for c in self._children)
        set_(self, "num_nodes", nodes)
        set_(self, "num_leaves", leaves)
        set_(self, "num_children", len(self._children))

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field '{name}'")

    @property
    def context(self):
        return self._context

    @property
    def children_specs(self):
        warnings.warn("`treespec.children_specs` is deprecated. Use `treespec.child(index)` to "
                      "access a single child, or `treespec.children()` to get all children.",
                      FutureWarning, stacklevel=2)
        return self._children

    def is_leaf(self) -> bool:
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self):
        return list(self._children)

    def child(self, index):
        return self._children[index]

    def __repr__(self, indent=0):
        head = f"TreeSpec({self.type.__name__}, {self._context}, ["
        if not self._children:
            return head + "])"
        indent += 2
        parts = [self._children[0].__repr__(indent)]
        parts += ["\n" + " " * indent + c.__repr__(indent) for c in self._children[1:]]
        return head + ",".join(parts) + "])"

    def __eq__(self, other):
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (str(self.type) == str(other.type) and self._context == other._context
                and self._children == other._children)

    def __hash__(self):
        kind, ctx = self.type, self._context
        if kind is defaultdict:
            ctx = (ctx[0], tuple(ctx[1]))
        elif kind in (dict, OrderedDict):
            ctx = tuple(ctx)
        elif kind is not None and kind not in BUILTIN_TYPES:
            ctx = None  # a user node's context need not be hashable
        return hash((kind, ctx, tuple(self._children)))

    def flatten_up_to(self, tree):
        """The subtrees of ``tree`` at this spec's leaves (``tree`` must have its structure)."""
        out = []
        _flatten_up_to(self, tree, out)
        return out

    def unflatten(self, leaves):
        """The pytree of this structure holding ``leaves``."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but "
                             f"the spec refers to a pytree that holds {self.num_leaves} items "
                             f"({self}).")
        return self._build(iter(leaves))

    def _build(self, it):
        if self.is_leaf():
            return next(it)
        children = [c._build(it) for c in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(children, self._context)


class LeafSpec(TreeSpec):
    """The spec of a leaf (``repr``: ``*``)."""

    __slots__ = ()

    def __init__(self):
        super().__init__(None, None, [])

    def __repr__(self, indent=0):
        return "*"


PyTreeSpec = TreeSpec
_LEAF_SPEC = LeafSpec()


def _node_children(spec, node):
    """``node``'s children, checked against ``spec`` (a node spec), as torch checks them."""
    node_type = _get_node_type(node)
    if spec.type not in BUILTIN_TYPES:
        if node_type != spec.type:
            raise ValueError(f"Type mismatch; expected {spec.type!r}, but got {node_type!r}.")
        children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
        if len(children) != spec.num_children:
            raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got "
                             f"{len(children)}.")
        if context != spec._context:
            raise ValueError(f"Node context mismatch for custom node type {spec.type!r}.")
        return children
    dicts = spec.type in STANDARD_DICT_TYPES and node_type in STANDARD_DICT_TYPES
    if not dicts and node_type != spec.type:
        raise ValueError(f"Node type mismatch; expected {spec.type!r}, but got {node_type!r}.")
    if len(node) != spec.num_children:
        raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got "
                         f"{len(node)}.")
    if dicts:  # dict types stand in for each other; keys must match, in any order
        keys = spec._context if spec.type is not defaultdict else spec._context[1]
        got, want = set(node), set(keys)
        if got != want:
            message = ""
            if want - got:
                message += f"; missing key(s): {want - got}"
            if got - want:
                message += f"; extra key(s): {got - want}"
            raise ValueError(f"Node keys mismatch{message}.")
        return [node[k] for k in keys]
    children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
    if node_type is not deque and context != spec._context:
        raise ValueError(f"Node context mismatch for node type {spec.type!r}; expected "
                         f"{spec._context!r}, but got {context!r}.")
    return children


def _flatten_up_to(spec, node, out):
    if spec.is_leaf():
        out.append(node)
        return
    for child, child_spec in zip(_node_children(spec, node), spec._children):
        _flatten_up_to(child_spec, child, out)


def treespec_leaf():
    return _LEAF_SPEC


def treespec_tuple(iterable=(), /):
    children = list(iterable)
    if any(not isinstance(c, TreeSpec) for c in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(mapping=(), /, **kwargs):
    d = dict(mapping, **kwargs)
    if any(not isinstance(c, TreeSpec) for c in d.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {d!r}.")
    return TreeSpec(dict, list(d.keys()), list(d.values()))


# ---------------------------------------------------------------- flatten / map
def tree_flatten(tree, is_leaf=None):
    """``(leaves, spec)``: the leaves in order, and the structure that rebuilds ``tree``."""
    leaves = []

    def walk(node):
        if tree_is_leaf(node, is_leaf):
            leaves.append(node)
            return _LEAF_SPEC
        node_type = _get_node_type(node)
        children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
        return TreeSpec(node_type, context, [walk(c) for c in children])

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(leaves, treespec):
    """The inverse of ``tree_flatten`` (the two arguments may come in either order)."""
    if not isinstance(treespec, TreeSpec):
        if not isinstance(leaves, TreeSpec):
            raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item of "
                            f"type {type(treespec)}.")
        leaves, treespec = treespec, leaves
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """The leaves of ``tree``, one by one."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_get_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree, is_leaf=None):
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def arg_tree_leaves(*args, **kwargs):
    """``tree_leaves((args, kwargs))``."""
    leaves = []
    for a in list(args) + list(kwargs.values()):
        leaves.extend(tree_iter(a))
    return leaves


def tree_map(func, tree, *rests, is_leaf=None):
    """``tree``'s structure with ``func(leaf, *matching leaves of rests)`` at each leaf."""
    leaves, spec = tree_flatten(tree, is_leaf)
    flat = [leaves] + [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(map(func, *flat))


def tree_map_(func, tree, *rests, is_leaf=None):
    """Call ``func`` on the leaves for its side effect; returns ``tree`` itself."""
    leaves, spec = tree_flatten(tree, is_leaf)
    flat = [leaves] + [spec.flatten_up_to(r) for r in rests]
    deque(map(func, *flat), maxlen=0)
    return tree


def map_only(type_or_types_or_pred, /):
    """Decorator: apply the function to leaves of the given type(s) (or passing the
    predicate), and return other leaves unchanged."""
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        def pred(x):
            return isinstance(x, type_or_types_or_pred)
    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func):
        @functools.wraps(func)
        def wrapped(x):
            return func(x) if pred(x) else x
        return wrapped

    return wrapper


def tree_map_only(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None) -> bool:
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree, is_leaf=None) -> bool:
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred, tree, is_leaf=None) -> bool:
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, /, pred, tree, is_leaf=None) -> bool:
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


# ---------------------------------------------------------------- key paths of leaves
def _key_paths(path, tree, is_leaf):
    if is_leaf is not None and is_leaf(tree):
        yield path, tree
        return
    node_type = _get_node_type(tree)
    handler = SUPPORTED_NODES.get(node_type)
    if handler is None:
        yield path, tree
        return
    if handler.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {node_type}. Please "
                         "pass a flatten_with_keys_fn argument to register_pytree_node.")
    for key, child in handler.flatten_with_keys_fn(tree)[0]:
        yield from _key_paths((*path, key), child, is_leaf)


def tree_flatten_with_path(tree, is_leaf=None):
    """``([(key path, leaf), ...], spec)``."""
    return list(_key_paths((), tree, is_leaf)), tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree, is_leaf=None):
    return list(_key_paths((), tree, is_leaf))


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """``tree_map`` whose ``func`` takes each leaf's key path first."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    paths = [p for p, _ in pairs]
    flat = [[leaf for _, leaf in pairs]] + [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(p, *xs) for p, *xs in zip(paths, *flat))


# ---------------------------------------------------------------- serialization (JSON)
def treespec_dumps(treespec, protocol=None) -> str:
    """The spec as torch's JSON text (protocol 1)."""
    protocol = DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL if protocol is None else protocol
    if protocol != 1:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [1]")
    return json.dumps((protocol, _spec_to_json(treespec)))


def _spec_to_json(spec):
    if spec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    node = SUPPORTED_SERIALIZED_TYPES.get(spec.type)
    if node is None:
        raise NotImplementedError(f"Serializing {spec.type} in pytree is not registered.")
    if node.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(
            f"No registered serialization name for {spec.type} found. Please update your "
            "_register_pytree_node call with a `serialized_type_name` kwarg.")
    if node.to_dumpable_context is not None:
        context = node.to_dumpable_context(spec._context)
    elif spec.type is namedtuple:
        context = _serialized_name(spec._context, "namedtuple class")
    elif spec.type is defaultdict:
        factory, keys = spec._context
        context = {"default_factory_module": factory.__module__,
                   "default_factory_name": factory.__qualname__, "dict_context": keys}
    else:
        try:
            context = json.dumps(spec._context)
        except TypeError as e:
            raise TypeError("Unable to serialize context. Please make the context json "
                            "dump-able, or register a custom serializer using "
                            "_register_pytree_node.") from e
    return {"type": node.serialized_type_name, "context": context,
            "children_spec": [_spec_to_json(c) for c in spec._children]}


def _serialized_name(cls, what):
    node = SUPPORTED_SERIALIZED_TYPES.get(cls)
    if node is None or node.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(f"Can't serialize TreeSpec of {what} {cls} because we didn't "
                                  "register a serializated_type_name.")
    return node.serialized_type_name


@functools.lru_cache
def treespec_loads(serialized: str):
    """The spec that ``treespec_dumps`` wrote. Only registered type names are resolved (no
    module is imported); a ``defaultdict``'s factory must be a builtin."""
    protocol, schema = json.loads(serialized)
    if protocol != 1:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [1]")
    return _json_to_spec(schema)


def _json_to_spec(schema):
    if schema["type"] is None and schema["context"] is None and not schema["children_spec"]:
        return _LEAF_SPEC
    cls = SERIALIZED_TYPE_TO_PYTHON_TYPE.get(schema["type"])
    if cls is None:
        raise NotImplementedError(f"Deserializing {schema['type']} in pytree is not registered.")
    node = SUPPORTED_SERIALIZED_TYPES[cls]
    raw = schema["context"]
    if node.from_dumpable_context is not None:
        context = node.from_dumpable_context(raw)
    elif cls is namedtuple:
        context = SERIALIZED_TYPE_TO_PYTHON_TYPE.get(raw)
        if context is None:
            raise NotImplementedError(f"Can't deserialize TreeSpec of namedtuple class {raw} "
                                      "because we couldn't find a serializated name.")
    elif cls is defaultdict:
        import builtins

        if raw.get("default_factory_module") != "builtins":
            raise NotImplementedError("Deserializing a defaultdict whose default_factory is not "
                                      "a builtin is not supported.")
        context = [getattr(builtins, raw["default_factory_name"]), raw["dict_context"]]
    else:
        context = json.loads(raw)
    return TreeSpec(cls, context, [_json_to_spec(c) for c in schema["children_spec"]])


class _Asterisk(str):
    def __repr__(self):
        return "*"


def treespec_pprint(treespec) -> str:
    """The spec drawn as its tree with ``*`` at the leaves."""
    return repr(tree_unflatten([_Asterisk("*")] * treespec.num_leaves, treespec))


def _register_return_types():
    """``torch.return_types`` results are nodes of their own type with no context, as in
    torch (where they are structseqs, not namedtuples)."""
    from .. import _class_names, return_types

    for value in vars(return_types).values():
        if is_namedtuple_class(value) and _class_names.home(value) == return_types.__name__:
            _private_register_pytree_node(
                value, lambda t: (list(t), None), lambda v, c, cls=value: cls(*v),
                flatten_with_keys_fn=lambda t: (_sequence_keys(t), None))


_register_return_types()
