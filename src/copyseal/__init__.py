"""copyseal: a copyright registry for micro-content, verifiable offline."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The version is written once, in pyproject.toml; the installed metadata carries it.
    __version__ = version("copyseal")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
