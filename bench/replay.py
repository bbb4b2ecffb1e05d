"""How fast histories replay against today's workflow code, in histories per second.

    .venv/bin/python bench/replay.py [--rounds 20]

Replays every recorded history of ``tests/workflows/histories/`` (complaints, reports and
mediations of every path) ``--rounds`` times with ``scripts/replay.py``'s replayer, one
after another as the command does, and prints the rate. It asserts no timing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.replay import from_files, replay  # noqa: E402

HISTORIES = sorted((ROOT / "tests" / "workflows" / "histories").glob("*.json"))


async def rounds(count: int) -> list[float]:
    histories = from_files(HISTORIES)
    rates = []
    for _ in range(count):
        outcome = await replay(histories)
        if outcome.divergences:
            raise SystemExit(f"nondeterministic: {outcome.divergences}")
        rates.append(outcome.replayed / outcome.seconds)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    events = sum(p.read_text().count('"eventId"') for p in HISTORIES)
    rates = sorted(asyncio.run(rounds(args.rounds)))
    print(
        f"{len(HISTORIES)} histories ({events} events), {args.rounds} rounds: median "
        f"{statistics.median(rates):.1f} histories/s (min {rates[0]:.1f}, max {rates[-1]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
