"""ADA's leak test (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data", §2.2 and Fig. 3):
G trained against a D that only ever sees images through ADA's ``bgc`` ops at a fixed probability p
(``+loss/augment=bgc loss.augment.probability=p``). The ops are "non-leaking" when p is small enough that the
augmented data still tell D which orientation is the real one; G's samples then stay upright and unflipped like the
training images. At p = 1 x-flips are 50/50 and quarter turns uniform: the augmented reals are the same in every
orientation, D cannot tell, and G's orientation is free (a leak is possible, not forced).

The detector: a small CNN trained on the preset's real training images, each put through one of the 8 symmetries of
the square (the dihedral group D4 — quarter turn r ∈ {0, 1, 2, 3} after an optional x-flip f; bgc's x-flip and
quarter turns generate exactly this group), to say which one was applied. On G's samples the share it assigns to a
symmetry other than the identity is the **leak score**; on held-out real images, untouched, the same share is the
score's floor (digits such as 0, 1 and 8 look alike under some symmetries), and on held-out images under each
symmetry its accuracy shows it sees each one.

Cells: ``none`` (no augmentation), ``p0.6`` (the issue's "p ≤ 0.6"), ``p1.0`` (the control), or any ``p<probability>``
(e.g. ``p0.3``) × ``--seeds``. Each job is a ``ganlab-train`` run in a folder of its own under ``--root`` (read, not
re-run, once finished; resumed when interrupted); scored on ``--samples`` samples from a fixed z.

    python -m experiments.bench.ada_leak [--preset digits_dcgan] [--cells none p0.6 p1.0] [--seeds 3]
        [--iterations 2000] [--workers 1] [--root DIR] [--out DIR] [--report-only]
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor, nn

from experiments.bench.protocols import mean_se_sd
from experiments.bench.runs import finished, train_in_folder

OUT = Path(__file__).parent / "out"
#: the default cells: ``none`` (no augmentation) or ``p<probability>`` (bgc at that fixed p, e.g. ``p0.3``)
CELLS = ["none", "p0.6", "p1.0"]


def cell(name: str) -> str:
    """A ``--cells`` value, checked: ``none`` or ``p<probability in [0, 1]>``."""
    try:
        valid = name == "none" or (name.startswith("p") and 0.0 <= float(name[1:]) <= 1.0)
    except ValueError:
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(f"{name!r}: a cell is 'none' or 'p<probability in [0, 1]>', e.g. p0.6")
    return name


def cell_overrides(name: str) -> list[str]:
    """The Hydra overrides of a cell: none, or bgc at the fixed probability the name carries."""
    return [] if name == "none" else ["+loss/augment=bgc", f"loss.augment.probability={float(name[1:])}"]


#: the 8 symmetries of the square, as (x-flip, quarter turns); index 0 is the identity
SYMMETRIES = [(flip, turns) for flip in (0, 1) for turns in range(4)]
NAMES = [("flip+" if flip else "") + f"rot{90 * turns}" for flip, turns in SYMMETRIES]


def symmetry(x: Tensor, index: int) -> Tensor:
    """``x`` (NCHW) under D4 element ``index``: the x-flip first, then ``turns`` quarter turns."""
    flip, turns = SYMMETRIES[index]
    return torch.rot90(x.flip(3) if flip else x, turns, dims=(2, 3))


def detector_net(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(256, len(SYMMETRIES)),
    )  # fmt: skip


def train_detector(images: Tensor, epochs: int = 150, seed: int = 0, batch: int = 128) -> nn.Module:
    """A D4 classifier of ``images`` (N, C, H, W; square): each image in each epoch under a random symmetry."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = detector_net(images.shape[1])
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), batch):
            x = images[order[start : start + batch]]
            labels = torch.randint(len(SYMMETRIES), (len(x),), generator=generator)
            x = torch.stack([symmetry(x[i : i + 1], int(k))[0] for i, k in enumerate(labels)])
            loss = nn.functional.cross_entropy(net(x), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return net.eval()


#: a call the detector makes with at least this probability is "confident"
CONFIDENT = 0.9


@torch.no_grad()
def shares(net: nn.Module, images: Tensor) -> list[float]:
    """The share of ``images`` the detector assigns to each symmetry (argmax), in ``SYMMETRIES``' order."""
    predicted = torch.cat([net(chunk).argmax(1) for chunk in images.split(500)])
    return (torch.bincount(predicted, minlength=len(SYMMETRIES)).double() / len(images)).tolist()


@torch.no_grad()
def confident_leak(net: nn.Module, images: Tensor) -> float:
    """The share of ``images`` called a symmetry other than the identity with probability ≥ ``CONFIDENT``: a drawn
    digit that is clearly flipped or turned, not one the detector cannot place."""
    probabilities = torch.cat([net(chunk).softmax(1) for chunk in images.split(500)])
    top, predicted = probabilities.max(1)
    return float(((predicted != 0) & (top >= CONFIDENT)).double().mean())


def real_images(preset: str, limit: int = 20_000) -> Tensor:
    """Up to ``limit`` training images of ``preset``'s data (a fixed random subset)."""
    from hydra.utils import instantiate

    import ganlab

    datamodule = instantiate(ganlab.compose(f"experiment={preset}", "paths.run_dir=.").data)
    return datamodule.eval_batch("train", limit, seed=0)[0]


def calibrated_detector(preset: str, out: Path, epochs: int = 150) -> tuple[nn.Module, dict]:
    """The detector of ``preset`` (trained on 80 % of the real images, cached in ``out``) and its calibration on
    the held-out 20 %: the floor (untouched images) and the accuracy under each symmetry."""
    images = real_images(preset)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    cut = int(0.8 * len(images))
    train, held_out = images[order[:cut]], images[order[cut:]]
    path = out / f"ada_leak_detector_{preset}_{epochs}ep.pt"
    if path.is_file():
        net = detector_net(images.shape[1])
        net.load_state_dict(torch.load(path, weights_only=True))
        net.eval()
    else:
        net = train_detector(train, epochs)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), path)
    accuracy = {NAMES[k]: shares(net, symmetry(held_out, k))[k] for k in range(len(SYMMETRIES))}
    floor = 1.0 - shares(net, held_out)[0]
    # worse images are not called turned: the floors of blurred and of noisy held-out images
    from torchvision.transforms.functional import gaussian_blur

    noisy = (held_out + 0.3 * torch.randn(held_out.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    degraded = {"blur 1.6": gaussian_blur(held_out, 5, 1.6), "noise 0.3": noisy}
    floors = {name: [1.0 - shares(net, x)[0], confident_leak(net, x)] for name, x in degraded.items()}
    record = {"held_out": len(held_out), "floor": floor, "floor_confident": confident_leak(net, held_out)}
    return net, {**record, "degraded_floors": floors, "accuracy": accuracy}


def run_job(job: dict) -> dict:
    folder = Path(job["root"]) / job["preset"] / job["cell"] / f"seed{job['seed']}"
    overrides = [f"experiment={job['preset']}", f"seed={job['seed']}", *cell_overrides(job["cell"]), *job["overrides"]]
    if job["report_only"]:
        metrics = finished(folder, job["iterations"])
    else:
        metrics = train_in_folder(folder, overrides, job["iterations"])
    return {**job, "folder": str(folder), "finished": metrics is not None}


@torch.no_grad()
def score(job: dict, net: nn.Module, n: int) -> dict:
    """The detector's shares on ``n`` samples of the job's final G (a fixed z, the same for every job)."""
    import ganlab

    module = ganlab.load(Path(job["folder"]) / "checkpoints" / "last.ckpt")
    samples = module.sample(z=module.draw_latent(n, torch.Generator().manual_seed(0)))
    by_symmetry = shares(net, samples)
    return {**job, "shares": dict(zip(NAMES, by_symmetry, strict=True)), "leak": 1.0 - by_symmetry[0],
            "leak_confident": confident_leak(net, samples), "samples": samples[:64]}  # fmt: skip


def summarise(rows: list[dict], calibration: dict) -> str:
    degraded = "; ".join(f"{name}: {a:.3f} / {b:.3f}" for name, (a, b) in calibration["degraded_floors"].items())
    lines = [
        f"Detector floor (held-out real images, untouched, n = {calibration['held_out']}): {calibration['floor']:.3f}"
        f" called non-identity, {calibration['floor_confident']:.3f} confidently (p ≥ {CONFIDENT}); degraded copies "
        f"of the same images: {degraded}. Accuracy under each symmetry: "
        + ", ".join(f"{k} {v:.3f}" for k, v in calibration["accuracy"].items()),
        "",
        f"| cell | seeds | called flipped or turned (mean ± sd) | per seed | confidently (p ≥ {CONFIDENT}) | per seed "
        "| most called symmetries |",
        "|---|---|---|---|---|---|---|",
    ]
    for cell in dict.fromkeys(r["cell"] for r in rows):
        done = [r for r in rows if r["cell"] == cell and "leak" in r]
        pooled = {k: sum(r["shares"][k] for r in done) / max(len(done), 1) for k in NAMES}
        top = ", ".join(f"{k} {v:.3f}" for k, v in sorted(pooled.items(), key=lambda kv: -kv[1])[:3])
        seeds = ",".join(str(r["seed"]) for r in done)
        columns = []
        for key in ("leak", "leak_confident"):
            mean, _, sd = mean_se_sd([r[key] for r in done])
            columns += [f"{mean:.3f} ± {sd:.3f}", ", ".join(f"{r[key]:.3f}" for r in done)]
        lines.append(f"| {cell} | {len(done)} ({seeds}) | {' | '.join(columns)} | {top} |")
    return "\n".join(lines)


def save_grids(rows: list[dict], out: Path, stem: str) -> None:
    from torchvision.utils import save_image

    for cell in dict.fromkeys(r["cell"] for r in rows):
        first = next((r for r in rows if r["cell"] == cell and "samples" in r), None)
        if first is not None:
            save_image(first["samples"] * 0.5 + 0.5, out / f"{stem}_{cell}_seed{first['seed']}.png", nrow=8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="digits_dcgan")
    parser.add_argument("--cells", nargs="+", type=cell, default=CELLS, help="none or p<probability>: %(default)s")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=2000, help="G samples scored per job")
    parser.add_argument("--detector-epochs", type=int, default=150)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--root", type=Path, default=OUT / "ada_leak_runs", help="the jobs' run folders")
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides of every job")
    parser.add_argument("--report-only", action="store_true", help="read the finished jobs, train nothing")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    jobs = [
        {"preset": args.preset, "cell": name, "seed": seed, "iterations": args.iterations,
         "overrides": args.overrides, "root": str(args.root), "report_only": args.report_only}
        for name in args.cells
        for seed in range(args.seeds)
    ]  # fmt: skip
    with ThreadPoolExecutor(args.workers) as pool:
        rows = list(pool.map(run_job, jobs))
    torch.set_num_threads(1)
    net, calibration = calibrated_detector(args.preset, args.out, args.detector_epochs)
    rows = [score(r, net, args.samples) if r["finished"] else r for r in rows]
    for r in rows:
        print(f"{r['cell']} seed {r['seed']}: leak {r.get('leak', math.nan):.3f}", flush=True)
    table = summarise(rows, calibration)
    print(table)
    stem = f"ada_leak_{args.preset}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.md").write_text(table + "\n")
    kept = [{k: v for k, v in r.items() if k != "samples"} for r in rows]
    settings = {**vars(args), "root": str(args.root), "out": str(args.out)}
    record = {"args": settings, "calibration": calibration, "rows": kept}
    (args.out / f"{stem}.json").write_text(json.dumps(record, indent=1))
    save_grids(rows, args.out, stem)
    print(f"wrote {args.out / stem}.md, .json and the sample grids")


if __name__ == "__main__":
    main()
