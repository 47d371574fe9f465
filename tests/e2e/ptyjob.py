#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ptyjob.py READY FLAG LOG 'SHELL COMMAND'

Job control on a terminal (doc/transparency.md scenario 28): start an interactive bash on a new
pty, type SHELL COMMAND; once the file READY has a line starting with
"ready", press ^Z; wait for bash to report the job stopped; type fg; create
FLAG; wait for the command's status line (from fg once it stopped). Prints "stopped yes|no" and
"rc N" (or "rc none"). Everything on the terminal goes to LOG.
"""
import os
import pty
import re
import select
import signal
import sys
import time


class Term:
    def __init__(self, fd, log):
        self.fd, self.log, self.buf = fd, log, b""

    def pump(self, secs):
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    return
                self.buf += data
                self.log.write(data)
                self.log.flush()

    def expect(self, pattern, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            m = re.search(pattern, self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            self.pump(0.05)
        return None

    def send(self, data):
        os.write(self.fd, data)


def ready(path):
    try:
        with open(path) as f:
            return any(line.startswith("ready") for line in f)
    except FileNotFoundError:
        return False


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    ready_file, flag, log_path, command = sys.argv[1:]
    pid, fd = pty.fork()
    if pid == 0:
        for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGTSTP,
                  signal.SIGTTIN, signal.SIGTTOU):
            signal.signal(s, signal.SIG_DFL)
        env = dict(os.environ, PS1="PROMPT> ", TERM="dumb")
        try:
            os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
        finally:
            os._exit(127)
    stopped, rc = "no", "none"
    with open(log_path, "wb") as log:
        t = Term(fd, log)
        t.expect(rb"PROMPT> ", 10)
        t.send(command.encode() + b'; echo "rc=$?"\n')
        end = time.monotonic() + 10
        while not ready(ready_file) and time.monotonic() < end:
            t.pump(0.05)
        t.pump(0.2)
        t.send(b"\x1a")
        result = rb"rc=(\d+)"
        if t.expect(rb"Stopped", 5):
            # bash goes on with the list ("rc=148"); fg's status is the job's
            stopped = "yes"
            t.expect(rb"rc=\d+", 2)
            t.pump(0.3)
            t.send(b'fg; echo "fgrc=$?"\n')
            result = rb"fgrc=(\d+)"
            t.pump(0.5)
        open(flag, "w").close()
        m = t.expect(result, 10)
        if m:
            rc = m.group(1).decode()
        t.send(b"exit\n")
        t.pump(0.3)
    for _ in range(20):
        w, _ = os.waitpid(pid, os.WNOHANG)
        if w == pid:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    print("stopped %s" % stopped)
    print("rc %s" % rc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
