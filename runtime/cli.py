"""`orchestrator`: the operators' and analysts' commands, one entry point.

    orchestrator replay log --schema NAME [filters]        the event log and its views, rebuilt from the topics
    orchestrator replay export --out PATH [filters]        events to Parquet or CSV
    orchestrator replay context [--conversation ...]       the responder's conversation context in Redis
    orchestrator replay dialogue [...]                     actions' dialogue state (its own replay)

Each command is its service's own module's `main(argv)`, imported by name when asked for: nothing
here imports a service, so services stay independent of each other.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

COMMANDS = {
    ("replay", "log"): ("services.logger.replay", ["log"]),
    ("replay", "export"): ("services.logger.replay", ["export"]),
    ("replay", "context"): ("services.responder.replay_context", []),
    ("replay", "dialogue"): ("services.actions.replay", []),
}


def usage() -> str:
    return (__doc__ or "").split("\n\n")[1]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    key = tuple(args[:2])
    if key not in COMMANDS:
        print(f"usage:\n{usage()}", file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    module, leading = COMMANDS[key]
    command: Callable[[Sequence[str]], int] = importlib.import_module(module).main
    try:
        return command([*leading, *args[2:]])
    except SystemExit as exit_:  # argparse: --help, or a usage error
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
