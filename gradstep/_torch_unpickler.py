"""A restricted pickle interpreter: reads the data in a torch checkpoint, never runs its code.

``pickle.Unpickler`` resolves globals and calls them; this module does not use
it. :class:`RestrictedUnpickler` is its own stack machine over the opcodes that
``pickletools.genops`` parses, with these rules:

* GLOBAL / STACK_GLOBAL push a token for a name in a fixed allowlist (given by
  the caller, plus the NumPy and builtin data constructors of
  :mod:`~gradstep._pickle_globals`, plus what the
  user approved with :func:`add_safe_globals`); any other name is refused
  before anything is imported.
* REDUCE / NEWOBJ run only the allowlisted constructors, each of which checks
  its arguments (types, ranges) before building a value.
* BUILD, SETITEM(S), APPEND(S) and ADDITEMS apply only to objects this
  interpreter created itself (fresh containers, the ``_metadata`` attribute of
  a fresh ``OrderedDict``, instances of user-approved classes). gradstep's
  shared objects (dtypes, functions, classes) can never be mutated.
* Tokens, storages and half-built objects are internal: they may appear only as
  constructor arguments, never in the returned data.
* What a pickle may cost is bounded relative to the file's size: bytes of
  Python objects (each constructor is charged what it really allocates, so
  calling one many times on a memoized argument cannot multiply memory), and
  steps of work (each opcode, and every item hashing a dict key or set element
  visits: CPython caches no tuple hash, and tuples that share their items can
  take 2**40 steps to hash from a few hundred bytes of pickle).
* Tuples and frozensets may not nest past :data:`MAX_DEPTH` (a deep one would
  crash ``hash``); the returned data is checked once more at the end, for
  depth and for containers that hold themselves (see
  :func:`~gradstep._pickle_scan.check_graph`). The interpreter never recurses.
* Arguments are type-checked before they are compared (``x == (0,)`` on a
  tensor is an elementwise comparison that may allocate gigabytes), and error
  messages describe file values with :func:`~gradstep._brief.brief`.

Everything malformed raises :class:`~gradstep.serialization.CheckpointError`,
everything disallowed :class:`~gradstep.serialization.UnsafeCheckpointError`.
"""

from __future__ import annotations

import collections
import pickletools
import struct

