"""tests/e2e/run.py - run every tests/e2e/test_*.py and print one
machine-readable line "E2E-RESULT passed=N failed=M skipped=K" for
scripts/run-tests, after one "E2E-SKIP id: reason" line per skipped test
and one "E2E-TIME module seconds" line per test file, slowest first.

Owns: the rule for skips. A skip is counted and listed, never silent. When
the tests run as root with CI=true (CI sets it), every skip is a failure
unless its test id is in tests/e2e/allowed-skips.txt (one "ID REASON" per
line; an id of a class or module covers the tests in it): there, nothing a
test needs may be missing, so a skip would only hide a test that did not
run. Benchmarks (test_*_bench.py) are not tests of correctness: they run
only when the pattern names them (scripts/bench does).

Run with /usr/bin/python3 so Debian's python3-* modules are importable.
Optional argument: a file name prefix (e.g. test_smtpd) to run a subset.
"""
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOWED_SKIPS = os.path.join(HERE, "allowed-skips.txt")
sys.path.insert(0, HERE)

from faketime_env import sweep_stale_shm  # noqa: E402


class CountingResult(unittest.TextTestResult):
    """TextTestResult that also counts the tests that passed (unittest
    itself only counts runs, and a class skipped in setUpClass is no run)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.passed = 0
        self.module_seconds = {}    # module name -> wall time of its tests
        self.last_stop = time.monotonic()

    def stopTest(self, test):
        # From the end of the test before: this test and its class and
        # module fixtures (the daemons, DNS servers and namespaces most of
        # the time goes into).
        super().stopTest(test)
        now = time.monotonic()
        module = test.id().split(".")[0]
        self.module_seconds[module] = self.module_seconds.get(module, 0.0) + now - self.last_stop
        self.last_stop = now

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1


def strict_about_skips():
    return os.geteuid() == 0 and os.environ.get("CI", "").lower() in ("true", "1", "yes")


def read_allowed_skips(path=ALLOWED_SKIPS):
    """{test id: reason}; a line without a reason is an error."""
    allowed = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return allowed
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{path}:{n}: '{test_id}' needs a reason")
        allowed[test_id] = reason.strip()
    return allowed


def skip_id(test):
    """The id of a skipped test; for a skip in setUpClass/setUpModule
    (unittest reports "setUpClass (module.Class)") the class or module."""
    m = re.fullmatch(r"setUp(?:Class|Module) \((.+)\)", test.id())
    return m.group(1) if m else test.id()


def is_allowed(test_id, allowed):
    return any(test_id == a or test_id.startswith(a + ".") for a in allowed)


def load(pattern):
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    if "bench" in pattern:
        return suite
    keep = unittest.TestSuite()
    for module_suite in suite:
        if not any(re.match(r"test_\w*_bench\.", t.id()) for t in iter_tests(module_suite)):
            keep.addTest(module_suite)
    return keep


def iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def main():
    pattern = sys.argv[1] + "*.py" if len(sys.argv) > 1 else "test_*.py"
    allowed = read_allowed_skips()
    strict = strict_about_skips()
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=CountingResult)
    sweep_stale_shm()
    result = runner.run(load(pattern))
    print(f"E2E-SHM-SWEPT {sweep_stale_shm()}")   # what killed faketime'd roles left
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = 0
    for test, reason in result.skipped:
        test_id = skip_id(test)
        if strict and not is_allowed(test_id, allowed):
            print(f"E2E-SKIP-FAIL {test_id}: {reason} "
                  f"(CI as root: not in {os.path.relpath(ALLOWED_SKIPS)})")
            bad += 1
        else:
            print(f"E2E-SKIP {test_id}: {reason}")
            skipped += 1
    # Where the time goes, fixtures included: make check has
    # a budget, and this says which file to look at first.
    for module, spent in sorted(result.module_seconds.items(), key=lambda kv: -kv[1]):
        print(f"E2E-TIME {module} {spent:.1f}s")
    print(f"E2E-RESULT passed={result.passed} failed={bad} skipped={skipped}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
