"""``python -m mbo.cli`` = ``mbo``."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
