"""Run a command and fail when its peak resident memory exceeds MIB mebibytes,
so that a memory test does not depend on the machine's load. The command's
exit code is kept; its peak is printed to stderr.

usage: peakmem.py MIB CMD [ARGS...]
"""
import os
import subprocess
import sys

limit = float(sys.argv[1])
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
peak = usage.ru_maxrss / 1024
print(f"peakmem.py: {peak:.0f} MiB peak", file=sys.stderr)
if peak > limit:
    sys.exit(f"peakmem.py: {peak:.0f} MiB peak, more than {limit:.0f} MiB")
sys.exit(os.waitstatus_to_exitcode(status))
