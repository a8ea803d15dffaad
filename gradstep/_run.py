"""``gradstep run SCRIPT [ARGS...]``: run an unchanged torch program on gradstep.

The script runs as ``__main__`` the way ``python SCRIPT ARGS...`` would run it
(``sys.argv`` is ``[SCRIPT, *ARGS]``, ``sys.path[0]`` the script's folder), with
:func:`gradstep.install_as_torch` in place so its ``import torch`` gets gradstep.
Its exit status is the program's: ``sys.exit(n)`` gives ``n``, an uncaught exception
prints the usual Python traceback (from the script's frames down, without
gradstep's launcher frames) and gives 1.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback


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


def _hook_spawned_children():
    """Processes the program starts with the ``spawn`` method install the hook first.

    A spawned child re-imports the script (as ``__mp_main__``) before it runs anything,
    and that import's ``import torch`` must give gradstep there too. Forked children
    inherit the hook; ``forkserver`` children are not covered.
    """
    from multiprocessing import spawn

    if getattr(spawn.get_command_line, "_gradstep_hook", False):
        return
    original = spawn.get_command_line

    def get_command_line(**kwds):
        cmd = original(**kwds)
        if "-c" in cmd:
            i = cmd.index("-c") + 1
            cmd[i] = "import gradstep; gradstep.install_as_torch(); " + cmd[i]
        return cmd

    get_command_line._gradstep_hook = True
    spawn.get_command_line = get_command_line


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
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise  # sys.exit(...) in the program: Python turns it into the exit status
    except KeyboardInterrupt as e:
        traceback.print_exception(type(e), e, _user_traceback(e, script))
        return 130
    except BaseException as e:  # noqa: BLE001 - the program's own error: its traceback, status 1
        traceback.print_exception(type(e), e, _user_traceback(e, script))
        return 1
    return 0
