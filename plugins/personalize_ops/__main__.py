"""Entry point: ``python -m personalize_ops <command>`` (see cli.py)."""

import sys

from personalize_ops.cli import main

sys.exit(main())
