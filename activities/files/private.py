"""Files only hookflow's own user can read: documents and stored archives hold
personal data, so their folders are 0700 and their files 0600."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, root: Path | None = None) -> Path:
    """Create ``path`` (and every folder between ``root`` and it) as 0700; folders
    that already exist there are made 0700 too."""
    top = root or path
    top.parent.mkdir(parents=True, exist_ok=True)
    folders = [top]
    for part in path.relative_to(top).parts:
        folders.append(folders[-1] / part)
    for folder in folders:
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        if folder.stat().st_mode & 0o777 != DIR_MODE:
            folder.chmod(DIR_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file, whatever the file's mode was."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(data)
