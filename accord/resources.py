"""Find accord's declarative content: the shipped ``mappings/`` and ``rules/`` folders.

The folders sit at the top of a source checkout, where analysts edit them, and inside the
wheel at ``accord/_content/``, where an installed package finds them. :func:`content_root`
is the one place that decides which applies.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["content_root", "mappings_dir", "rules_dir", "samples_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def content_root() -> Path:
    """The folder holding ``mappings/`` and ``rules/``.

    An installed wheel carries them in ``accord/_content``; a source checkout (including an
    editable install) has them next to the ``accord`` package.

    >>> (content_root() / "mappings").is_dir()
    True
    """
    return _resolve(_PACKAGE_DIR)


def _resolve(package_dir: Path) -> Path:
    bundled = package_dir / "_content"
    if (bundled / "mappings").is_dir():
        return bundled
    checkout = package_dir.parent
    if (checkout / "mappings").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    raise FileNotFoundError(
        f"accord's mappings/ and rules/ were found neither in {bundled} nor in {checkout}; "
        "the installation is incomplete"
    )


def mappings_dir() -> Path:
    """The shipped mapping specs, one folder per channel."""
    return content_root() / "mappings"


def rules_dir() -> Path:
    """The shipped rule packs."""
    return content_root() / "rules"


def samples_dir() -> Path:
    """Bundled sample payloads used by the Quickstart's main job."""
    return content_root() / "samples"
