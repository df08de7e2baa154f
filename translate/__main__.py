"""`python -m translate` (and `torchrun -m translate`) runs the command-line interface."""
import sys

from translate.cli import main

if __name__ == "__main__":
    sys.exit(main())