from ._brief import brief, printable
from ._module_pickle import trusted_global
from ._pickle_globals import (
    _ITEM_COST,
    BUILTIN_GLOBALS,
    Internal,
    Pending,
    Token,
    Unsupported,
    Value,
    check_int,
    describe,
)
from ._pickle_scan import check_graph
from ._pickle_scan import globals_in as _scan_globals
from ._pickle_scan import resolve as _resolve
from ._safe_globals import (  # noqa: F401 - re-exported: the loader's public API lives here
    _user_allowed,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ._weights_only import (
    DATA_NOTE,
    other_note,
    refused_by_default,
    unsupported_global,
    weights_only,
)
from .serialization import CheckpointError, UnsafeCheckpointError

MAX_DEPTH = 1000  # nesting of containers in a checkpoint
MAX_STACK = 1 << 22  # items on the stack (and open MARKs); a state dict needs a few per tensor
MAX_MEMO = 1 << 22  # memo entries
# Work bound: opcodes plus items visited hashing keys, per byte of the file (plus a fixed allowance).
# torch writes data.pkl stored, so an honest pickle has at most one opcode per byte of the file; a
# re-zipped one compresses a few times. About 0.6 us per step: a hostile file costs ~3 s per MB.
WORK_PER_BYTE = 4
WORK_SLACK = 1 << 20
_BLOCKED_MODULES = ("sys", "os", "posix", "nt", "subprocess", "builtins.eval", "builtins.exec")


class _Limits:
    """The memory and work bounds of a scan without a :class:`RestrictedUnpickler` (``globals_in``)."""

    def __init__(self, file_size):
        self.memory = 16 * file_size + (64 << 20)
        self.work = WORK_PER_BYTE * file_size + WORK_SLACK

    def opcode(self):
        self.work -= 1
        if self.work < 0:
            raise CheckpointError(_WORK_ERROR)

    def new_memo_entry(self, n):
        if n >= MAX_MEMO:
            raise CheckpointError(f"more than {MAX_MEMO} memo entries")
        self.memory -= 100
        if self.memory < 0:
            raise CheckpointError(_MEMORY_ERROR)

    def stack_size(self, n):
        if n > MAX_STACK:
            raise CheckpointError(f"more than {MAX_STACK} items on the pickle stack")


def globals_in(pkl, file_size):
    """The full names a pickle's GLOBAL / STACK_GLOBAL opcodes ask for, found without running it.

    Bounded like a load of a ``file_size``-byte file (opcodes, stack, memo).
    """
    return _scan_globals(pkl, _Limits(file_size))


# ---------------------------------------------------------------- the interpreter
_COST = {list: 56, tuple: 40, dict: 64, set: 216, frozenset: 216, bytearray: 56,
         collections.OrderedDict: 128, collections.Counter: 128}  # empty sizes on CPython 3.11, 64-bit
_RECORD_COST = 170  # a bookkeeping entry: a dict slot and its (obj, depth, visits) tuple (TUPLE1 makes one per 3 bytes)
_MEMORY_ERROR = "the pickle builds more Python objects than a checkpoint of this size can hold (memory bound)"
_WORK_ERROR = "the pickle takes more steps than a checkpoint of this size can need (work bound)"


def _scalar_hash_cost(x):
    """Work steps (~0.6 us each) that hashing or comparing ``x`` as a key may take beyond one step.

    An int's hash is computed anew each time (O(digits), ~1 ms for 1 MB) and an equal key that is
    another object is compared byte by byte (a str's hash is cached, its comparison is not): a
    memoized megabyte key inserted 100k times took two minutes. Charged generously (4x).
    """
    t = type(x)
    if t is int:
        return x.bit_length() >> 10
    if t is str or t is bytes:
        return len(x) >> 12
    return 0


def _error_text(e):
    """An exception's message, bounded (a KeyError's message is the repr of its key, a file value)."""
    if isinstance(e, KeyError) and e.args:
        return brief(e.args[0])
    return printable(str(e), 300)


class RestrictedUnpickler:
    """Runs a pickle with ``allowed`` (full name -> constructor, or None for argument-only tokens).

    ``persistent_load(pid)`` turns a BINPERSID id into an internal object (a storage).
    """

    def __init__(self, data, name, allowed, persistent_load=None, budget=None, work=None, encoding="utf-8",
                 errors="strict"):
        self.raw, self.name = data, name
        self.encoding, self.errors = encoding, errors  # of protocol 0/1 strings: load's encoding=, errors=
        # bytes of Python objects the pickle may build (approximate, see charge)
        self.budget = budget if budget is not None else 16 * len(data) + (64 << 20)
        # steps: opcodes, and items visited hashing dict keys / set elements (see hashed)
        self.work = work if work is not None else WORK_PER_BYTE * len(data) + WORK_SLACK
        self.allowed = dict(BUILTIN_GLOBALS, **allowed)
        self.user = _user_allowed()
        self.persistent_load = persistent_load
        self.stack, self.marks, self.memo = [], [], {}
        self._fresh = {}  # id -> (obj, build handler or None): what this interpreter created
        self._shape = {}  # id -> (obj, depth, items hashing visits) for tuples/frozensets holding others
        self._internal = {}  # id -> tuple holding internal objects (argument tuples)
        self._as_data = {}  # id -> (such a tuple, its items as data): see _tuple_data
        self.pos, self.op = 0, "PROTO"

    # ------------------------------------------------------------ bookkeeping
    def charge(self, nbytes):
        """Count ``nbytes`` of Python objects against the budget (a load's memory bound)."""
        self.budget -= nbytes
        if self.budget < 0:
            raise CheckpointError(_MEMORY_ERROR)

    def fresh(self, obj, build=None):
        """Register ``obj`` as created here (containers may be filled; BUILD uses ``build``)."""
        self.charge(_COST.get(type(obj), 64) + 100)
        self._fresh[id(obj)] = (obj, build)
        return obj

    def sized(self, obj):
        """Register a new tuple or frozenset: its nesting depth and the items hashing it visits.

        Both are exact, as these never change. Hashing a tuple visits every
        item of every tuple in it, each time it occurs (a tuple holding the
        same tuple twice, 40 levels deep, visits 2**40); a frozenset's hash
        comes from its stored item hashes. A big int or long string in a tuple
        adds its :func:`_scalar_hash_cost`. Only tuples and frozensets that hold
        tuples, frozensets or such scalars are recorded, which keeps the
        bookkeeping small.
        """
        self.charge(_COST.get(type(obj), 64) + 40 * len(obj))
        depth, visits = 0, 1 + len(obj)
        for x in obj:
            if isinstance(x, (tuple, frozenset)):
                d, n = self.shape(x)
                depth = max(depth, d + 1)
                visits += n - 1
            else:
                visits += _scalar_hash_cost(x)
        if depth > MAX_DEPTH:
            raise CheckpointError(f"containers nested more than {MAX_DEPTH} deep")
        if depth or visits != 1 + len(obj):
            self.charge(_RECORD_COST)
            self._shape[id(obj)] = (obj, depth, visits if type(obj) is tuple else 1 + len(obj))
        return obj

    def shape(self, x):
        """(nesting depth, items hashing visits) of a tuple or frozenset."""
        e = self._shape.get(id(x))
        if e is not None and e[0] is x:
            return e[1], e[2]
        return 0, 1 + len(x)

    def hashed(self, x):
        """``x``, about to be hashed as a dict key or set element: charge the items hashing visits
        (for a big int or long string, what hashing or comparing it costs: :func:`_scalar_hash_cost`)."""
        n = self.shape(x)[1] if isinstance(x, (tuple, frozenset)) else _scalar_hash_cost(x)
        if n:
            self.work -= n
            if self.work < 0:
                raise CheckpointError(f"a dict key or set element of {n} hashing steps (tuples that share items "
                                      "count them each time; big ints and long strings their size) takes more "
                                      "hashing than a checkpoint of this size can need (work bound)")
        return x

    def value(self, x):
        """``x`` as an argument: pending values must be complete."""
        if type(x) is Pending:
            if x.value is None:
                raise CheckpointError(f"{x.kind} used before its state was set (BUILD)")
            x.used = True
            return x.value
        return x

    def data(self, x):
        """``x`` as an item of returned data: no internal objects."""
        x = self.value(x)
        if isinstance(x, Internal) or id(x) in self._internal:
            if type(x) is Token and x.user is not None:
                return x.user  # a class or function the user approved is data itself, as in torch
            if hasattr(x, "as_data"):  # a storage saved as such
                return x.as_data(self)
            if type(x) is tuple:  # a tuple holding a storage or an approved class, as torch loads it
                return self._tuple_data(x)
            raise UnsafeCheckpointError(f"{describe(x)} cannot be part of the loaded data")
        return x

    def _tuple_data(self, root):
        """``root`` (a tuple holding internal objects) as data: a new tuple of its items as data, the
        same one each time ``root`` is used. Iterative (tuples nest up to MAX_DEPTH); an item that
        cannot be data (a constructor token) is refused by :meth:`data`."""
        done = self._as_data
        todo = [root]
        while todo:
            t = todo[-1]
            if id(t) in done:
                todo.pop()
                continue
            inner = [x for x in t if type(x) is tuple and id(x) in self._internal and id(x) not in done]
            if inner:
                todo.extend(inner)
                continue
            todo.pop()
            items = tuple(done[id(x)][1] if type(x) is tuple and id(x) in done else self.data(x) for x in t)
            self.charge(_RECORD_COST)
            done[id(t)] = (t, self.sized(items))
        return done[id(root)][1]

    def target(self, types, what):
        if not self.stack:
            raise CheckpointError("the pickle stack is empty")
        obj = self.stack[-1]
        entry = self._fresh.get(id(obj))
        fresh = entry is not None and entry[0] is obj
        if fresh and type(obj) not in types:  # SETITEMS on a list, APPENDS on a dict: malformed, not unsafe
            raise CheckpointError(f"{self.op} on {describe(obj)}: it may only {what} "
                                  f"{' or '.join(t.__name__ for t in types)}")
        if type(obj) not in types or not fresh:
            raise UnsafeCheckpointError(f"{self.op} on {describe(obj)} that this checkpoint did not create; "
                                        f"it may only {what} fresh containers")
        return obj

    def iter_items(self, v, what):
        if type(v) not in (list, tuple):
            raise CheckpointError(f"{what} takes a list or tuple, got {describe(v)}")
        return [self.data(x) for x in v]

    def pop(self):
        if not self.stack:
            raise CheckpointError("the pickle stack is empty")
        return self.stack.pop()

    def pop_mark(self):
        if not self.marks:
            raise CheckpointError("no MARK on the pickle stack")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    # ------------------------------------------------------------ main loop
    def load(self):
        # every opcode takes a byte at least: charge them all at once when the work bound allows
        count_ops = len(self.raw) > self.work
        if not count_ops:
            self.work -= len(self.raw)
        try:
            for op, arg, pos in pickletools.genops(self.raw):
                self.pos, self.op = pos, op.name
                if count_ops:
                    self.work -= 1
                    if self.work < 0:
                        raise CheckpointError(_WORK_ERROR)
                if op.name == "STOP":
                    result = self.data(self.pop())
                    check_graph(result, MAX_DEPTH)
                    return result
                handler = _DISPATCH.get(op.name)
                if handler is None:
                    raise UnsafeCheckpointError(f"pickle opcode {op.name} is not allowed in a checkpoint")
                handler(self, arg)
                if len(self.stack) > MAX_STACK or len(self.marks) > MAX_STACK:
                    raise CheckpointError(f"more than {MAX_STACK} items on the pickle stack")
            raise CheckpointError("the pickle ends without STOP")
        except CheckpointError as e:
            text = str(e).removeprefix(f"{self.name}: ")  # a record read for a storage names the file already
            if text.startswith("Weights only load failed."):  # torch's message starts so: where, last
                raise type(e)(f"{text}\n({self.name}: data.pkl at byte {self.pos}, {self.op})") from None
            raise type(e)(f"{self.name}: data.pkl at byte {self.pos} ({self.op}): {text}") from None
        except MemoryError:
            raise CheckpointError(f"{self.name}: data.pkl at byte {self.pos} ({self.op}): out of memory "
                                  "building the pickle's objects") from None
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeError, RuntimeError,
                struct.error, RecursionError, AttributeError, EOFError, Warning) as e:
            # Warning: a protocol 0 string with an invalid escape (S'\\c') makes pickletools (as pickle)
            # warn; where warnings are errors (-W error) that warning is what a malformed file raises
            raise CheckpointError(
                f"{self.name}: malformed pickle in data.pkl after byte {self.pos} ({self.op}): "
                f"{type(e).__name__}: {_error_text(e)}") from None

    # ------------------------------------------------------------ opcodes
    def _push(self, arg):
        t = type(arg)
        self.charge(40 + (len(arg) if t is str or t is bytes else arg.bit_length() >> 3 if t is int else 0))
        self.stack.append(arg)

    def _push_str(self, arg):
        """Protocol 0/1 strings (Python 2's ``str``): decoded with load's ``encoding`` (torch passes
        ``'utf-8'`` unless given one), or kept as bytes for ``encoding='bytes'``, as pickle does."""
        self.charge(40 + len(arg))
        raw = arg.encode("latin-1")  # pickletools hands the bytes over as latin-1 text
        if self.encoding == "bytes":
            self.stack.append(raw)
            return
        try:
            self.stack.append(raw.decode(self.encoding, self.errors))
        except UnicodeDecodeError:
            raise CheckpointError(f"a protocol 0/1 string that is not {printable(self.encoding, 40)} (pass "
                                  "load() the encoding it was written in, e.g. encoding='latin1')") from None

    def _none(self, arg):
        self.charge(8)
        self.stack.append(None)

    def _true(self, arg):
        self.charge(8)
        self.stack.append(True)

    def _false(self, arg):
        self.charge(8)
        self.stack.append(False)

    def _ignore(self, arg):
        pass

    def _frame(self, arg):
        """A protocol 4 frame: its length may not run past the pickle, as pickle's load checks."""
        if arg > len(self.raw) - self.pos - 9:
            raise CheckpointError(f"a frame of {brief(arg)} bytes runs past the end of the pickle")

    def _proto(self, arg):
        check_int(arg, "pickle protocol", 0, 5)

    def _bytearray8(self, arg):
        self.charge(len(arg))
        self.stack.append(self.fresh(bytearray(arg)))

    def _mark(self, arg):
        self.charge(64)
        self.marks.append(self.stack)
        self.stack = []

    def _pop_op(self, arg):
        self.pop()

    def _pop_mark_op(self, arg):
        self.pop_mark()

    def _dup(self, arg):
        self.charge(8)
        self.stack.append(self.stack[-1] if self.stack else self.pop())

    def _tuple_of(self, items):
        items = [self.value(x) for x in items]
        t = self.sized(tuple(items))
        if any(isinstance(x, Internal) or id(x) in self._internal for x in items):
            self.charge(_RECORD_COST)
            self._internal[id(t)] = t
        return t

    def _tuple(self, arg):
        t = self._tuple_of(self.pop_mark())
        self.stack.append(t)

    def _tuple_n(self, n):
        if len(self.stack) < n:
            raise CheckpointError("the pickle stack is empty")
        items = self.stack[len(self.stack) - n:] if n else []
        del self.stack[len(self.stack) - n:]
        self.stack.append(self._tuple_of(items))

    def _empty_list(self, arg):
        self.stack.append(self.fresh([]))

    def _list(self, arg):
        items = self.pop_mark()
        lst = self.fresh([])
        self._extend(lst, items)
        self.stack.append(lst)

    def _extend(self, lst, items):
        self.charge(8 * len(items))
        lst.extend([self.data(x) for x in items])

    def _append(self, arg):
        x = self.pop()
        self._extend(self.target((list,), "append to"), [x])

    def _appends(self, arg):
        items = self.pop_mark()
        self._extend(self.target((list,), "append to"), items)

    def _empty_dict(self, arg):
        self.stack.append(self.fresh({}))

    def _dict(self, arg):
        items = self.pop_mark()
        d = self.fresh({})
        self._setitems(d, items)
        self.stack.append(d)

    def _setitems(self, d, items):
        self.charge(40 * len(items))
        if len(items) % 2:
            raise CheckpointError("SETITEMS with an odd number of items")
        for i in range(0, len(items), 2):
            k, v = self.data(items[i]), self.data(items[i + 1])
            d[self.hashed(k)] = v

    def _setitem(self, arg):
        v = self.pop()
        k = self.pop()
        self._setitems(self.target((dict, collections.OrderedDict, collections.Counter), "set items of"), [k, v])

    def _setitems_op(self, arg):
        items = self.pop_mark()
        self._setitems(self.target((dict, collections.OrderedDict, collections.Counter), "set items of"), items)

    def _empty_set(self, arg):
        self.stack.append(self.fresh(set()))

    def _additems(self, arg):
        items = [self.data(x) for x in self.pop_mark()]
        self.charge(40 * len(items))
        s = self.target((set,), "add to")
        for x in items:
            s.add(self.hashed(x))

    def _frozenset_op(self, arg):
        items = [self.hashed(self.data(x)) for x in self.pop_mark()]
        self.charge(_ITEM_COST * len(items))
        self.stack.append(self.sized(frozenset(items)))

    def _get(self, arg):
        self.charge(8)
        if arg not in self.memo:
            raise CheckpointError(f"memo entry {arg} is read before it is written")
        self.stack.append(self.memo[arg])

    def _put(self, arg):
        check_int(arg, "memo index", 0, 2**32)
        if len(self.memo) >= MAX_MEMO and arg not in self.memo:
            raise CheckpointError(f"more than {MAX_MEMO} memo entries")
        if not self.stack:
            raise CheckpointError("the pickle stack is empty")
        self.charge(100)
        self.memo[arg] = self.stack[-1]

    def _memoize(self, arg):
        self._put(len(self.memo))

    def _global(self, arg):
        module, _, name = arg.partition(" ")
        self.stack.append(self.find(module, name))

    def _stack_global(self, arg):
        name = self.pop()
        module = self.pop()
        if type(module) is not str or type(name) is not str:
            raise CheckpointError("STACK_GLOBAL takes two strings")
        self.stack.append(self.find(module, name))

    def find(self, module, name):
        self.charge(100)
        module, name = _resolve(module, name)
        full = f"{module}.{name}"
        if module in _BLOCKED_MODULES or module.split(".")[0] in _BLOCKED_MODULES or full in _BLOCKED_MODULES:
            raise UnsafeCheckpointError(f"refusing to load '{printable(full, 200)}': module "
                                        f"{printable(module, 100)} is never allowed")
        if full in self.allowed:
            if refused_by_default(full, self.user):
                raise UnsafeCheckpointError(unsupported_global(printable(full, 200), DATA_NOTE))
            ctor = self.allowed[full]
            if isinstance(ctor, Unsupported):
                raise CheckpointError(ctor.message)
            return ctor.obj if isinstance(ctor, Value) else Token(full, ctor)
        if full in self.user:
            return Token(full, user=self.user[full])
        if not weights_only():  # a whole module's class, or a function it holds (_module_pickle)
            found = trusted_global(module, name)
            if found is not None:
                return found
        full = printable(full, 200)  # a name from the file, in a message
        refusal = f"refusing to load '{full}'"
        if weights_only():  # torch's message, as a program that retries with weights_only=False may print it
            raise UnsafeCheckpointError(unsupported_global(full, other_note(refusal)))
        raise UnsafeCheckpointError(
            f"{refusal}: gradstep loads tensors, containers, plain values and whole models (nn.Module "
            f"classes and functions of modules the program has imported, outside the standard library) "
            f"from torch checkpoints. If it is a model class, import its module before loading; if you "
            f"trust this file, allow other names with gradstep.serialization.add_safe_globals([{full}])")

    def _reduce(self, arg):
        args = self.pop()
        func = self.pop()
        self.stack.append(self.call(func, args, new=False))

    def _newobj(self, arg):
        args = self.pop()
        cls = self.pop()
        self.stack.append(self.call(cls, args, new=True))

    def call(self, func, args, new):
        self.charge(200)
        if type(args) is not tuple:
            raise CheckpointError(f"{self.op} arguments must be a tuple, got {describe(args)}")
        if not isinstance(func, Token) or (func.call is None and func.user is None):
            raise UnsafeCheckpointError(f"{self.op} on {describe(func)}, which is not a constructor "
                                        "gradstep allows")
        if func.call is not None:
            return func.call(self, args)
        args = tuple(self.data(a) for a in args)
        obj = func.user
        if new and not isinstance(obj, type):
            raise UnsafeCheckpointError(f"NEWOBJ on '{func.name}', which is not a class")
        try:
            result = obj.__new__(obj, *args) if new else obj(*args)
        except Exception as e:  # noqa: BLE001 - user-approved code; its failure is a bad checkpoint
            raise CheckpointError(f"'{func.name}' (approved with add_safe_globals) raised "
                                  f"{type(e).__name__}: {_error_text(e)}") from None
        if isinstance(obj, type) and type(result) is obj:
            self.fresh(result, build=_build_user_object)
        return result

    def _build(self, arg):
        state = self.value(self.pop())
        inst = self.stack[-1] if self.stack else self.pop()
        entry = self._fresh.get(id(inst)) if type(inst) is not Pending else (inst, inst.build)
        if entry is None or entry[0] is not inst or entry[1] is None:
            raise UnsafeCheckpointError(f"BUILD (setting the state) of {describe(inst)} is not allowed; "
                                        "only objects this checkpoint created can be built")
        if type(inst) is Pending and inst.used:
            raise CheckpointError(f"{inst.kind} is built after it was used")
        if type(inst) is not Pending and (isinstance(state, Internal) or id(state) in self._internal):
            raise UnsafeCheckpointError(f"{describe(state)} cannot be used as object state")
        if entry[1] is _build_user_object:
            try:
                entry[1](self, inst, state)
            except CheckpointError:
                raise
            except Exception as e:  # noqa: BLE001 - user-approved __setstate__
                raise CheckpointError(f"setting the state of {describe(inst)} raised {type(e).__name__}: "
                                      f"{_error_text(e)}") from None
        else:
            entry[1](self, inst, state)

    def _persid(self, arg):
        pid = self.pop()
        if self.persistent_load is None:
            raise UnsafeCheckpointError("persistent ids are not allowed here")
        self.stack.append(self.persistent_load(pid))


