"""Build Deskchat's one-folder app and the installers for this platform.

    python build/package.py                 # freeze, then this OS's installers
    python build/package.py --formats deb   # only some installers
    python build/package.py --skip-freeze   # re-pack an existing dist/deskchat
    python build/package.py icons           # re-render build/assets/icons from the SVG

PyInstaller works in ``.pyinstaller/`` and writes the app folder under ``dist/``; installers
land in ``dist/`` too. On Linux there are two app folders, one per web engine: ``dist/gtk/deskchat``
(the system's WebKitGTK, for the .deb) and ``dist/qt/deskchat`` (Qt WebEngine bundled, for the
tarball); elsewhere it is ``dist/deskchat``. ``build/`` only holds these scripts and their
assets. docs/packaging.md explains each format and engine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
ASSETS = BUILD / "assets"
ICONS = ASSETS / "icons"
WORK = ROOT / ".pyinstaller"
DIST = ROOT / "dist"
APP_DIR = DIST / "deskchat"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
APP_NAME = "deskchat"
# Linux: ``deskchat`` in the app folder is build/linux/launcher.sh, which blocks the stop
# signals before the frozen program (PyInstaller's bootloader, renamed to this) starts.
FROZEN_NAME = "deskchat-bin"
LAUNCHER = BUILD / "linux" / "launcher.sh"

FORMATS = {
    "linux": ("deb", "tar"),
    "win32": ("inno",),
    "darwin": ("dmg",),
}
# Which web engine each Linux installer carries (docs/packaging.md, "Web engines").
LINUX_ENGINE = {"deb": "gtk", "tar": "qt"}


def version() -> str:
    """The app's version, read from the package without importing Django."""
    sys.path.insert(0, str(ROOT))
    from chatserver import __version__

    return __version__


def platform_key() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def run(command: Sequence[str | os.PathLike], **kwargs) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, **kwargs)


# --- the one-folder app ----------------------------------------------------------------------


def app_dir(engine: str | None) -> Path:
    """The one-folder app of ``engine`` (Linux), or the only one (Windows, macOS)."""
    return DIST / engine / APP_NAME if engine else APP_DIR


def work_dir(engine: str | None) -> Path:
    return WORK / (f"work-{engine}" if engine else "work")


def freeze(engine: str | None = None, *, clean: bool = False) -> Path:
    """Run PyInstaller on pyinstaller.spec for ``engine`` (Linux only); returns the app folder."""
    env = dict(os.environ)
    # Importing our packages during analysis must never touch a real data folder.
    scratch = WORK / "data"
    scratch.mkdir(parents=True, exist_ok=True)
    env["DESKCHAT_DATA_DIR"] = str(scratch)
    env.setdefault("PYTHONHASHSEED", "0")
    if engine:
        env["DESKCHAT_BUILD_ENGINE"] = engine
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--workpath",
        work_dir(engine),
        "--distpath",
        app_dir(engine).parent,
        ROOT / "pyinstaller.spec",
    ]
    if clean:
        command.insert(3, "--clean")
    run(command, cwd=ROOT, env=env)
    return app_dir(engine)


def add_launcher(app: Path) -> None:
    """Linux: make ``deskchat`` the launcher script and the frozen program ``deskchat-bin``
    (idempotent, for ``--skip-freeze``). The launcher is what people, menus and service
    managers start: it blocks SIGTERM/SIGINT before the bundled interpreter runs
    (docs/packaging.md, "Stopping during start-up")."""
    entry, program = app / APP_NAME, app / FROZEN_NAME
    if entry.is_file() and entry.read_bytes()[:4] == b"\x7fELF":
        entry.replace(program)  # fresh from PyInstaller
    if not program.is_file():
        raise SystemExit(f"no frozen program in {app}: run without --skip-freeze")
    shutil.copyfile(LAUNCHER, entry)
    entry.chmod(0o755)


