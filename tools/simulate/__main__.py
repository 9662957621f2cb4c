from __future__ import annotations

from tools.simulate.cli import main

raise SystemExit(main())
