"""`python -m fastsheet.cli`: the `fastsheet` command."""

import sys

from fastsheet.cli import main

if __name__ == "__main__":
    sys.exit(main())
