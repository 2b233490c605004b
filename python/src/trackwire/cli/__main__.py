"""`python -m trackwire.cli`."""

import sys

from trackwire.cli import main

sys.exit(main())
