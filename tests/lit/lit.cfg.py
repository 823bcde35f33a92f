# lit configuration: golden tests of diagnostics, dumps and printed models.
# Each test is a .seq file whose RUN lines call seqc and pipe into FileCheck.
import os
import lit.formats

config.name = "seqc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".seq", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["Inputs"]
config.substitutions.append(("%seqc", config.seqc))
config.substitutions.append(("%examples", os.path.join(config.source_root, "examples")))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, config.environment.get("PATH", "")])
# seqc build and run keep compiled code in $XDG_CACHE_HOME/seqc: the
# tests' in the build tree, not in the user's cache.
config.environment["XDG_CACHE_HOME"] = os.path.join(config.test_exec_root, "cache")
# Sanitized builds (scripts/sanitize.sh) multiply memory use: the memory
# budget tests do not apply to them.
if os.environ.get("ASAN_OPTIONS") or os.environ.get("TSAN_OPTIONS"):
    config.available_features.add("sanitizer")
# A ThreadSanitizer seqc runs instrumented forwards (seqc run --sanitize thread).
if os.environ.get("TSAN_OPTIONS"):
    config.available_features.add("tsan")
