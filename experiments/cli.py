"""Command-line error handling shared by the experiment scripts: `cli.run(main)` in place of
`absl.app.run(main)`.

An exception ends the program with one line on stderr naming the problem, and an exit code:
2 for usage errors (bad flags, config values, paths: ValueError, FileNotFoundError,
absl.app.UsageError), 1 for
runtime errors (a corrupt checkpoint, divergence, a workdir in use, anything else), 128 + the
signal number when SIGINT/SIGTERM stopped training. The full traceback, and everything that
Python logging receives (orbax, absl), go to a log file named in that line
($GEN_JAX_LOG_DIR, default <tmp>/gen_jax_logs); --verbose (or GEN_JAX_VERBOSE=1) also prints the
traceback.
"""

from __future__ import annotations

import datetime
import logging as py_logging
import os
import sys
import tempfile
import traceback
import warnings

from absl import app, flags
from absl import logging as absl_logging

VERBOSE_ENV = "GEN_JAX_VERBOSE"
LOG_DIR_ENV = "GEN_JAX_LOG_DIR"
EXIT_RUNTIME, EXIT_USAGE = 1, 2
USAGE_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, app.UsageError)

_VERBOSE = flags.DEFINE_bool("verbose", False, "On an error, print the full traceback (also: "
                             f"{VERBOSE_ENV}=1).")


def log_path(program: str) -> str:
    root = os.environ.get(LOG_DIR_ENV) or os.path.join(tempfile.gettempdir(), "gen_jax_logs")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(root, f"{program}-{stamp}-{os.getpid()}.log")


def one_line(e: BaseException, limit: int = 600) -> str:
    """The exception's message on one line (whitespace collapsed, at most `limit` characters),
    prefixed by its type unless it is a usage error or one of gen_jax's own."""
    msg = " ".join(str(e).split()) or type(e).__name__
    if len(msg) > limit:
        msg = msg[:limit - 3] + "..."
    ours = type(e).__module__.startswith(("gen_jax", "experiments"))
    if not (ours or isinstance(e, USAGE_ERRORS)):
        msg = f"{type(e).__name__}: {msg}"
    return msg


def exit_code(e: BaseException) -> int:
    signum = getattr(e, "signum", None)
    if isinstance(e, KeyboardInterrupt):
        return 128 + (signum or 2)
    return EXIT_USAGE if isinstance(e, USAGE_ERRORS) else EXIT_RUNTIME


def _parse_flags(argv):
    """absl's parser, but a flag error is one line and exit code 2."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        sys.stderr.write(f"error: {' '.join(str(e).split())} (--helpshort lists the flags)\n")
        sys.exit(EXIT_USAGE)


class _Log:
    """Python logging (orbax, absl, jax) goes to a file opened on first use, not the terminal."""

    def __init__(self, program: str):
        self.path = log_path(program)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handler = py_logging.FileHandler(self.path, delay=True)
        self.handler.setFormatter(py_logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = py_logging.getLogger()
        root.removeHandler(absl_logging.get_absl_handler())
        root.addHandler(self.handler)

    def write(self, text: str) -> None:
        with open(self.path, "a") as f:
            f.write(text)


def _compact_warning(message, category, filename, lineno, line=None):
    return f"warning: {message}\n"


def _wrap(main):
    def wrapped(argv):
        program = os.path.basename(sys.argv[0]).removesuffix(".py") or "gen_jax"
        log = _Log(program)
        warnings.formatwarning = _compact_warning
        verbose = _VERBOSE.value or os.environ.get(VERBOSE_ENV, "") not in ("", "0")
        try:
            return main(argv)
        except (Exception, KeyboardInterrupt) as e:
            tb = traceback.format_exc()
            log.write(tb)
            if verbose:
                sys.stderr.write(tb)
            prefix = "interrupted" if isinstance(e, KeyboardInterrupt) else "error"
            sys.stderr.write(f"{prefix}: {one_line(e)} [details: {log.path}]\n")
            sys.stderr.flush()
            # What libraries print while the interpreter shuts down (orbax/TensorStore threads)
            # goes to the log file, where it cannot bury the line above.
            fd = os.open(log.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(fd, 2)
            sys.exit(exit_code(e))

    return wrapped


def run(main) -> None:
    """absl.app.run(main) with one-line errors and exit codes (see the module docstring)."""
    app.run(_wrap(main), flags_parser=_parse_flags)
