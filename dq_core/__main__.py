"""``python -m dq_core`` is the ``dq`` command."""

import sys

from dq_core.cli import main

sys.exit(main())
