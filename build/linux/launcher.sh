#!/usr/bin/env -S --block-signal=TERM,INT /bin/sh
# Deskchat's Linux entry: the .deb's /usr/bin/deskchat (through a symlink) and the tarball's
# ./deskchat. The kernel starts GNU env first (coreutils >= 8.31), which blocks SIGTERM and
# SIGINT within about a millisecond; the block survives both execs, so a stop sent while the
# bundled Python is still starting stays pending until the app's handler is in place
# (desktop/shutdown.py unblocks it) and becomes a clean stop instead of killing the process.
# The frozen program sits next to this script's real location.
real=$(readlink -f "$0")
exec "${real%/*}/deskchat-bin" "$@"
