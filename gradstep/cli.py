"""The ``gradstep`` command: ``train``, ``eval``, ``info`` and ``run`` (a torch program).

Bad input (an unknown optimizer, a mistyped flag, a missing data folder, an
unreadable config, a checkpoint from another model) is reported as one line on
stderr with exit status 2, never a traceback. An unexpected failure inside
gradstep is one line too, with exit status 1 (``GRADSTEP_TRACEBACK=1`` shows it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .serialization import CheckpointError

RESUME_HELP = """resuming: --resume RUN_DIR continues the run with its own settings; a flag that
  differs from them (optimizer, scheduler, lr, ...) is an error, only --epochs, --workers, --doctor
  and --out may change. --epochs N beyond the run's epochs extends it with the same schedule:
  StepLR, ExponentialLR, ReduceLROnPlateau, none, ... keep stepping, while a schedule that ends
  (CosineAnnealingLR at T_max, OneCycleLR at total_steps, PolynomialLR at total_iters) is not
  run past its end: resuming refuses, start a new run with the longer --epochs instead.
"""

EXAMPLES = """examples:
  gradstep train                                   # MLP on the bundled digits: about 97.5% in seconds
  gradstep train --model cnn --optimizer Adam --lr 1e-3 --scheduler OneCycleLR
  gradstep train --scheduler StepLR --sched-arg step_size=5 --sched-arg gamma=0.5
  gradstep train --data mnist:~/data/mnist --model cnn --epochs 3
  gradstep train --config run.toml --epochs 5      # flags override the file
  gradstep train --resume runs/20261127-120000     # continue the latest checkpoint
  gradstep train --resume runs/20261127-120000 --epochs 30   # train longer (not past a cosine/1cycle end)
  gradstep train --nproc 4                         # 4 MPI ranks, each a quarter of the data (batch per rank)
  gradstep eval runs/20261127-120000
  gradstep info runs/20261127-120000/best.gs