def _build_user_object(u, inst, state):
    """torch's BUILD for an allowlisted class: ``__setstate__``, else update ``__dict__`` / slots."""
    # torch calls the class's __setstate__ if it has one (``object`` defines none, so no comparison with it)
    if getattr(type(inst), "__setstate__", None) is not None:
        inst.__setstate__(state)
        return
    slots = None
    if type(state) is tuple and len(state) == 2:
        state, slots = state
    if state:
        if type(state) is not dict:
            raise CheckpointError("object state must be a dict")
        u.charge(_ITEM_COST * len(state))  # a copy of every item, however often the state dict is shared
        inst.__dict__.update(state)
    if slots:
        if type(slots) is not dict:
            raise CheckpointError("object slot state must be a dict")
        u.charge(_ITEM_COST * len(slots))
        for k, v in slots.items():
            setattr(inst, k, v)


_R = RestrictedUnpickler
_DISPATCH = {
    "PROTO": _R._proto, "FRAME": _R._frame, "NONE": _R._none, "NEWTRUE": _R._true, "NEWFALSE": _R._false,
    "INT": _R._push, "BININT": _R._push, "BININT1": _R._push, "BININT2": _R._push, "LONG": _R._push,
    "LONG1": _R._push, "LONG4": _R._push, "FLOAT": _R._push, "BINFLOAT": _R._push,
    "STRING": _R._push_str, "BINSTRING": _R._push_str, "SHORT_BINSTRING": _R._push_str,
    "UNICODE": _R._push, "BINUNICODE": _R._push, "SHORT_BINUNICODE": _R._push, "BINUNICODE8": _R._push,
    "BINBYTES": _R._push, "SHORT_BINBYTES": _R._push, "BINBYTES8": _R._push, "BYTEARRAY8": _R._bytearray8,
    "MARK": _R._mark, "POP": _R._pop_op, "POP_MARK": _R._pop_mark_op, "DUP": _R._dup,
    "EMPTY_TUPLE": lambda u, a: u._tuple_n(0), "TUPLE": _R._tuple, "TUPLE1": lambda u, a: u._tuple_n(1),
    "TUPLE2": lambda u, a: u._tuple_n(2), "TUPLE3": lambda u, a: u._tuple_n(3),
    "EMPTY_LIST": _R._empty_list, "LIST": _R._list, "APPEND": _R._append, "APPENDS": _R._appends,
    "EMPTY_DICT": _R._empty_dict, "DICT": _R._dict, "SETITEM": _R._setitem, "SETITEMS": _R._setitems_op,
    "EMPTY_SET": _R._empty_set, "ADDITEMS": _R._additems, "FROZENSET": _R._frozenset_op,
    "GET": _R._get, "BINGET": _R._get, "LONG_BINGET": _R._get,
    "PUT": _R._put, "BINPUT": _R._put, "LONG_BINPUT": _R._put, "MEMOIZE": _R._memoize,
    "GLOBAL": _R._global, "STACK_GLOBAL": _R._stack_global, "REDUCE": _R._reduce, "NEWOBJ": _R._newobj,
    "BUILD": _R._build, "BINPERSID": _R._persid,
}
