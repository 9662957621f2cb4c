"""A simulated AI platform that streams scripted shop conversations over handover protocol v1.

It is a client of the wire protocol only (docs/protocol.md) and imports nothing from the
server, so it exercises the desk exactly as an outside platform would. Its scripts are
`scenarios.json`; its products are the demo shop's catalog (`desk/demo_data/catalog.json`).
Run it as `python -m tools.simulate` or `manage.py simulate`.
"""

from __future__ import annotations

from tools.simulate.cast import CastMember, cast_load, cast_vars
from tools.simulate.cli import DESCRIPTION, add_simulate_arguments, main, run_from_options
from tools.simulate.client import SimulationTotals, run_simulation
from tools.simulate.data import catalog, scripts
from tools.simulate.errors import SimulationError

__all__ = [
    "DESCRIPTION",
    "CastMember",
    "SimulationError",
    "SimulationTotals",
    "add_simulate_arguments",
    "cast_load",
    "cast_vars",
    "catalog",
    "main",
    "run_from_options",
    "run_simulation",
    "scripts",
]