"""


def _train_parser(sub):
    p = sub.add_parser("train", help="train a model", epilog=RESUME_HELP + "\n" + EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Train a classifier; every flag can also be a key in --config FILE.toml.")
    a = p.add_argument
    a("--model", help="mlp (default) or cnn")
    a("--data", help="digits (default, bundled), mnist:DIR, fashion-mnist:DIR or csv:FILE:TARGET")
    a("--optimizer", help="any class in gradstep.optim (default SGD)")
    a("--lr", type=float, help="learning rate (default 0.1)")
    a("--momentum", type=float, help="momentum, for optimizers that take it (default 0.9 for SGD)")
    a("--weight-decay", type=float, help="weight decay (default 1e-4 for SGD)")
    a("--nesterov", action="store_true", default=None, help="Nesterov momentum (SGD)")
    a("--betas", type=float, nargs=2, metavar=("B1", "B2"), help="Adam-style betas")
    a("--eps", type=float, help="epsilon of adaptive optimizers")
    a("--alpha", type=float, help="RMSprop's smoothing constant")
    a("--opt-arg", action="append", metavar="KEY=VALUE",
      help="any other optimizer argument (repeatable), typed by its signature: amsgrad=true, betas=0.9,0.99")
    a("--scheduler", help="a scheduler in gradstep.optim.lr_scheduler, or none (default CosineAnnealingLR "
                          "over the run); not LambdaLR, MultiplicativeLR, SequentialLR, ChainedScheduler, "
                          "which need Python objects")
    a("--sched-arg", action="append", metavar="KEY=VALUE", help="scheduler argument (repeatable): step_size=5")
    a("--epochs", type=int, help="number of epochs (default 20); with --resume, train up to this epoch")
    a("--batch-size", type=int, help="batch size (default 16)")
    a("--accumulate", type=int, metavar="N",
      help="gradient accumulation: zero_grad and step every N batches, loss scaled by 1/N")
    a("--clip-grad-norm", type=float, metavar="MAX", help="clip the gradient norm to MAX before each step")
    a("--seed", type=int, help="random seed (default 0)")
    a("--workers", type=int, help="DataLoader worker processes (default 0)")
    a("--out", metavar="DIR", help="run folder (default runs/<timestamp>)")
    a("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint, with the "
                                          "run's settings (see 'resuming' below)")
    a("--config", metavar="FILE.toml", help="read settings from a TOML file; flags override it")
    bars = p.add_mutually_exclusive_group()
    bars.add_argument("--progress", action="store_true", default=None,
                      help="tqdm progress bars even when stderr is not a terminal (default: on a terminal only)")
    bars.add_argument("--no-progress", action="store_true", help="no progress bars")
    a("--doctor", action="store_true", default=None,
      help="watch the training loop with gradstep.doctor and print its report at the end")
    a("--xray", nargs="?", const="xray.html", metavar="FILE",
      help="record one training step (and samples of the run) and write an HTML page (default xray.html)")
    a("--nproc", type=int, metavar="N", help="train on N processes: re-runs this command under mpiexec "
                                            "(pip install 'gradstep[dist]'); --batch-size is per process")
    return p


def _strip_nproc(argv):
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def _launch_train(args, argv):
    """``--nproc N``: re-run this command on N MPI ranks; None when this process should train itself."""
    from .distributed import _comm, _launch
    from .training.config import UsageError

    if args.nproc < 1:
        raise UsageError(f"--nproc must be at least 1, got {args.nproc}")
    if _comm.under_mpi():  # already one of the ranks (ours, or the user's mpiexec / srun)
        return None
    if args.nproc == 1:
        return None
    from .training.models import check_model_name

    check_model_name(args.model)  # here, once, rather than from every rank as the job aborts
    return _launch.relaunch(args.nproc, ["gradstep", *_strip_nproc(argv)])


def _join_process_group(args):
    """Under an MPI launcher, join the process group (rank 0 then leads the run)."""
    from . import distributed as dist
    from .distributed import _comm
    from .training.config import UsageError

    if not _comm.under_mpi() or dist.is_initialized():
        return
    dist.init_process_group("mpi")
    if args.nproc is not None and args.nproc != dist.get_world_size():
        raise UsageError(f"--nproc {args.nproc}, but the launcher started {dist.get_world_size()} processes")


def _cmd_train(args, argv=()):
    from .training.config import UsageError

    if args.nproc is not None:
        status = _launch_train(args, argv)
        if status is not None:
            return status
    try:
        _join_process_group(args)
        return _train(args)
    except (UsageError, CheckpointError, OSError) as e:
        _abort_all_ranks(e)
        raise


def _abort_all_ranks(error):
    """On several ranks, report ``error`` and end every rank now (the others would wait forever)."""
    from . import distributed as dist

    if dist.is_initialized() and dist.get_world_size() > 1:
        print(f"gradstep train: error (rank {dist.get_rank()}): {error}", file=sys.stderr, flush=True)
        dist._get_world().abort(2)


def _train(args):
    from .training.config import resolve
    from .training.loop import run
    from .training.options import parse_kv
    from .training.resume import load_run_checkpoint, read_run_config

    flags = {k: getattr(args, k) for k in (
        "model", "data", "optimizer", "lr", "momentum", "weight_decay", "nesterov", "eps", "alpha",
        "epochs", "batch_size", "accumulate", "clip_grad_norm", "seed", "workers", "out", "scheduler",
        "doctor")}
    flags["betas"] = tuple(args.betas) if args.betas else None
    if args.opt_arg:
        flags["opt_args"] = parse_kv(args.opt_arg, "--opt-arg")
    if args.sched_arg:
        flags["sched_args"] = parse_kv(args.sched_arg, "--sched-arg")
    base, resume = None, None
    if args.resume:
        base = read_run_config(args.resume)
        resume = load_run_checkpoint(args.resume, "checkpoint.gs")
        flags["out"] = flags["out"] or args.resume
    cfg = resolve(flags, args.config, base, f"'{os.path.join(args.resume or '', 'config.json')}'")
    out = cfg.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    cfg.out = out
    progress = True if args.progress else False if args.no_progress else None  # None: on a terminal
    if getattr(args, "xray", None):
        from .training.config import UsageError
        from .viz.xray import XRay, page_path_problem

        problem = page_path_problem(args.xray)
        if problem:
            raise UsageError(problem)

        with XRay() as xray:
            run(cfg, out, resume=resume, printer=_print_now, progress=progress)
        _print_now(f"x-ray: wrote {xray.write(args.xray)}")
        return 0
    run(cfg, out, resume=resume, printer=_print_now, progress=progress)
    return 0


def _print_now(*values):
    """Per-epoch lines reach a log file as they happen, not when the run ends."""
    print(*values, flush=True)


def _cmd_eval(args):
    from .training.config import TrainConfig, UsageError
    from .training.data import load_data
    from .training.loop import evaluate
    from .training.models import build_model
    from .training.resume import load_run_checkpoint, read_run_config

    cfg = TrainConfig.from_dict(read_run_config(args.run_dir), f"'{os.path.join(args.run_dir, 'config.json')}'")
    ckpt = load_run_checkpoint(args.run_dir, "best.gs")
    _, test_set, in_shape, num_classes = load_data(args.data or cfg.data)
    model = build_model(ckpt["model_name"], in_shape, num_classes)
    if tuple(ckpt["in_shape"]) != in_shape or ckpt["num_classes"] != num_classes:
        raise UsageError(f"checkpoint is from a different model/data ({ckpt['model_name']} on "
                         f"{list(ckpt['in_shape'])}, {ckpt['num_classes']} classes) than --data "
                         f"{args.data or cfg.data} ({list(in_shape)}, {num_classes} classes)")
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError) as e:
        raise UsageError(f"best.gs does not fit a {ckpt['model_name']} model: {str(e).splitlines()[0]}") from None
    loss, acc, confusion = evaluate(model, test_set, num_classes)
    print(f"{args.run_dir} (best.gs, epoch {ckpt['epoch']}) on {args.data or cfg.data} test set: "
          f"{len(test_set)} samples")
    print(f"test loss {loss:.4f}  accuracy {100 * acc:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted):")
    width = max(4, len(str(int(confusion.max()))) + 1)
    print(" " * 5 + "".join(f"{j:>{width}d}" for j in range(num_classes)))
    for i, row in enumerate(confusion):
        print(f"{i:>4d} " + "".join(f"{int(v):>{width}d}" for v in row))
    return 0


def _check_info_path(path):
    from .training.config import UsageError

    if os.path.isdir(path):
        found = sorted(n for n in os.listdir(path) if n.endswith((".gs", ".pt", ".pth")))
        hint = f": gradstep info {os.path.join(path, found[0])}" if found else ""
        raise UsageError(f"'{path}' is a folder; give a checkpoint file{hint}")
    if not os.path.exists(path):
        raise UsageError(f"'{path}' does not exist")


def _cmd_info(args):
    from ._checkpoint_info import info_lines
    from .serialization import load

    _check_info_path(args.file)
    obj = load(args.file, weights_only=False)  # shows NumPy data too; no load ever runs code
    for line in info_lines(obj, args.file, os.path.getsize(args.file)):
        print(line)
    return 0


class _ArgumentError(Exception):
    def __init__(self, prog, message):
        super().__init__(message)
        self.prog, self.message = prog, message


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing the usage, so main reports one line."""

    def error(self, message):
        raise _ArgumentError(self.prog, message)


