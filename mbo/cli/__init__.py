"""Command line: ``mbo list | run | demo | compare | report | sweep | leaderboard``.

Layout: this module holds :func:`main` and :func:`build_parser`; each command lives in
``mbo/cli/commands/<name>.py`` (its flags and what it does); ``spec_args.py`` derives the
study-spec flags of ``run`` and ``compare`` from :class:`~mbo.study.StudySpec`;
``common.py`` holds the summary table and run-folder safety.

Import cost: this module and the command modules import only the standard library at
import time, and :func:`main` builds the flags of the one command it runs, so ``mbo --help``
and ``mbo list`` load no torch. A command that runs studies does so under the thread policy
of :mod:`mbo.runtime` (``--threads``), and one that draws picks matplotlib's headless
backend first.

Errors: bad input (a ``ValueError``, ``FileNotFoundError``, ``KeyError``, ``TypeError`` or
YAML error from a command, or a bad flag) exits 2 with one line ``mbo: error: ...``; set
``MBO_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType
from typing import Any, NoReturn

from .commands import COMMANDS
from .common import format_summaries
from .spec_args import spec_from_args

__all__ = ["COMMANDS", "build_parser", "format_summaries", "main", "spec_from_args"]

#: the name tests and older code import
_spec_from_args = spec_from_args


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``mbo: error: ...``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        hint = f"; see `{self.prog} --help`"
        self.exit(2, f"mbo: error: {message}{hint}\n")


def command_module(name: str) -> ModuleType:
    """The module of command ``name`` (light: imports nothing heavy)."""
    return importlib.import_module(f"{__name__}.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ``only`` the flags of that one command (the
    others are listed but take no flags; ``""``: none). :func:`main` builds the one command it
    parses: the study-spec flags import the spec, and thus torch."""
    p = Parser(
        prog="mbo",
        description="Model-based optimization sandbox: studies of surrogates fooled (or not) "
        "by the optimizers that climb them.",
        epilog="`mbo COMMAND --help` shows a command's flags.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        mod = command_module(name)
        c = sub.add_parser(name, help=mod.HELP, description=mod.DESCRIPTION)
        if only is None or only == name:
            mod.add_arguments(c)
    return p


def _command_of(argv: list[str]) -> str:
    return next((a for a in argv if not a.startswith("-")), "")


#: bad input: exit status 2 and one line
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    FileNotFoundError,
    KeyError,
    TypeError,
)


def _user_errors() -> tuple[type[BaseException], ...]:
    yaml = sys.modules.get("yaml")  # imported by whatever raised one, if any
    return USER_ERRORS + ((yaml.YAMLError,) if yaml is not None else ())


def _one_line(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    text = " ".join(text.split())
    if isinstance(err, KeyError | TypeError):
        text = f"{type(err).__name__}: {text}"
    return text or type(err).__name__


def _headless() -> None:
    """The CLI draws into files, never on a screen: matplotlib's Agg backend, here and in the
    worker processes a sweep starts (they inherit ``MPLBACKEND``)."""
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg")


def main(argv: list[str] | None = None) -> int:
    """Run ``mbo`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(only=_command_of(argv)).parse_args(argv)
    except SystemExit as done:  # --help (0) or a bad flag (2, its line already printed)
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    mod = command_module(args.command)
    try:
        if mod.PLOTS:
            _headless()
        if mod.THREADS:
            from ..runtime import thread_policy

            with thread_policy(args.threads):
                return _run(mod, args)
        return _run(mod, args)
    except _user_errors() as err:
        if os.environ.get("MBO_DEBUG"):
            raise
        print(f"mbo: error: {_one_line(err)}", file=sys.stderr)
        return 2


def _run(mod: ModuleType, args: Any) -> int:
    return int(mod.run(args))


if __name__ == "__main__":
    sys.exit(main())
