"""``gradstep run SCRIPT [ARGS...]``: run an unchanged torch program on gradstep.

The script runs as ``__main__`` the way ``python SCRIPT ARGS...`` would run it
(``sys.argv`` is ``[SCRIPT, *ARGS]``, ``sys.path[0]`` the script's folder), with
:func:`gradstep.install_as_torch` in place so its ``import torch`` gets gradstep.
Its exit status is the program's: ``sys.exit(n)`` gives ``n``, an uncaught exception
prints the usual Python traceback (from the script's frames down, without
gradstep's launcher frames) and gives 1.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import os
import sys
import traceback
import types


def _user_traceback(exc, script):
    """``exc``'s traceback from the first frame in the user's script (all of it if none is)."""
    tb = exc.__traceback__
    target = os.path.abspath(script)
    t = tb
    while t is not None:
        if os.path.abspath(t.tb_frame.f_code.co_filename) == target:
            return t
        t = t.tb_next
    return tb


_INSTALL = "import gradstep; gradstep.install_as_torch(); "


def _with_hook(args, marker=""):
    """``args`` of a ``python ... -c CODE`` command line, CODE installing the hook first
    (only where CODE contains ``marker``)."""
    if "-c" not in args:
        return args
    i = args.index("-c") + 1
    if i < len(args) and marker in args[i]:
        args = list(args)
        args[i] = _INSTALL + args[i]
    return args


def _hook_spawned_children():
    """Processes the program starts with ``spawn`` or ``forkserver`` install the hook first.

    A spawned child re-imports the script (as ``__mp_main__``) before it runs anything,
    and that import's ``import torch`` must give gradstep there too. A ``forkserver``
    child is forked from a server process that Python starts with its own ``-c`` command
    line (``util.spawnv_passfds``), and re-imports the script in the same way: the server
    installs the hook, and its children inherit it. Forked children inherit it directly.
    """
    from multiprocessing import spawn, util

    if getattr(spawn.get_command_line, "_gradstep_hook", False):
        return
    get_command_line, spawnv_passfds = spawn.get_command_line, util.spawnv_passfds

    def hooked_command_line(**kwds):
        return _with_hook(get_command_line(**kwds))

    def hooked_spawnv_passfds(path, args, passfds):
        return spawnv_passfds(path, _with_hook(args, "multiprocessing.forkserver"), passfds)

    hooked_command_line._gradstep_hook = True
    spawn.get_command_line = hooked_command_line
    util.spawnv_passfds = hooked_spawnv_passfds


def _run_as_main(script):
    """Execute ``script`` as ``__main__`` the way ``python SCRIPT`` does: ``__file__`` (and the
    code's file name in tracebacks) absolute, as since Python 3.9, ``sys.argv[0]`` as typed.
    (``runpy.run_path`` would give the path as typed, or make ``sys.argv[0]`` absolute.)"""
    path = os.path.abspath(script)
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=path, __cached__=None, __spec__=None, __builtins__=builtins,
                         __loader__=importlib.machinery.SourceFileLoader("__main__", path))
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        sys.modules["__main__"] = saved


def run_script(script: str, args: list[str]) -> int:
    """Run ``script`` with ``args`` under the torch hook; return its exit status."""
    from ._torch_hook import TorchAlreadyImportedError, install_as_torch

    if not os.path.isfile(script):
        print(f"gradstep run: error: can't open file '{script}': no such file", file=sys.stderr)
        return 2
    try:
        install_as_torch()
    except TorchAlreadyImportedError as e:
        print(f"gradstep run: error: {e}", file=sys.stderr)
        return 2
    _hook_spawned_children()
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        _run_as_main(script)
    except SystemExit:
        raise  # sys.exit(...) in the program: Python turns it into the exit status
    except KeyboardInterrupt as e:
        traceback.print_exception(type(e), e, _user_traceback(e, script))
        return 130
    except BaseException as e:  # noqa: BLE001 - the program's own error: its traceback, status 1
        traceback.print_exception(type(e), e, _user_traceback(e, script))
        return 1
    return 0
