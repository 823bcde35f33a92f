"""Run a command and check its exit code exactly; fail on any crash.

usage: exitcode.py EXPECTED CMD [ARGS...]   (EXPECTED: a code, or codes like 0,1)

Passes the command's stdout and stderr through (so FileCheck can read them),
and exits 0 only if the command exited with EXPECTED, was not killed by a
signal and printed no "internal compiler error".
"""
import subprocess
import sys

expected = [int(c) for c in sys.argv[1].split(",")]
proc = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
sys.stdout.buffer.write(proc.stdout)
sys.stdout.flush()
sys.stderr.buffer.write(proc.stderr)
sys.stderr.flush()
code = proc.returncode
if code < 0 or code >= 128:
    sys.exit(f"exitcode.py: crash: exit code {code}")
if b"internal compiler error" in proc.stdout + proc.stderr:
    sys.exit("exitcode.py: internal compiler error")
if code not in expected:
    sys.exit(f"exitcode.py: exit code {code}, expected {expected}")
