"""python3 -m trisim ARGS: runs the trisim command line (for environments
where the compiled module does not import). The binary is $TRISIM_BINARY,
else `trisim` next to this package's build tree or install prefix, else on
PATH. The exit code is trisim's (0 pass, 1 bad data, 2 usage, 3 check
failed)."""
import os
import shutil
import subprocess
import sys


def find_binary():
    env = os.environ.get("TRISIM_BINARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(here, "..", "..", "trisim"),  # build/apps/python/trisim
        os.path.join(here, "..", "..", "..", "..", "bin", "trisim"),  # prefix
    ]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.normpath(c)
    return shutil.which("trisim")


def main(argv):
    binary = find_binary()
    if not binary:
        sys.stderr.write("trisim: error: no trisim binary found "
                         "(set TRISIM_BINARY or put trisim on PATH)\n")
        return 2
    return subprocess.call([binary] + argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
