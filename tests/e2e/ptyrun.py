#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ptyrun.py READY FLAG LOG -- CMD [ARG...]

Run CMD as a session leader on a new pty (its process group is the
terminal's foreground group). Once the file READY contains a line starting
with "ready", press Ctrl-C (write ^C to the master, so the kernel sends
SIGINT with si_code SI_KERNEL to the whole foreground group), wait 300 ms,
create FLAG. Everything CMD writes to the terminal goes to LOG. Prints
"exited N", "signaled N" or "timeout" (CMD is SIGKILLed after 20 s).
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    ready, flag, log = sys.argv[1:4]
    cmd = sys.argv[5:]
    pid, fd = pty.fork()
    if pid == 0:
        # Python ignores SIGPIPE, and a script's background jobs ignore
        # SIGINT/SIGQUIT: give the command default dispositions.
        for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE):
            signal.signal(s, signal.SIG_DFL)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    deadline = time.monotonic() + 20
    pressed = flagged = None
    status = None
    with open(log, "wb") as out:
        while status is None:
            now = time.monotonic()
            if now > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                print("timeout")
                return 1
            if pressed is None:
                try:
                    with open(ready) as f:
                        if any(line.startswith("ready") for line in f):
                            time.sleep(0.2)
                            os.write(fd, b"\x03")
                            pressed = time.monotonic()
                except FileNotFoundError:
                    pass
            elif flagged is None and now - pressed > 0.3:
                open(flag, "w").close()
                flagged = now
            r, _, _ = select.select([fd], [], [], 0.02)
            if r:
                try:
                    data = os.read(fd, 4096)
                    out.write(data)
                except OSError:
                    pass
            w, st = os.waitpid(pid, os.WNOHANG)
            if w == pid:
                status = st
    if os.WIFSIGNALED(status):
        print("signaled %d" % os.WTERMSIG(status))
    else:
        print("exited %d" % os.WEXITSTATUS(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
