"""Builds libbackendai with cargo and bundles it in the wheel, next to the package's modules.

The Rust sources are those of the repository this directory belongs to (two levels up), so
the wheel is built from a checkout: ``pip install ./bindings/python`` or
``pip wheel ./bindings/python``. The wheel holds one native library and no Python extension,
so it is tagged ``py3-none-<platform>``: any Python 3 on that platform can use it.

Environment: ``BACKENDAI_CARGO_PROFILE`` (``release``, the default, or ``debug``),
``CARGO_TARGET_DIR`` (cargo's own), ``CARGO`` (the cargo command).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1 (a build without isolation)
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB_NAMES = {"linux": "libbackendai.so", "darwin": "libbackendai.dylib", "win32": "backendai.dll"}


def build_library() -> Path:
    """Runs cargo on the repository's crate; returns the built shared library."""
    if not (REPO / "Cargo.toml").is_file():
        sys.exit(f"backendai-native: {REPO / 'Cargo.toml'} not found; build the package from a "
                 "checkout of the libbackendai repository (pip install ./bindings/python)")
    profile = os.environ.get("BACKENDAI_CARGO_PROFILE", "release")
    if profile not in ("release", "debug"):
        sys.exit(f"backendai-native: BACKENDAI_CARGO_PROFILE must be release or debug, not {profile!r}")
    cmd = [os.environ.get("CARGO", "cargo"), "build", "--lib", "--manifest-path", str(REPO / "Cargo.toml")]
    if profile == "release":
        cmd.append("--release")
    print("backendai-native: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    lib = target / profile / LIB_NAMES.get(sys.platform, "libbackendai.so")
    if not lib.is_file():
        sys.exit(f"backendai-native: cargo left no {lib}")
    return lib


class BuildWithLibrary(build_py):
    """The usual build_py, then the freshly built library copied into the package."""

    def run(self):
        super().run()
        lib = build_library()
        dest = Path(self.build_lib) / "backendai_native" / lib.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)


class NativeDistribution(Distribution):
    """Carries a native file: built into the platform-specific tree, installed to platlib."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """A platform wheel (it carries a native library) usable by any Python 3."""

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(distclass=NativeDistribution, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
