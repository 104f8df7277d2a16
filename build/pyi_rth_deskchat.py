"""PyInstaller runtime hook: name the bundled web engine before pywebview looks for one.

Runs before ``desktop/__main__.py`` inside the frozen app only. A Linux bundle holds exactly
one engine (pyinstaller.spec, docs/packaging.md): PyQt6 + Qt WebEngine (the tarball) or
PyGObject for the system's WebKitGTK (the .deb). Naming it spares pywebview and QtPy their
probing (each failed probe costs start-up time and logs noise).
"""

import os
import sys

if sys.platform.startswith("linux"):
    if os.path.isdir(os.path.join(sys._MEIPASS, "PyQt6")):
        os.environ.setdefault("PYWEBVIEW_GUI", "qt")
        os.environ.setdefault("QT_API", "pyqt6")
    else:
        os.environ.setdefault("PYWEBVIEW_GUI", "gtk")
