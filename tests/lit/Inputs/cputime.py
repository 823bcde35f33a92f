"""Run a command and fail when it uses more than SECONDS of CPU time (user +
system), so that a complexity test does not depend on the machine's load.

usage: cputime.py SECONDS CMD [ARGS...]   (the command's exit code is kept;
a wall-clock limit of 20 * SECONDS + 60 s stops a hang)
"""
import resource
import subprocess
import sys

limit = float(sys.argv[1])
try:
    code = subprocess.run(sys.argv[2:], timeout=20 * limit + 60).returncode
except subprocess.TimeoutExpired:
    sys.exit(f"cputime.py: still running after {20 * limit + 60:.0f} s")
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
used = usage.ru_utime + usage.ru_stime
print(f"cputime.py: {used:.2f} s of CPU", file=sys.stderr)
if used > limit:
    sys.exit(f"cputime.py: {used:.2f} s of CPU, more than {limit} s")
sys.exit(code)
