"""The folder of a batch's papers: fluxopt's marker, and moves that never delete others' files.

A batch writes its papers (decision tables, committee workbook, notices, summary, report)
into a **staging** folder beside the output folder, ``.<out>.staging-<run>``, then, once
the ledger has committed the batch, **publishes** them into the output folder. Every folder
fluxopt writes carries a marker file, :data:`MARKER` (``.fluxopt-batch.json``): the
instance, month, batch and run ids, the ledger's name and id, its kind (``staging``,
``published`` or ``retired``) and each file it wrote with the SHA-256 of its bytes.

Rules (:func:`check_out_folder`, run before anything is solved):

- a missing or empty output folder is written into;
- a folder whose marker is a published batch of the **same instance, month and ledger** is
  replaced, file by file: only the files its marker lists, each still as fluxopt wrote it;
  the files others added stay (papers of the same instance and month from another ledger:
  the same, with ``force`` only);
- any other non-empty folder is refused, and nothing in it is touched.

Publication (:func:`publish`) is three moves, each resumable: the old papers listed by the
old marker move to ``.<out>.retired-<run>`` (the old marker last), the new papers move from
staging into the folder, and the new marker is written last, so that a folder with a
published marker holds all of its papers. :func:`unpublish` runs the moves backwards.
Staging and retired folders are fluxopt's own (their name and marker say so): they are
removed when done, and those of runs killed earlier are removed by the next batch
(:func:`clean_leftovers`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import psutil

from fluxopt.ledger.store import now_text
from fluxopt.schema.problems import FluxoptError, RefusedError

MARKER = ".fluxopt-batch.json"
FORMAT = "fluxopt-batch-papers/1"
Kind = Literal["staging", "published", "retired"]
KINDS = ("staging", "published", "retired")


class MarkerError(ValueError):
    """A marker file that cannot be read as fluxopt's."""


@dataclass(frozen=True)
class Marker:
    """What a batch folder holds and whose it is."""

    kind: Kind
    instance: str
    month: str
    batch_id: str
    run_id: str
    ledger: str
    ledger_id: str
    inputs: str = ""
    """SHA-256 over the batch's input files (instance, tables, rules, grid)."""
    files: dict[str, str] = field(default_factory=dict)
    """Relative path (``/``-separated) → SHA-256 of the file's bytes."""
    written_at: str = ""
    host: str = ""
    pid: int = 0
    """Host and process that wrote a staging folder (a live one is never cleaned)."""

    def same_batch_slot(self, other: Marker) -> bool:
        """Both are papers of the same instance, month and ledger."""
        return (self.instance, self.month, self.ledger_id) == (
            other.instance,
            other.month,
            other.ledger_id,
        )

    def write(self, folder: Path) -> Path:
        """Write the marker into ``folder`` (atomically: a temporary file, then a rename)."""
        payload = {"format": FORMAT, **asdict(self), "written_at": self.written_at or now_text()}
        path = folder / MARKER
        temporary = folder / f"{MARKER}.{self.run_id}.tmp"
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", "utf-8")
        temporary.replace(path)
        return path


