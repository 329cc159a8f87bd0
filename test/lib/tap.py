"""TAP for the Python tests, as test/lib/tap.sh is for the shell ones: check()
prints each check, numbered here, and done() prints the plan at the end and
returns the exit status (1 if a check failed)."""

count = failed = 0


def check(name, passed, diagnostic=""):
    """One check; when it failed, the diagnostic follows as # lines."""
    global count, failed
    count += 1
    print(f"{'ok' if passed else 'not ok'} {count} - {name}", flush=True)
    if not passed:
        failed += 1
        for line in str(diagnostic).splitlines() or [""]:
            print(f"# {line}")
    return passed


def done():
    print(f"1..{count}")
    return 1 if failed else 0