def folder_size(path: Path) -> int:
    return sum(item.lstat().st_size for item in path.rglob("*") if item.is_file())


# --- Linux -----------------------------------------------------------------------------------


def deb_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    ).stdout.strip()


def install_desktop_files(root: Path, *, exec_path: str) -> None:
    """The .desktop entry and the hicolor icons under ``root/usr/share`` (or a tarball)."""
    share = root / "usr" / "share"
    applications = share / "applications"
    applications.mkdir(parents=True, exist_ok=True)
    entry = (BUILD / "linux" / "deskchat.desktop").read_text(encoding="utf-8")
    (applications / "deskchat.desktop").write_text(
        entry.replace("@EXEC@", exec_path), encoding="utf-8"
    )
    for size in ICON_SIZES:
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ICONS / f"deskchat-{size}.png", target / "deskchat.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "ui" / "static" / "img" / "icon.svg", scalable / "deskchat.svg")


def glibc_version() -> str:
    """The build machine's glibc: the frozen binaries need at least this one."""
    name, found = platform.libc_ver()
    return found if name == "glibc" and found else "2.31"


# What the GTK build needs from the system beyond the libraries it leaves out (those are
# found with dpkg -S, see system_packages): the typelibs PyGObject loads at run time.
GTK_DEPENDS = (
    "gir1.2-gtk-3.0",
    "gir1.2-webkit2-4.1",
    "libwebkit2gtk-4.1-0",
    "libgtk-3-0",
    "libgirepository-1.0-1",
    "libcairo2",
    "libglib2.0-0",
    "fonts-dejavu-core | fonts-liberation",
)


# Libraries Debian 13 and Ubuntu 24.04 renamed in the 64-bit time_t transition (same soname,
# package name + "t64"); Debian 12 and Ubuntu 22.04 have only the old names. Depends names
# both, ``new | old``, whichever side the build machine is on. Checked on packages.debian.org
# and packages.ubuntu.com (docs/packaging.md, "Package names across releases").
T64_RENAMED = frozenset(
    {"libglib2.0-0", "libgtk-3-0", "libpng16-16", "libssl3", "libatk1.0-0", "libcups2"}
)


def with_t64_alternative(name: str) -> str:
    """``libgtk-3-0`` (or ``libgtk-3-0t64``) → ``libgtk-3-0t64 | libgtk-3-0``."""
    old = name.removesuffix("t64")
    return f"{old}t64 | {old}" if old in T64_RENAMED else name


def system_packages(libraries: list[str]) -> list[str]:
    """The Debian packages that ship these library files (``dpkg -S``), without ``libc6``
    (its version bound is set apart). A library no package owns stops the build: the .deb
    would install without it."""
    packages: set[str] = set()
    for library in libraries:
        path = Path(library)
        candidates = {str(path), os.path.realpath(path)}
        candidates |= {c.removeprefix("/usr") for c in list(candidates) if c.startswith("/usr/")}
        candidates |= {"/usr" + c for c in list(candidates) if not c.startswith("/usr/")}
        owner = ""
        for candidate in sorted(candidates):
            found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if found.returncode == 0:
                owner = found.stdout.split(":", 1)[0].strip()
                break
        if not owner:
            raise SystemExit(f"no Debian package owns {library}; cannot depend on it")
        packages.update(name.strip() for name in owner.split(","))
    packages.discard("libc6")
    return sorted(packages)


