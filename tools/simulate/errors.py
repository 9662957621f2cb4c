from __future__ import annotations


class SimulationError(Exception):
    """The run cannot go on (for example the server refused the token)."""
