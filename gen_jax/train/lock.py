"""A workdir lock: one run per workdir, so no run can overwrite another's checkpoints or logs.

The lock is a file `<workdir>/LOCK` holding the holder's host, pid, start time and command. It is
held with flock(2), which the kernel drops when the holder dies (kill -9 included), so a lock
left behind by a dead process is taken over (with a warning) instead of blocking forever. In a
multi-process run process 0 takes it, once per run, and every process learns the outcome.
Holding is re-entrant within a process (experiments.main holds it around train(), which takes it
too).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
import sys
import warnings

import jax
import numpy as np

LOCK_NAME = "LOCK"
_held: dict[str, list] = {}  # abspath(workdir) -> [fd or None, depth]


class WorkdirLockedError(RuntimeError):
    """Another live process holds the workdir's lock."""


def _describe(info: dict) -> str:
    return (f"pid {info.get('pid')} on host {info.get('host')}, started {info.get('started')}: "
            f"{info.get('command', '?')}")


def _read(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 1 << 16)
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {"host": "?", "pid": "?", "started": "?", "command": raw[:200].decode(errors="replace")}


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True  # exists but is someone else's / unreadable: assume alive
    return True


def _open_locked(path: str, workdir: str) -> int:
    """Open and flock `path` (creating it), retrying if the file was replaced meanwhile."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise WorkdirLockedError(
                f"workdir {workdir} is in use by another run ({_describe(holder)}); wait for it to "
                f"finish or stop it, or use another --workdir") from None
        try:  # the previous holder may have unlinked the file between our open and flock
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _take(workdir: str) -> int:
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, LOCK_NAME)
    fd = _open_locked(path, workdir)
    prev = _read(fd)
    if prev:
        if prev.get("host") == socket.gethostname() and prev.get("pid") != os.getpid() \
                and _pid_alive(prev.get("pid")) and not _flock_works(path):
            os.close(fd)  # a filesystem without flock: trust the recorded live pid
            raise WorkdirLockedError(f"workdir {workdir} is in use by another run "
                                     f"({_describe(prev)}); if that process is not a gen_jax run, "
                                     f"delete {path}")
        warnings.warn(f"taking over the stale lock {path} of a run that ended without releasing "
                      f"it ({_describe(prev)})", stacklevel=3)
    info = {"host": socket.gethostname(), "pid": os.getpid(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:500]}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(info) + "\n").encode())
    os.fsync(fd)
    return fd


def _flock_works(path: str) -> bool:
    """Whether a second open file description is refused while we hold the flock (it is on local
    filesystems and NFSv4; some network filesystems accept every flock)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def acquire(workdir: str) -> None:
    """Take `workdir`'s lock (process 0 of a multi-process run; the others learn the outcome).
    Raises WorkdirLockedError naming the live holder."""
    key = os.path.abspath(workdir)
    if key in _held:
        _held[key][1] += 1
        return
    fd, err = None, None
    if jax.process_index() == 0:
        try:
            fd = _take(key)
        except WorkdirLockedError as e:
            err = e
    if jax.process_count() > 1:  # all processes must fail together, or the others would hang
        from jax.experimental import multihost_utils
        ok = int(multihost_utils.broadcast_one_to_all(np.int32(err is None)))
        if not ok and err is None:
            err = WorkdirLockedError(f"workdir {workdir} is in use by another run (process 0 "
                                     f"could not take {os.path.join(key, LOCK_NAME)})")
    if err is not None:
        if fd is not None:
            _release_fd(key, fd)
        raise err
    _held[key] = [fd, 1]


def _release_fd(key: str, fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(key, LOCK_NAME))  # while still holding it: see _open_locked
    os.close(fd)


def release(workdir: str) -> None:
    key = os.path.abspath(workdir)
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _held[key]
        if entry[0] is not None:
            _release_fd(key, entry[0])


@contextlib.contextmanager
def hold(workdir: str):
    """`with hold(workdir): ...` holds the workdir's lock for the block (re-entrant)."""
    acquire(workdir)
    try:
        yield
    finally:
        release(workdir)
