"""Run a command and write its own wall time and resource usage to a file: the benchmark's launcher.

On Linux a child's ru_maxrss starts from the resident size of the process it was spawned from, so once the
benchmark process has grown (profiles, write floors) every command it measured directly would report at
least that much. This launcher is a few megabytes: the command it forks inherits only that, and the figures
it writes are the command's own (os.wait4), workers it reaped included. Standard library only, so it runs
under `python -I -S`.
"""

import json
import os
import sys
import time


def main() -> int:
    report, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with open(report, "w", encoding="utf-8") as fh:
        json.dump({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                   "maxrss_kib": usage.ru_maxrss}, fh)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
