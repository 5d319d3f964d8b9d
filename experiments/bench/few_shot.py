"""Few-shot MNIST (issue #34): does augmentation lower the best and the final FID where the unaugmented run overfits?
DiffAugment's (Zhao et al. 2020) and ADA's (Karras et al. 2020) claim is about the regime where D memorises a small
training set and the unaugmented FID *rises* late in training; this bench trains there.

Setting: ``mnist_dcgan`` (DCGAN nets and init, Adam 2e-4 β₁ 0.5, batch 100, non-saturating loss) on a fixed subset
of ``--sizes`` training images drawn with the run's seed (``+data.train_size=N +data.subset_seed=<seed>``), cells
``none`` / ``diffaugment`` (colour, translation, cutout, p = 1: the authors' setting) / ``ada`` (ADA's ``bgc`` ops,
adaptive p from 0, target 0.6, ``speed_images`` 100 000: p can cross [0, 1] in 1 000 iterations of batch 100; the
paper's 500 k is for runs of 25 M images). Every ``--eval-every`` iterations: classifier-FID, KID, precision / recall
/ density / coverage of 10 000 samples against the 10 000 test images (ganlab's MNIST classifier's features), and D's
logits on (up to) 1 000 training vs 1 000 test images (``+callbacks/d_overfit``: the train−test gap; under D's own
policy too).

Each job is a ``ganlab-train`` run in a folder of its own under ``--root`` (read, not re-run, once finished; resumed
when interrupted). "Measure the curve first": ``--cells none --seeds 1 --iterations <long>`` shows where the
unaugmented FID turns upward; the budget of the full grid is then chosen from it (a job trained longer is read at
``--iterations``: its curve up to there is that of a run with this budget, the learning rate being constant).

The table gives per cell the best FID along the curve (and where), the final FID, P/R/D/C and D's gap at the end,
mean ± sd with the per-seed values; a second table pairs each augmented cell with ``none`` on the same seed
(augmented − none for the best and the final FID, and on how many seeds augmentation is lower); ``few_shot_fid.png`` and
``few_shot_gap.png`` the curves (mean ± sd).

    python -m experiments.bench.few_shot [--sizes 100 1000] [--cells none diffaugment ada] [--seeds 3]
        [--iterations 6000] [--eval-every 500] [--workers 1] [--root DIR] [--out DIR] [--report-only]
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from experiments.bench.protocols import mean_se_sd
from experiments.bench.runs import finished, train_in_folder

OUT = Path(__file__).parent / "out"
BATCH = 100  # mnist_dcgan's
CELLS = {
    "none": [],
    "diffaugment": ["+loss/augment=diffaug"],
    "ada": ["+loss/augment=ada", "loss.augment.speed_images=100000"],
}
FINAL = ("classifier_fid", "classifier_precision", "classifier_recall", "classifier_density", "classifier_coverage",
         "d_logit_gap", "d_sign_train", "d_sign_test")  # fmt: skip


def folder_of(job: dict) -> Path:
    return Path(job["root"]) / f"n{job['size']}" / job["cell"] / f"seed{job['seed']}"


def overrides_of(job: dict) -> list[str]:
    if (job["eval_every"] * BATCH) % job["size"]:
        raise SystemExit(f"--eval-every {job['eval_every']} is not a whole number of epochs of {job['size']} images")
    every = job["eval_every"] * BATCH // job["size"]  # epochs
    return [
        "experiment=mnist_dcgan", f"seed={job['seed']}", f"+data.train_size={job['size']}",
        f"+data.subset_seed={job['seed']}", "trainer.max_epochs=100000000", "callbacks/metrics=classifier",
        f"callbacks.metrics.every_n_epochs={every}", "+callbacks/d_overfit=default",
        f"callbacks.d_overfit.every_n_epochs={every}", f"callbacks.sample_grid.every_n_epochs={every}",
        *CELLS[job["cell"]], *job["overrides"],
    ]  # fmt: skip


def run_job(job: dict) -> dict:
    """Train (or resume) the job unless a run of at least ``iterations`` is there; its curve up to ``iterations``."""
    from ganlab.report.sources import history

    folder = folder_of(job)
    trained = job.get("trained_to") or job["iterations"]
    done = finished(folder, job["iterations"], or_more=True)
    if done is None and not job["report_only"]:
        done = train_in_folder(folder, overrides_of(job), trained)
    curve = {i: v for i, v in history(folder, "csv").items() if i <= job["iterations"]} if folder.is_dir() else {}
    reached = job["iterations"] in curve and "classifier_fid" in curve[job["iterations"]]
    return {**job, "folder": str(folder), "finished": done is not None and reached, "curve": curve}


def summary_rows(rows: list[dict]) -> list[dict]:
    """Per job: the best FID along the curve and its iteration, and the FINAL values at ``iterations``."""
    out = []
    for r in rows:
        fids = {i: v["classifier_fid"] for i, v in r["curve"].items() if "classifier_fid" in v}
        if not r["finished"] or not fids:
            continue
        best_at = min(fids, key=fids.get)
        end = r["curve"][r["iterations"]]
        out.append({**r, "best_fid": fids[best_at], "best_at": best_at, **{k: end.get(k, math.nan) for k in FINAL}})
    return out


def fmt(values: list[float], digits: int = 2) -> str:
    mean, _, sd = mean_se_sd(values)
    return f"{mean:.{digits}f} ± {sd:.{digits}f} ({', '.join(f'{v:.{digits}f}' for v in values)})"


def table(rows: list[dict]) -> str:
    lines = [
        "| images | cell | seeds | best FID (per seed) | at iteration | final FID (per seed) | precision | recall | "
        "density | coverage | D gap train−test (final) | E[sign D] train / test |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in dict.fromkeys(r["size"] for r in rows):
        for cell in dict.fromkeys(r["cell"] for r in rows):
            done = [r for r in rows if r["size"] == size and r["cell"] == cell]
            if not done:
                continue
            col = lambda key, d=3, done=done: fmt([r[key] for r in done], d)  # noqa: E731
            seeds = ",".join(str(r["seed"]) for r in done)
            at = ", ".join(str(r["best_at"]) for r in done)
            train, test = (mean_se_sd([r[key] for r in done])[0] for key in ("d_sign_train", "d_sign_test"))
            lines.append(
                f"| {size} | {cell} | {len(done)} ({seeds}) | {col('best_fid', 2)} | {at} "
                f"| {col('classifier_fid', 2)} | {col('classifier_precision')} | {col('classifier_recall')} "
                f"| {col('classifier_density')} | {col('classifier_coverage')} | {col('d_logit_gap')} "
                f"| {train:.2f} / {test:.2f} |"
            )
    return "\n".join(lines)


def paired_table(rows: list[dict]) -> str:
    """Each augmented cell against ``none`` on the same seed (same subset, same init): augmented − none for the best and
    the final FID, and on how many seeds augmentation is lower. Empty when ``none`` is not among the cells."""
    lines = [
        "| images | cell − none | seeds | Δ best FID (per seed) | lower on | Δ final FID (per seed) | lower on |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in dict.fromkeys(r["size"] for r in rows):
        base = {r["seed"]: r for r in rows if r["size"] == size and r["cell"] == "none"}
        for cell in dict.fromkeys(r["cell"] for r in rows if r["cell"] != "none"):
            mine = [r for r in rows if r["size"] == size and r["cell"] == cell]
            pairs = [(r, base[r["seed"]]) for r in mine if r["seed"] in base]
            if not pairs:
                continue
            cols = []
            for key in ("best_fid", "classifier_fid"):
                deltas = [r[key] - b[key] for r, b in pairs]
                cols += [fmt(deltas), f"{sum(d < 0 for d in deltas)} of {len(deltas)}"]
            seeds = ",".join(str(r["seed"]) for r, _ in pairs)
            lines.append(f"| {size} | {cell} | {len(pairs)} ({seeds}) | " + " | ".join(cols) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def plot(rows: list[dict], metric: str, path: Path, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys(r["size"] for r in rows))
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4), squeeze=False)
    for ax, size in zip(axes[0], sizes, strict=True):
        for cell in dict.fromkeys(r["cell"] for r in rows):
            curves = [{i: v[metric] for i, v in r["curve"].items() if metric in v}
                      for r in rows if r["size"] == size and r["cell"] == cell]  # fmt: skip
            common = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
            if not common:
                continue
            stats = [mean_se_sd([c[i] for c in curves]) for i in common]
            mean = [s[0] for s in stats]
            sd = [s[2] for s in stats]
            ax.plot(common, mean, label=f"{cell} ({len(curves)} seeds)")
            ax.fill_between(common, [m - s for m, s in zip(mean, sd, strict=True)],
                            [m + s for m, s in zip(mean, sd, strict=True)], alpha=0.2)  # fmt: skip
        ax.set_title(f"{size} training images")
        ax.set_xlabel("iteration")
        ax.set_ylabel(ylabel)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1000])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=6000, help="the budget read and reported")
    parser.add_argument("--trained-to", type=int, default=None, help="train to this many (≥ --iterations)")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--root", type=Path, default=OUT / "few_shot_runs")
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides of every job")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.trained_to is not None and args.trained_to < args.iterations:
        parser.error(f"--trained-to {args.trained_to} is below --iterations {args.iterations}")
    jobs = [
        {"size": size, "cell": cell, "seed": seed, "iterations": args.iterations, "trained_to": args.trained_to,
         "eval_every": args.eval_every, "overrides": args.overrides, "root": str(args.root),
         "report_only": args.report_only}
        for size in args.sizes
        for cell in args.cells
        for seed in range(args.seeds)
    ]  # fmt: skip
    with ThreadPoolExecutor(args.workers) as pool:
        rows = list(pool.map(run_job, jobs))
    for r in rows:
        fids = [v["classifier_fid"] for _, v in sorted(r["curve"].items()) if "classifier_fid" in v]
        print(f"n{r['size']} {r['cell']} seed {r['seed']}: FID curve {[round(f, 2) for f in fids]}", flush=True)
    summary = summary_rows(rows)
    text = "\n\n".join(t for t in (table(summary), paired_table(summary)) if t)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "few_shot.md").write_text(text + "\n")
    record = {"args": {**vars(args), "root": str(args.root), "out": str(args.out)},
              "rows": [{**r, "curve": {str(k): v for k, v in r["curve"].items()}} for r in rows]}  # fmt: skip
    (args.out / "few_shot.json").write_text(json.dumps(record, indent=1))
    plot(rows, "classifier_fid", args.out / "few_shot_fid.png", "classifier-FID")
    plot(rows, "d_logit_gap", args.out / "few_shot_gap.png", "D logit gap (train − test)")
    print(f"wrote {args.out}/few_shot.md, .json, _fid.png, _gap.png")


if __name__ == "__main__":
    main()
