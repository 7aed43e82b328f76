"""`python -m orchestrator.cli`: the same as the `winterdays` command."""

import sys

from orchestrator.cli import main

sys.exit(main())
