"""Every ``workflow.patched`` id, with the day it may be removed, and the code
level new workflows start at.

A patch keeps the histories of sessions started before a change replaying as
they ran. It may go once every such session has closed: a session lives at
most its expiry plus its retention (default 7 + 30 days; ``hookflow`` refuses
longer than a year of either), so each patch is kept about two months after it
landed, then removed with its old branch. ``tests/workflows/test_patches.py``
fails once a patch has outlived its day.
"""

from __future__ import annotations

from datetime import date

from temporalio import workflow

# Sessions resolve webhooks and make first attempts as local activities.
LOCAL_ACTIVITIES = "local-activities"
# A session whose handover did not fit in one payload tries again once fewer
# deliveries are open (before: on its next signal only).
HANDOVER_AFTER_DRAIN = "handover-after-drain"
# A standalone session stores its archive's files (sessions started before
# the storage integration existed go on without it).
STORAGE_AFTER_ARCHIVE = "storage-after-archive"
# The outbox records the transitions it decides in the delivery log, waits out
# put-offs itself, and sessions read their webhooks at every dispatch.
DELIVERY_LOG = "delivery-log"
# A process starts its stations under per-project ids (``session-<project>:<id>``;
# before: ``session-<id>``, one namespace for every project).
PROJECT_IDS = "project-ids"
# A session starts with one patch marker for all the above (each costs the
# server a marker and an upsert of TemporalChangeVersion), and upserts no
# search attribute its start (or its previous run) already set.
LEAN_START = "lean-start"
# A redelivery or release while a batch is under way leaves that batch at the
# head of its stream (before: all re-sorted, and the batch's outcome was read
# off the wrong deliveries).
RELEASE_BEHIND_BATCH = "release-behind-batch"

REMOVE_AFTER: dict[str, date] = {
    LOCAL_ACTIVITIES: date(2027, 2, 1),
    HANDOVER_AFTER_DRAIN: date(2027, 2, 1),
    STORAGE_AFTER_ARCHIVE: date(2027, 2, 1),
    DELIVERY_LOG: date(2027, 2, 15),
    PROJECT_IDS: date(2027, 2, 15),
    LEAN_START: date(2027, 2, 15),
    RELEASE_BEHIND_BATCH: date(2027, 2, 15),
}

CODE_MEMO = "hookflow-code"
"""The start memo holding the level of the code that started a workflow."""
LEVEL: dict[str, int] = {
    LOCAL_ACTIVITIES: 1,
    HANDOVER_AFTER_DRAIN: 1,
    STORAGE_AFTER_ARCHIVE: 1,
    DELIVERY_LOG: 1,
    PROJECT_IDS: 1,
    LEAN_START: 1,
}
"""Patches a level stands for. A level is only ever added, and only for patches
every worker already runs (shipped in an earlier release): a worker that has a
patch but runs a workflow started at a level naming it records no marker, and a
worker without it would take the old path where the level promises the new.
A patch new in this release (``RELEASE_BEHIND_BATCH``) has no level yet."""
CODE_LEVEL = max(LEVEL.values())
"""What this code starts workflows at: every change of that level is theirs
from the first task, without a marker (each ``workflow.patched`` costs the
server a marker event and an upsert of ``TemporalChangeVersion``)."""
START_MEMO = {CODE_MEMO: CODE_LEVEL}
"""The memo of every workflow hookflow starts."""


def takes(patch_id: str) -> bool:
    """Whether this run takes the change ``patch_id``: yes when the code that
    started it had the change (its memo is in the start event, so replay agrees),
    else as ``workflow.patched`` says (a workflow started before code levels, or a
    patch with no level yet).

    On replay the marker is still asked for: a worker that knew the patch but
    not the memo (an API upgraded before its workers) recorded one, and the
    history must find its command again. Asked on replay, ``workflow.patched``
    records nothing where the history has no marker."""
    level = workflow.memo_value(CODE_MEMO, default=0)
    if type(level) is int and level >= LEVEL.get(patch_id, CODE_LEVEL + 1):
        if workflow.unsafe.is_replaying():
            workflow.patched(patch_id)
        return True
    return workflow.patched(patch_id)
