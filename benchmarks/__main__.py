"""``python -m benchmarks [--quick]``: print each figure as a JSON line, keep them in results/."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import run_all

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs (whole run < 2 min)")
    args = parser.parse_args(argv)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = RESULTS_DIR / f"{stamp}{'-quick' if args.quick else ''}.jsonl"
    with results.open("w", encoding="utf-8") as saved:
        for measurement in run_all(quick=args.quick):
            # The load next to each figure: on a shared machine it explains a slow one.
            line = json.dumps({**measurement.to_dict(), "load_average_1m": round(os.getloadavg()[0], 2)})
            print(line, flush=True)
            saved.write(line + "\n")
            saved.flush()
    shutil.copyfile(results, RESULTS_DIR / "latest.jsonl")
    print(f"saved to {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
