"""`python -m bastion.cli`: the `bastion` command without its console script."""

import sys

from bastion.cli import main

if __name__ == "__main__":
    sys.exit(main())
