"""A delivery's state machine: one event to one webhook, from queued to its end.

```
            +-----------------------------+
            v                             |
 (new) -> pending --attempt ok--> delivered --redeliver--+
           |  ^ \\                                        |
  put off  |  |  \\--ladder exhausted--> failed --redeliver--> pending
           v  |   \\                      (alerted once)
         waiting   \\--webhook paused, or behind a failed one--> held --released--> pending
                    \\--webhook deleted--> skipped
```

- ``pending``: queued, or an attempt failed and the next step of the ladder is
  due at ``next_attempt_at``. An attempt under way is not a state of its own:
  recording it would double the log's writes per attempt; its row says
  ``pending`` with the attempts made so far.
- ``waiting``: put off without an attempt (the webhook's rate limit, its open
  circuit, its bulkhead on a worker) until ``next_attempt_at``. Waiting is
  never an attempt: no step of the ladder, no Temporal attempt, no attempt row.
- ``held``: the webhook is paused (disabled), or a delivery before it in the
  same (session, webhook) stream failed; released in order by enabling the
  webhook or redelivering the failed one.
- ``delivered``, ``failed``, ``skipped``: settled. ``failed`` is decided in one
  place, by the ladder (its steps), and alerted once.

The code that makes a transition records it in the delivery log: the delivery
activity for attempts and put-offs, the session's outbox (through the
``record_deliveries`` activity) for holds, releases, skips and failures it
decides itself. Every reader (the session's ``state``, ``sessions show``,
``deliveries list/show``, the API, the pane) reads that one record.
"""

from __future__ import annotations

from activities.contracts.base import DeliveryStatus

P, W, D, F, H, S = (
    DeliveryStatus.PENDING,
    DeliveryStatus.WAITING,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.HELD,
    DeliveryStatus.SKIPPED,
)

TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    P: frozenset({P, W, D, F, H, S}),
    W: frozenset({P, W, D, F, H, S}),
    # A paused stream tries again now and then: the webhook may be enabled by then.
    H: frozenset({P, W, D, F, H, S}),
    F: frozenset({P, F}),  # redelivered (or its error completed: sent to the failover URL)
    D: frozenset({P}),  # sent again on request
    S: frozenset(),
}

OPEN = frozenset({P, W, H, F})
"""Kept by the session (and carried over continue-as-new) until settled for good."""
SENDING = frozenset({P, W})
"""The session's own ladder is on it: a redelivery would be a second ladder."""
SETTLED = frozenset({D, F, S})


class BadTransition(ValueError):
    pass


def move(old: DeliveryStatus, new: DeliveryStatus) -> DeliveryStatus:
    """``new``, when a delivery in ``old`` may go there (``BadTransition`` if not)."""
    if new not in TRANSITIONS[old]:
        raise BadTransition(f"a {old} delivery cannot become {new}")
    return new