def deb_depends(app: Path) -> str:
    """``Depends`` of the .deb: glibc, the engine's packages, and the owners of the system
    libraries pyinstaller.spec left out (listed in the GTK build's work folder)."""
    # PyInstaller's work folder for pyinstaller.spec (it appends the spec's name).
    listed = work_dir("gtk") / "pyinstaller" / "system-libraries.txt"
    if not (app / "_internal" / "gi").is_dir() or not listed.exists():
        raise SystemExit(f"{app} is not the GTK build (build it with the deb format)")
    libraries = [line for line in listed.read_text(encoding="utf-8").splitlines() if line]
    # coreutils: launcher.sh's ``env -S`` (8.30) and ``--block-signal`` (8.31); Essential, but
    # the version bound keeps the .deb off systems whose env lacks them.
    names = [f"libc6 (>= {glibc_version()})", "coreutils (>= 8.31)", *GTK_DEPENDS]
    names += [name for name in system_packages(libraries) if name not in GTK_DEPENDS]
    return ", ".join(dict.fromkeys(with_t64_alternative(name) for name in names))


def build_deb(app: Path, ver: str, *, compression: str = "xz") -> Path:
    """A .deb that installs to /opt/deskchat with /usr/bin/deskchat, menu entry and icons; its
    window is the system's WebKitGTK (the GTK build)."""
    arch = deb_arch()
    stage = WORK / "deb" / f"{APP_NAME}_{ver}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(app, stage / "opt" / APP_NAME, symlinks=True)
    bindir = stage / "usr" / "bin"
    bindir.mkdir(parents=True)
    (bindir / APP_NAME).symlink_to(f"/opt/{APP_NAME}/{APP_NAME}")
    install_desktop_files(stage, exec_path=f"/usr/bin/{APP_NAME}")
    doc = stage / "usr" / "share" / "doc" / APP_NAME
    doc.mkdir(parents=True)
    shutil.copy2(BUILD / "linux" / "copyright", doc / "copyright")

    debian = stage / "DEBIAN"
    debian.mkdir()
    installed_kib = (folder_size(stage) + 1023) // 1024
    control = (BUILD / "linux" / "control.in").read_text(encoding="utf-8")
    control = (
        control.replace("@VERSION@", ver)
        .replace("@ARCH@", arch)
        .replace("@INSTALLED_SIZE@", str(installed_kib))
        .replace("@DEPENDS@", deb_depends(app))
    )
    (debian / "control").write_text(control, encoding="utf-8")
    for script in ("postinst", "postrm"):
        shutil.copy2(BUILD / "linux" / script, debian / script)
        (debian / script).chmod(0o755)
    for path in [stage, *stage.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)

    DIST.mkdir(exist_ok=True)
    output = DIST / f"{APP_NAME}_{ver}_{arch}.deb"
    # xz -6 (Debian's default) gives the smallest download; gzip is for quick local rebuilds.
    level = {"xz": "6", "gzip": "6", "zstd": "19"}[compression]
    run(
        [
            "dpkg-deb",
            "--root-owner-group",
            f"-Z{compression}",
            f"-z{level}",
            "--build",
            stage,
            output,
        ]
    )
    shutil.rmtree(stage)
    return output


def build_tarball(app: Path, ver: str, **_: object) -> Path:
    """A portable deskchat-VERSION/ folder: unpack anywhere and run ./deskchat."""
    machine = platform.machine().lower() or "unknown"
    top = f"{APP_NAME}-{ver}"
    output = DIST / f"{APP_NAME}-{ver}-linux-{machine}.tar.gz"
    extras = WORK / "tar-extras"
    if extras.exists():
        shutil.rmtree(extras)
    install_desktop_files(extras, exec_path=APP_NAME)
    with tarfile.open(output, "w:gz", compresslevel=6) as tar:
        tar.add(app, arcname=top)
        tar.add(
            extras / "usr" / "share" / "applications" / "deskchat.desktop",
            arcname=f"{top}/deskchat.desktop",
        )
        tar.add(ICONS / "deskchat-256.png", arcname=f"{top}/deskchat.png")
        # It bundles PyQt6: the licence terms that come with it (docs/packaging.md).
        tar.add(BUILD / "linux" / "copyright-qt", arcname=f"{top}/copyright")
    shutil.rmtree(extras)
    return output


# --- Windows and macOS (run by .github/workflows/release.yml) -------------------------------


