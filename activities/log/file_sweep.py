"""Retention's file sweeps: documents no delivery names, and stored archives,
older than a cutoff (``retention.py`` decides the cutoffs)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from activities.files.documents import REF_PREFIX

DIGEST = re.compile(r"^[0-9a-f]{64}$")
"""A document's file name: its SHA-256."""


def _older(path: Path, cutoff: datetime) -> bool:
    try:
        return path.stat().st_mtime < cutoff.timestamp()
    except FileNotFoundError:
        return False


def sweep_documents(root: Path, cutoff: datetime, named: set[str], dry_run: bool) -> int:
    """Documents older than ``cutoff`` that nothing in the log names: each
    project's (``<root>/projects/<project>/``) and those stored before documents
    belonged to a project (``<root>/``). A reference named in any project's log
    keeps the file in every project (the cautious side)."""
    if not root.is_dir():
        return 0
    projects = root / "projects"
    folders = (
        [root, *(p for p in projects.iterdir() if p.is_dir())] if projects.is_dir() else [root]
    )
    removed = 0
    for path in (path for folder in folders for path in folder.iterdir()):
        if not (DIGEST.match(path.name) and path.is_file()):
            continue
        if REF_PREFIX + path.name in named or not _older(path, cutoff):
            continue
        if not dry_run:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def sweep_tree(root: Path, cutoff: datetime, *, skip: Iterable[Path], dry_run: bool) -> int:
    """Files under ``root`` (but not under ``skip``) older than ``cutoff``;
    folders left empty go too (never ``root`` itself)."""
    if not root.is_dir():
        return 0
    skipped = {str(path) for path in skip}
    removed = 0
    for current, _folders, files in os.walk(root, topdown=False):
        here = Path(current)
        if any(str(here) == s or str(here).startswith(s + os.sep) for s in skipped):
            continue
        for name in files:
            path = here / name
            if _older(path, cutoff):
                if not dry_run:
                    path.unlink(missing_ok=True)
                removed += 1
        if here != root and not dry_run and not any(here.iterdir()):
            here.rmdir()
    return removed
