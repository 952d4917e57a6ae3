r"""Paths taken from data stay inside their folder.

An instance or scenario file is untrusted: the names and paths it gives must not make
fluxopt read or write outside the folder they belong to.

- A **name** used as one component of an output path (``instance.yaml``'s ``name``, which
  gives ``out/<name>/<month>``; a sweep's ``name``, which gives ``sweep-<name>``) is a
  plain file name: not empty, not ``.`` or ``..``, without ``/``, ``\``, a drive
  (``C:``) or a control character (:func:`name_problem`).
- A **relative path** a file names (a table of ``instance.yaml``, a grid or constraint-set
  file it or a scenario names) is relative, without a ``..`` part, and when it exists it
  resolves inside its folder, so a symbolic link may not lead out of it
  (:func:`path_problem`, :func:`escapes`).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DRIVE = re.compile(r"^[A-Za-z]:")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one component of a path, or ``None`` when it can."""
    if not name.strip():
        return "is empty"
    if name in (".", ".."):
        return f"{name!r} is not a name"
    if "/" in name or "\\" in name:
        return f"{name!r} holds a path separator (/ or \\); use a plain name"
    if DRIVE.match(name):
        return f"{name!r} starts with a drive; use a plain name"
    control = CONTROL.search(name)
    if control:
        return f"{name!r} holds the control character U+{ord(control.group()):04X}"
    return None


def path_problem(text: str) -> str | None:
    """Why a relative path named in a file is refused (absolute or with ``..``), or ``None``."""
    if not text.strip():
        return "is empty"
    if CONTROL.search(text):
        return f"{text!r} holds a control character"
    windows = PureWindowsPath(text)
    if PurePosixPath(text).is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        return f"{text!r} is an absolute path; give a path relative to its folder"
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        return f"{text!r} leaves its folder (..); give a path inside it"
    return None


def escapes(folder: Path, relative: str) -> bool:
    """Whether ``folder / relative`` exists and resolves outside ``folder`` (symbolic link)."""
    path = folder / relative
    if not (path.exists() or path.is_symlink()):
        return False
    return not path.resolve().is_relative_to(folder.resolve())


def looks_like_path(text: str) -> bool:
    """Whether a grid or constraint-set entry names a file rather than a bundled name."""
    return "/" in text or "\\" in text or text.lower().endswith((".yaml", ".yml"))
