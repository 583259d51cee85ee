"""``python -m cli`` is the ``dq`` command."""

import sys

from cli import main

sys.exit(main())
