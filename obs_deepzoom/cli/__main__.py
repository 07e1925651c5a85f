"""`python -m obs_deepzoom.cli`: the `deepzoom` command."""

import sys

from . import main

sys.exit(main())
