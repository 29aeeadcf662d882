"""tests/e2e/run.py - run every tests/e2e/test_*.py and print one
machine-readable line "E2E-RESULT passed=N failed=M" for scripts/run-tests.
Run with /usr/bin/python3 so Debian's python3-* modules are importable.
Optional argument: a unittest name pattern (e.g. test_smtpd) to run a subset.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

pattern = sys.argv[1] + "*.py" if len(sys.argv) > 1 else "test_*.py"
suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
good = result.testsRun - bad - len(result.skipped)
print(f"E2E-RESULT passed={good} failed={bad}")
sys.exit(1 if bad else 0)
