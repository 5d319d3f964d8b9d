"""``ganlab-report``: read finished runs back.

    ganlab-report SWEEP_DIR [SWEEP_DIR ...] [--out DIR] [--x KEY] [--hue KEY] [--metrics …] [--sort M] [--per-seed]
        the sweep's table (cells of seeds: mean ± sd, 95 % interval) and metric-vs-k plots (ganlab/report/sweep.py)
    ganlab-report curves SWEEP_DIR [SWEEP_DIR ...] [--metric NAME] [--source auto|csv|wandb|json] [--out DIR]
        a validation metric along training, by cell, from the CSV logs, W&B offline runs or metrics.json
        (ganlab/report/curves.py)

Bad input: one ``ganlab-report: error: …`` line, exit 2, nothing written.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["curves"]:
        from ganlab.report.curves import main as curves

        sys.exit(curves(argv[1:]))
    if not argv:
        print("ganlab-report: error: SWEEP_DIR is missing; see ganlab-report --help", file=sys.stderr)
        sys.exit(2)
    if argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0)
    from ganlab.report.sweep import main as sweep

    sys.exit(sweep(argv))
