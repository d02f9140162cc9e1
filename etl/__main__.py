"""`python -m etl run | refresh | schedule | export | migrate` (the commands live in etl/jobs/cli.py)."""

from __future__ import annotations

import sys

from etl.jobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