def build_inno(app: Path, ver: str, **_: object) -> Path:
    """An Inno Setup installer from dist/deskchat (needs ISCC.exe on PATH)."""
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        raise SystemExit("Inno Setup's ISCC.exe is not on PATH (choco install innosetup)")
    defines = [
        f"/DAppVersion={ver}",
        f"/DSourceDir={app}",
        f"/DOutputDir={DIST}",
        f"/DIconFile={ICONS / 'deskchat.ico'}",
    ]
    # The release workflow downloads Microsoft's WebView2 bootstrapper here, if it can.
    bootstrapper = WORK / "MicrosoftEdgeWebview2Setup.exe"
    if bootstrapper.exists():
        defines.append(f"/DWebView2Bootstrapper={bootstrapper}")
    run([iscc, *defines, BUILD / "windows" / "deskchat.iss"])
    return DIST / f"Deskchat-{ver}-setup.exe"


def build_dmg(app: Path, ver: str, **_: object) -> Path:
    """Deskchat.app and an Applications link in a compressed disk image (hdiutil)."""
    bundle = DIST / "Deskchat.app"
    stage = WORK / "dmg"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    run(["ditto", bundle, stage / "Deskchat.app"])  # keeps symlinks, signatures, xattrs
    (stage / "Applications").symlink_to("/Applications")
    output = DIST / f"Deskchat-{ver}-macos-{platform.machine()}.dmg"
    run(
        [
            "hdiutil",
            "create",
            "-volname",
            "Deskchat",
            "-srcfolder",
            stage,
            "-ov",
            "-format",
            "UDZO",
            output,
        ]
    )
    identity = os.environ.get("DESKCHAT_CODESIGN_IDENTITY")
    if identity:
        run(["codesign", "--sign", identity, "--timestamp", output])
    return output


BUILDERS = {"deb": build_deb, "tar": build_tarball, "inno": build_inno, "dmg": build_dmg}


# --- measurements (docs/benchmarks.md) ------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) a process has used so far; Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_health(
    executable: Path, data_dir: Path, timeout: float = 60.0
) -> tuple[float, float | None]:
    """Seconds from process start until ``/healthz`` answers 200 (the server is serving), and
    the CPU seconds the process used meanwhile (steadier than wall time on a busy machine)."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/healthz"
    started = time.perf_counter()
    process = subprocess.Popen(
        [executable, "--headless", "--port", str(port), "--data-dir", data_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(url, timeout=1) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - started, cpu_seconds(process.pid)
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"{executable} exited with {process.returncode}") from None
                time.sleep(0.005)
        raise SystemExit(f"{url} did not answer within {timeout} s")
    finally:
        process.terminate()
        process.wait(15)


def measure(runs: int = 5) -> None:
    """Bundle and installer sizes, and start-up time (median of ``runs``) of each app folder."""
    for installer in sorted(DIST.glob("*.deb")) + sorted(DIST.glob("*.tar.gz")):
        print(f"{installer.name}: {installer.stat().st_size / 2**20:.1f} MiB")
    engines = ("gtk", "qt") if platform_key() == "linux" else (None,)
    for engine in engines:
        if app_dir(engine).is_dir():
            measure_app(app_dir(engine), runs)


def measure_app(app: Path, runs: int) -> None:
    import statistics
    import tempfile

    # On Windows the console twin prints; the windowed Deskchat.exe has no stdout.
    executable = app / ("deskchat-cli.exe" if sys.platform == "win32" else APP_NAME)
    print(f"app folder: {folder_size(app) / 2**20:.1f} MiB ({app})")
    with tempfile.TemporaryDirectory(prefix="deskchat-measure-") as scratch:
        data = Path(scratch) / "data"
        first, _ = time_to_health(executable, data)  # creates the database and migrates
        runs_ = [time_to_health(executable, data) for _ in range(runs)]
    times = [wall for wall, _ in runs_]
    cpu = [used for _, used in runs_ if used is not None]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"first start (empty data folder, migrations): {first:.2f} s")
    print(
        f"start to /healthz, median of {runs}: {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}; load average {load:.1f} "
        f"on {os.cpu_count()} cores)"
    )
    if cpu:
        print(f"CPU time used until /healthz, median: {statistics.median(cpu):.2f} s")


# --- icons -----------------------------------------------------------------------------------


def render_icons() -> None:
    """Render ui/static/img/icon.svg to PNGs (and a Windows .ico) with Qt's SVG renderer.

    The PNGs are committed so Windows and macOS builds need no SVG tool; re-run this after the
    SVG changes.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PyQt6.QtGui import QGuiApplication, QImage, QPainter
    from PyQt6.QtSvg import QSvgRenderer

    _app = QGuiApplication([])
    renderer = QSvgRenderer(str(ROOT / "ui" / "static" / "img" / "icon.svg"))
    ICONS.mkdir(parents=True, exist_ok=True)
    ico_images: list[bytes] = []
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"deskchat-{size}.png"))
        if size <= 256:
            data = QByteArray()
            buffer = QBuffer(data)
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")
            ico_images.append((size, bytes(data)))
    write_ico(ICONS / "deskchat.ico", ico_images)
    print(f"rendered {len(ICON_SIZES)} PNGs and deskchat.ico in {ICONS.relative_to(ROOT)}")


