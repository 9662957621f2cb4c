"""Telling the supervisors' consoles that the workload changed. One helper, called after a
write by whatever changed what the board shows (presence, a customer's message on a held
case, a control): the push is sent on commit, once per transaction."""

from __future__ import annotations

from conversations.events import SUPERVISORS_GROUP, WorkloadChanged, send_on_commit


def workload_changed_on_commit(*, user_ids: list[int] | None = None) -> None:
    """The consoles redraw their board and health strip after this transaction commits.
    `user_ids`: the change is these agents' alone (their rows are redrawn, not every row).
    Case changes (queued, assigned, resolved, transferred) need not call it: every one of
    them already tells the all-queues group, which the console hears too."""
    send_on_commit(SUPERVISORS_GROUP, WorkloadChanged(user_ids=sorted(set(user_ids or ()))))
