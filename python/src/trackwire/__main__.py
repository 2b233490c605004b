"""`python -m trackwire`: the command line."""

import sys

from trackwire.cli import main

sys.exit(main())
