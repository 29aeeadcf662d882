"""tests/e2e/faketime_env.py - libfaketime for the tests, without its
wrapper, and the sweep of what it leaves in /dev/shm.

Why not the faketime(1) wrapper: it creates a POSIX semaphore and a shared
memory object named after its own pid with O_EXCL. libfaketime, preloaded
into a process, creates the same pair for that process's pid and removes it
only in its destructor, so every faketime'd daemon the tests kill -9 leaves
"/dev/shm/sem.faketime_sem_PID" behind. Once the pids wrap (a make check
starts far more than 32768 processes), the wrapper meets such a name and
exits 1 ("sem_open: File exists") before running anything: a certificate
the test needed was never made. Preloading the library directly has no
such step (the library treats an existing name as non-fatal).
"""
import os
import re

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

_SHM_NAME = re.compile(r"^(?:sem\.faketime_sem_|faketime_shm_)(\d+)$")


def offset_env(offset):
    """The environment for one command whose clock is moved by offset, a
    libfaketime relative spec such as "-400d" or "+3h"."""
    if not re.fullmatch(r"[+-]\d+[smhdy]?", offset):
        raise ValueError(f"not a libfaketime offset: {offset!r}")
    env = dict(os.environ)
    env["LD_PRELOAD"] = FAKETIME_LIB
    env["FAKETIME"] = offset
    return env


def sweep_stale_shm(shm_dir="/dev/shm"):
    """Remove libfaketime's objects whose process is gone; returns how many
    were removed. A live pid's pair is left alone (it may be in use)."""
    removed = 0
    try:
        names = os.listdir(shm_dir)
    except OSError:
        return 0
    for name in names:
        m = _SHM_NAME.match(name)
        if not m or os.path.exists(f"/proc/{m.group(1)}"):
            continue
        try:
            os.unlink(os.path.join(shm_dir, name))
            removed += 1
        except FileNotFoundError:
            pass
    return removed