def _build_parser():
    parser = _Parser(prog="gradstep", description="gradstep: PyTorch-style training on NumPy")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    pe = sub.add_parser("eval", help="evaluate a run's best checkpoint: loss, accuracy, confusion matrix")
    pe.add_argument("run_dir")
    pe.add_argument("--data", help="evaluate on other data of the same shape")
    pi = sub.add_parser("info", help="print what a checkpoint file holds")
    pi.add_argument("file")
    pr = sub.add_parser("run", help="run an unchanged torch program on gradstep (import torch gets "
                                    "gradstep)", description="Run SCRIPT as `python SCRIPT ARGS` "
                                    "would, with `import torch` giving gradstep.")
    pr.add_argument("script", help="the Python program")
    pr.add_argument("args", nargs="*", default=[], metavar="ARGS", help="its command-line arguments")
    sub.add_parser("xray", help="run a torch program like `run`, x-rayed: one training step and the "
                                "run drawn in an HTML page (gradstep xray --help)")
    return parser, sub


def _parse(parser, sub, argv):
    """The parsed arguments; an unknown command or flag is an _ArgumentError with a suggestion."""
    from .training.config import suggest

    first = argv[0] if argv else ""
    if first and not first.startswith("-") and first not in sub.choices:
        raise _ArgumentError("gradstep", f"unknown command '{first}'{suggest(first, sub.choices)}; "
                                         f"commands: {', '.join(sub.choices)}")
    args, extras = parser.parse_known_args(argv)
    if extras:
        cmd = sub.choices[args.command]
        word = extras[0].split("=", 1)[0]
        if not word.startswith("-"):
            raise _ArgumentError(cmd.prog, f"unexpected argument '{extras[0]}'")
        options = [o for action in cmd._actions for o in action.option_strings]
        raise _ArgumentError(cmd.prog, f"unrecognized option '{word}'{suggest(word, options)}")
    return args


def _one_line(error):
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"] and len(argv) > 1 and argv[1] not in ("-h", "--help"):
        from ._run import run_script  # the program's own flags are never parsed here

        return run_script(argv[1], argv[2:])
    if argv[:1] == ["xray"]:
        from .viz.xray import xray_script  # the program's own flags are never parsed here

        return xray_script(argv[1:])
    parser, sub = _build_parser()
    try:
        args = _parse(parser, sub, argv)
    except _ArgumentError as e:
        print(f"{e.prog}: error: {_one_line(e.message)}; see '{e.prog} --help'", file=sys.stderr)
        return 2
    from .training.config import UsageError

    commands = {"train": _cmd_train, "eval": _cmd_eval, "info": _cmd_info}
    try:
        if args.command == "train":
            return _cmd_train(args, argv)
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except (UsageError, CheckpointError, OSError) as e:
        print(f"gradstep {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug in gradstep: still one line, unless asked for the traceback
        if os.environ.get("GRADSTEP_TRACEBACK"):
            raise
        print(f"gradstep {args.command}: internal error: {type(e).__name__}: {_one_line(e)} "
              "(GRADSTEP_TRACEBACK=1 shows the traceback; please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
