"""The case lifecycle, in one place: open, prepare, queue, assign, pick, requeue, sweep,
transfer and resolve (lifecycle.py, routing.py), the work a person does on a case (work.py),
and the one access path to a case for a person (access.py)."""
