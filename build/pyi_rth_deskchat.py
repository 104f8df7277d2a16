"""PyInstaller runtime hook: pick the bundled web engine before pywebview looks for one.

Runs before ``desktop/__main__.py`` inside the frozen app only. On Linux the bundle holds
PyQt6 + Qt WebEngine and nothing else, so pywebview and QtPy need not probe for GTK or other
Qt bindings (each failed probe costs start-up time and logs noise).
"""

import os
import sys

if sys.platform.startswith("linux"):
    os.environ.setdefault("PYWEBVIEW_GUI", "qt")
    os.environ.setdefault("QT_API", "pyqt6")
