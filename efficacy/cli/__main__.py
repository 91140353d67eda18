"""``python -m efficacy.cli``: the ``efficacy`` command line."""

import sys

from efficacy.cli import main

sys.exit(main())
