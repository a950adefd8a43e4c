"""Shared helpers of the scripted tests (tests/*_test.py): soft checks that
collect every failure, and one closing line ctest-readable runners print.
"""
import sys

failures = []


def check(condition, message):
    """Records a failure (and prints it) instead of stopping at the first."""
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def fail(message):
    """Records an unconditional failure (a check whose condition was computed
    elsewhere)."""
    check(False, message)


def finish():
    """Prints the closing line and exits non-zero if any check failed."""
    print(f"{len(failures)} failed" if failures else "all checks passed")
    sys.exit(1 if failures else 0)
