"""``python -m portnet``: the ``portnet`` command."""

import sys

from .cli import main

sys.exit(main())