def read_marker(folder: Path) -> Marker | None:
    """The marker of ``folder``, ``None`` when it has none; :class:`MarkerError` if unreadable.

    The marker is a user-reachable file like any other: its paths must stay inside the
    folder (relative, no ``..``) and each hash must be 64 hexadecimal digits.
    """
    path = folder / MARKER
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarkerError(f"{path} is not readable: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MarkerError(f"{path} is not a fluxopt batch marker")
    text_fields = ("instance", "month", "batch_id", "run_id", "ledger", "ledger_id")
    values: dict[str, Any] = {}
    for name in (*text_fields, "inputs", "written_at"):
        value = data.get(name, "")
        if not isinstance(value, str) or (name in text_fields and not value):
            raise MarkerError(f"{path}: field {name!r} is missing or not text")
        values[name] = value
    kind, files = data.get("kind"), data.get("files")
    if kind not in KINDS or not isinstance(files, dict):
        raise MarkerError(f"{path}: field 'kind' or 'files' is not valid")
    host, pid = data.get("host", ""), data.get("pid", 0)
    if not isinstance(host, str) or not isinstance(pid, int):
        raise MarkerError(f"{path}: field 'host' or 'pid' is not valid")
    values.update(host=host, pid=pid)
    for name, digest in files.items():
        if not _inside(name) or not (isinstance(digest, str) and _is_digest(digest)):
            raise MarkerError(f"{path}: file entry {name!r} is not a path inside the folder")
    return Marker(kind=kind, files=dict(files), **values)


def digest_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def staging_dir(target: Path, run_id: str) -> Path:
    """Where a run writes its papers before publication."""
    return target.parent / f".{target.name}.staging-{run_id}"


def retired_dir(target: Path, run_id: str) -> Path:
    """Where a run's publication moves the papers it replaces, until it is done."""
    return target.parent / f".{target.name}.retired-{run_id}"


REFUSED_HINT = (
    "A batch writes into a new or empty folder, or replaces the papers of its own instance "
    "and month: choose another folder with --out (nothing was touched, solved or recorded)"
)


def check_out_folder(
    target: Path, slot: Marker, always_written: list[str], force: bool = False
) -> Marker | None:
    """Refuse a folder the batch may not write; return its marker when it is replaced.

    ``slot`` is the new batch's marker (its instance, month and ledger); ``always_written``
    the file names every batch writes, which may not be taken by files of others. Papers of
    the same instance and month published from another ledger are replaced only with
    ``force``.
    """
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise RefusedError(f"the output folder {target} is not a folder. {REFUSED_HINT}")
    if not target.exists() or not any(target.iterdir()):
        return None
    try:
        marker = read_marker(target)
    except MarkerError as exc:
        raise RefusedError(f"{exc}. {REFUSED_HINT}") from exc
    if marker is None:
        shown = sorted(p.name for p in target.iterdir())
        listed = ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
        raise RefusedError(
            f"the output folder {target} is not empty ({listed}) and holds no papers of a "
            f"fluxopt batch. {REFUSED_HINT}"
        )
    other_ledger = (marker.instance, marker.month) == (slot.instance, slot.month) and (
        marker.ledger_id != slot.ledger_id
    )
    if marker.kind == "published" and other_ledger and not force:
        raise RefusedError(
            f"the output folder {target} holds the papers of batch {marker.month} of instance "
            f"{marker.instance!r} published from another ledger ({marker.ledger}); pass --force "
            "to replace them (only the files that ledger's batch wrote), or choose another "
            "folder with --out (nothing was touched, solved or recorded)"
        )
    if marker.kind != "published" or not (marker.same_batch_slot(slot) or other_ledger):
        raise RefusedError(
            f"the output folder {target} holds the papers of batch {marker.month} of instance "
            f"{marker.instance!r} from the ledger {marker.ledger}; a batch replaces only the "
            f"papers of the same instance, month and ledger ({slot.month} of "
            f"{slot.instance!r}, ledger {slot.ledger}). {REFUSED_HINT}"
        )
    changed = [
        name
        for name, digest in sorted(marker.files.items())
        if (target / name).is_file() and digest_file(target / name) != digest
    ]
    taken = [
        name for name in always_written if (target / name).exists() and name not in marker.files
    ]
    if changed or taken:
        names = ", ".join(changed + taken)
        raise RefusedError(
            f"the output folder {target} holds files fluxopt would replace but did not write "
            f"as they are now ({names}): they were changed or added by someone; move them "
            "away, or choose another folder with --out (nothing was touched, solved or "
            "recorded)"
        )
    return marker


def open_staging(target: Path, marker: Marker) -> Path:
    """Create the run's staging folder with its marker; refuse when the folders are not writable.

    Checked before anything is solved: the staging folder (beside ``target``) can be
    created, and ``target``, when it exists, accepts a new file.
    """
    staging = staging_dir(target, marker.run_id)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        marker.write(staging)
        if target.exists():
            probe = target / f".fluxopt-probe-{marker.run_id}"
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        where = exc.filename or target
        raise RefusedError(
            f"cannot write the batch's papers in {target}: {exc.strerror or exc} ({where}); "
            "choose a folder you can write with --out (nothing was solved or recorded)"
        ) from exc
    return staging


def seal(staging: Path, inputs: str = "") -> Marker:
    """List every file written into the staging folder, with its hash, in its marker."""
    marker = read_marker(staging)
    if marker is None or marker.kind != "staging":
        raise FluxoptError(f"the staging folder {staging} was removed while the batch ran")
    files = {
        path.relative_to(staging).as_posix(): digest_file(path)
        for path in sorted(staging.rglob("*"))
        if path.is_file() and not path.name.startswith(MARKER)
    }
    sealed = replace(marker, files=files, inputs=inputs, written_at="")
    sealed.write(staging)
    return sealed


def publish(staging: Path, target: Path) -> Marker:
    """Move the staged papers into ``target``, retiring the old ones; resumable.

    1. the files listed by ``target``'s old marker move to the retired folder (whose marker
       is the old one), then the old marker is removed;
    2. each staged file moves into ``target`` (a file of someone else in the way stops the
       publication, untouched);
    3. the new marker is written; the retired and staging folders are removed.
    """
    new = read_marker(staging)
    if new is None or new.kind != "staging":
        current = read_marker(target) if target.is_dir() else None
        if current is not None and current.kind == "published":
            return current
        raise RefusedError(f"the staging folder {staging} of this batch is missing")
    retired = retired_dir(target, new.run_id)
    old = read_marker(target) if target.is_dir() else None
    if old is not None and old.run_id != new.run_id:
        retired.mkdir(exist_ok=True)
        replace(old, kind="retired").write(retired)
        for name in old.files:
            _move(target / name, retired / name)
        (target / MARKER).unlink()
    target.mkdir(parents=True, exist_ok=True)
    for name in new.files:
        source, destination = staging / name, target / name
        if source.is_file():
            if destination.exists():
                raise RefusedError(
                    f"{destination} is in the way of the batch's papers and fluxopt did not "
                    "write it; move it away, then finish the publication"
                )
            _move(source, destination)
    published = replace(new, kind="published", written_at="")
    published.write(target)
    _remove_own(retired)
    _remove_own(staging)
    _prune_empty(target, old.files if old is not None else {})
    return published


def unpublish(staging: Path, target: Path, run_id: str) -> None:
    """Undo a publication of run ``run_id`` that did not finish: the old papers back in place.

    New papers already moved into ``target`` are removed (those still in staging are left
    there), the retired papers move back with their marker, and the staging and retired
    folders are removed.
    """
    staged = _own_marker(staging, "staging", run_id)
    current = read_marker(target) if target.is_dir() else None
    retired = retired_dir(target, run_id)
    old = _own_marker(retired, "retired", None)
    retiring_done = current is None or current.run_id == run_id
    if retiring_done:
        listed = staged.files if staged is not None else (current.files if current else {})
        for name in listed:
            moved = target / name
            if not (staging / name).is_file() and moved.is_file():
                moved.unlink()
        if current is not None:
            (target / MARKER).unlink()
        _prune_empty(target, listed)
    if old is not None:
        for name in old.files:
            if (retired / name).is_file() and not (target / name).exists():
                _move(retired / name, target / name)
        if retiring_done:
            replace(old, kind="published").write(target)
    _remove_own(retired)
    _remove_own(staging)


def clean_leftovers(target: Path, ledger_id: str, keep: set[str]) -> list[Path]:
    """Remove staging and retired folders of ``target`` left by killed runs of this ledger.

    Only folders named like fluxopt's and holding fluxopt's marker of the same ledger are
    removed, except those of the runs in ``keep`` (half-published batches, still needed) and
    those whose writer still runs on this host. Called under the ledger's batch lock, so no
    other run of this ledger is writing (unless its lock was removed by hand).
    """
    parent = target.parent
    if not parent.is_dir():
        return []
    prefixes = (f".{target.name}.staging-", f".{target.name}.retired-")
    removed: list[Path] = []
    for entry in sorted(parent.iterdir()):
        if not entry.name.startswith(prefixes) or entry.is_symlink() or not entry.is_dir():
            continue
        if entry.name.rsplit("-", 1)[-1] in keep:
            continue
        try:
            marker = read_marker(entry)
        except MarkerError:
            continue
        if marker is None or marker.kind == "published" or marker.ledger_id != ledger_id:
            continue
        if marker.host == socket.gethostname() and marker.pid and psutil.pid_exists(marker.pid):
            continue
        shutil.rmtree(entry)
        removed.append(entry)
    return removed


def _own_marker(folder: Path, kind: Kind, run_id: str | None) -> Marker | None:
    try:
        marker = read_marker(folder) if folder.is_dir() else None
    except MarkerError:
        return None
    if marker is None or marker.kind != kind or (run_id and marker.run_id != run_id):
        return None
    return marker


def _remove_own(folder: Path) -> None:
    """Remove a staging or retired folder (fluxopt's own, recognised by its marker)."""
    if folder.is_dir() and not folder.is_symlink() and (folder / MARKER).is_file():
        shutil.rmtree(folder)


def _move(source: Path, destination: Path) -> None:
    if not source.is_file() or source.is_symlink():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    source.replace(destination)


def _prune_empty(folder: Path, names: dict[str, str]) -> None:
    """Remove the sub-folders of listed files that are left empty (deepest first)."""
    parents = {p for name in names for p in PurePosixPath(name).parents if str(p) != "."}
    for sub in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        path = folder / sub
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()


def _inside(name: object) -> bool:
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name != MARKER


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
