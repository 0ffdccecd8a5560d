"""``python -m stratalog``: the same command line as the ``stratalog`` script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