def write_ico(path: Path, images: list[tuple[int, bytes]]) -> None:
    """A .ico holding PNG-compressed images (valid since Windows Vista)."""
    import struct

    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in images:
        side = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    path.write_bytes(header + entries + blobs)


# --- command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="package.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command",
        nargs="?",
        default="all",
        choices=["all", "icons", "measure"],
        help="all: build (default); icons: re-render icons; "
        "measure: size and start time of dist/deskchat",
    )
    parser.add_argument(
        "--formats",
        default=None,
        help=f"comma-separated installers to build (default for this OS: "
        f"{','.join(FORMATS.get(platform_key(), ()))}; 'none' for only the app folder)",
    )
    parser.add_argument(
        "--skip-freeze",
        action="store_true",
        help="re-use dist/deskchat instead of running PyInstaller",
    )
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument(
        "--compression",
        default="xz",
        choices=["xz", "zstd", "gzip"],
        help=".deb compression (default xz, the smallest; gzip builds fastest)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "icons":
        render_icons()
        return 0
    if args.command == "measure":
        measure()
        return 0
    if args.formats is None:
        formats = list(FORMATS.get(platform_key(), ()))
    elif args.formats == "none":
        formats = []
    else:
        formats = [item.strip() for item in args.formats.split(",") if item.strip()]
    unknown = set(formats) - BUILDERS.keys()
    if unknown:
        raise SystemExit(f"unknown format(s): {', '.join(sorted(unknown))}")
    ver = version()
    if platform_key() == "linux":
        # One app folder per engine the chosen installers carry (both for 'none').
        engines = sorted({LINUX_ENGINE[name] for name in formats} or set(LINUX_ENGINE.values()))
    else:
        engines = [None]
    apps = {}
    for engine in engines:
        app = app_dir(engine) if args.skip_freeze else freeze(engine, clean=args.clean)
        if not (app / ("deskchat-cli.exe" if sys.platform == "win32" else APP_NAME)).exists():
            raise SystemExit(f"no frozen app in {app}: run without --skip-freeze")
        if platform_key() == "linux":
            add_launcher(app)
        print(f"app folder: {app} ({folder_size(app) / 2**20:.1f} MiB)")
        apps[engine] = app
    for name in formats:
        app = apps[LINUX_ENGINE[name] if platform_key() == "linux" else None]
        output = BUILDERS[name](app, ver, compression=args.compression)
        print(f"{name}: {output} ({output.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
