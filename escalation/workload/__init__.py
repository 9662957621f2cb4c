"""Workload: how hard each contact is, the board and index built on it (difficulty.py,
board.py), and what supervisors do about it: controls and alerts (controls.py, alerts.py)."""
