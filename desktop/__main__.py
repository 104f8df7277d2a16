"""``python -m desktop`` and the frozen ``deskchat``: catch stop signals before anything else
is imported (desktop/shutdown.py), then run ``desktop.cli.main``."""

from desktop import shutdown

shutdown.install()

import sys  # noqa: E402

from desktop.cli import main  # noqa: E402

sys.exit(main())
