"""Image-metrics benchmark: ganlab's one-pass ``ImageMetricSuite`` vs the usual use of torchmetrics (and
torch-fidelity), on the same real MNIST images, every ratio measured in the same run.

1. Throughput of FID + KID + IS on N "fake" images (MNIST test images; the reals are N MNIST train images):
   (a) ganlab: one ``ImageMetricSuite`` pass, the extractor runs once per image for the three metrics;
   (b) torchmetrics: ``FrechetInceptionDistance``, ``KernelInceptionDistance`` and ``InceptionScore``, each
       given its own feature network and each updated with the fakes (three extractions per image);
   (c) FID alone: ganlab ``metrics=("fid",)`` vs torchmetrics' FID alone (overhead ratio, ≈ 1 expected);
   (d) Inception only: ``torch_fidelity.calculate_metrics`` (fid + isc + kid), real features cached beforehand.
   For both extractors: the domain classifier (``$GANLAB_CLASSIFIER_DIR/mnist.pt``, default
   ``classifiers/mnist.pt``; else a randomly initialised ``DomainClassifier``: its speed does not depend on its
   weights) and Inception-v3 with RANDOM weights (the real
   file cannot be downloaded here: speed only, the scores are meaningless). Real statistics are precomputed once,
   OUTSIDE the timed region, and loaded into every path; the timed region is the fakes' extraction + state updates
   ("update") and ``compute()`` ("compute"). ganlab and torchmetrics run in alternating order (ABBA…) and the
   medians are reported.
2. Peak memory of the FID real statistics of M MNIST train images: ganlab's streamed
   ``compute_real_stats(keep_features=False)`` vs materialising all images and all features first, then mean /
   covariance (the naive way); same batch size for the extractor. Each runs in a fresh subprocess, minus a baseline
   subprocess that imports the same modules, builds the extractor and loads the dataset but processes nothing.
   Peak RSS is read from /proc/self/status (VmHWM): ``ru_maxrss`` is carried over fork + exec on Linux, so a child
   of this (large) process would report at least the parent's size (ru_maxrss is stored in the JSON too).

    python -m experiments.bench.metrics [--quick] [--threads 1] [--data-root DIR] [--classifier FILE]

Writes experiments/bench/out/metrics.json. ``--threads 1`` (default): with another job on this 2-core VM, two
intra-op threads make LAPACK (FID's eigvals on 2048×2048) an order of magnitude slower.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from unittest import mock

import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "out"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
RANDOM_NOTE = "random weights: speed only"
PRESETS = {  # full / quick
    "images": (2000, 500),
    "repeats": (5, 3),
    "inception_images": (96, 16),
    "inception_repeats": (1, 1),
    "memory_m": (10000, 2000),
    "inception_memory_m": (96, 0),
}


# --------------------------------------------------------------------------------------------- set-up helpers
def link_mnist(data_root: Path, tmp: Path) -> Path:
    """``<tmp>/mnist/MNIST/raw/<file>.gz`` → the shared files (unpacked under tmp, never in the shared folder)."""
    root = tmp / "mnist"
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        source = (data_root / "MNIST" / "raw" / name).resolve()
        if not source.is_file():
            raise SystemExit(f"missing {source}: pass --data-root DIR with MNIST/raw/{name}")
        (raw / name).symlink_to(source)
    return root


def classifier_file(path: Path, tmp: Path) -> tuple[Path, str]:
    if path.is_file():
        return path, f"trained classifier {path}"
    from ganlab.modules.classifier import save_classifier
    from ganlab.nets import DomainClassifier

    torch.manual_seed(0)
    file = save_classifier(
        tmp / "mnist_random.pt", DomainClassifier(), {"_target_": "ganlab.nets.DomainClassifier"}, {"dataset": "mnist"}
    )
    return file, f"randomly initialised DomainClassifier ({path} missing; speed does not depend on weights)"


def random_inception_weights(torch_home: Path) -> Path:
    """torch-fidelity's Inception-v3 with its random initialisation, saved in the real file's format and name
    under ``$TORCH_HOME/hub/checkpoints`` (where torchmetrics' KID / IS look for it)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from ganlab.metrics.extractors import INCEPTION_FILE

    torch.manual_seed(0)
    skip = mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state, strict=True: None)
    with mock.patch("torch.load", return_value={}), skip:
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"], "unused")
    path = torch_home / "hub" / "checkpoints" / INCEPTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path


def mnist(root: Path):
    from ganlab.data import MNISTDataModule

    dm = MNISTDataModule(root=root, download=False)
    dm.setup()
    return dm


def image_batches(dm, split: str, n: int, batch: int) -> list[Tensor]:
    return [x for x, _ in dm.eval_dataloader(split, batch, limit=n)]


def build_extractor(kind: str, classifier: Path, weights: Path):
    from ganlab.metrics.extractors import ClassifierExtractor, InceptionExtractor

    return ClassifierExtractor(classifier) if kind == "classifier" else InceptionExtractor(weights, download=False)


# ------------------------------------------------------------------------------------------------ throughput
class Output(nn.Module):
    """torchmetrics' ``feature`` slot: one of the extractor's outputs (0: features, 1: logits)."""

    def __init__(self, extractor: nn.Module, index: int, num_features: int):
        super().__init__()
        self.extractor, self.index, self.num_features = extractor, index, num_features

    def forward(self, x: Tensor) -> Tensor:
        return self.extractor(x)[self.index]


class GanlabPath:
    name = "ganlab suite, 1 extraction"

    def __init__(self, extractor, stats, metrics):
        from ganlab.metrics.image_metrics import ImageMetricSuite

        self.suite = ImageMetricSuite(extractor, metrics=metrics)
        self.suite.load_real(stats)

    def update(self, batches):
        self.suite.reset_fake()
        for x in batches:
            self.suite.update_fake(x)

    def compute(self) -> dict:
        return self.suite.compute()


class TorchmetricsPath:
    """One torchmetrics object per metric, each with its own feature network: the usual way."""

    name = "torchmetrics, 1 extraction per metric"

    def __init__(self, kind, extractor, stats, metrics, weights: Path, kid_subset_size: int):
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore
        from torchmetrics.image.kid import KernelInceptionDistance

        self.kind, self.metrics = kind, {}
        if kind == "classifier":
            features = Output(extractor, 0, extractor.num_features)
            fid_kwargs, kid_feature, is_feature = {"feature": features}, features, Output(extractor, 1, 10)
        else:  # torchmetrics' own Inception objects; KID / IS find the weights under $TORCH_HOME/hub/checkpoints
            fid_kwargs = {"feature": 2048, "feature_extractor_weights_path": str(weights)}
            kid_feature, is_feature = 2048, "logits_unbiased"
        if "fid" in metrics:
            self.metrics["fid"] = FrechetInceptionDistance(reset_real_features=False, **fid_kwargs)
        if "kid" in metrics:
            self.metrics["kid"] = KernelInceptionDistance(
                feature=kid_feature, subset_size=kid_subset_size, reset_real_features=False
            )
        if "is" in metrics:
            self.metrics["is"] = InceptionScore(feature=is_feature)
        # the same real statistics as ganlab's (the same network weights give the same features); set here instead
        # of update(real, real=True) to save extractor passes outside the timed region
        if "fid" in self.metrics:
            fid = self.metrics["fid"]
            fid.real_features_sum = stats.feature_sum.clone()
            fid.real_features_cov_sum = stats.feature_cov_sum.clone()
            fid.real_features_num_samples = torch.tensor(stats.n)
        if "kid" in self.metrics:
            self.metrics["kid"].real_features = [stats.features.clone()]

    def update(self, batches):
        from ganlab.metrics.extractors import to_uint8

        for metric in self.metrics.values():
            metric.reset()
        with torch.inference_mode():
            for x in batches:
                if self.kind == "inception":
                    x = to_uint8(x).expand(-1, 3, -1, -1)
                for name, metric in self.metrics.items():
                    if name == "is":
                        metric.update(x)
                    else:
                        metric.update(x, real=False)

    def compute(self) -> dict:
        out = {}
        for name, metric in self.metrics.items():
            value = metric.compute()
            if name == "fid":
                out["fid"] = float(value)
            else:
                out[name], out[f"{name}_std"] = float(value[0]), float(value[1])
        return out


def timed(path, batches) -> dict:
    start = time.perf_counter()
    path.update(batches)
    middle = time.perf_counter()
    torch.manual_seed(0)  # the same KID subsets / IS permutation in every path
    values = path.compute()
    end = time.perf_counter()
    return {"update_s": middle - start, "compute_s": end - middle, "total_s": end - start, "values": values}


def alternating(ganlab, baseline, batches, repeats: int) -> dict:
    """Pairs in alternating order (ganlab first, then torchmetrics first, …): medians and per-pair ratios
    torchmetrics / ganlab of the update, compute and total times."""
    pairs = []
    for r in range(repeats):
        order = (ganlab, baseline) if r % 2 == 0 else (baseline, ganlab)
        got = {id(p): timed(p, batches) for p in order}
        pairs.append((got[id(ganlab)], got[id(baseline)]))
    n = sum(len(x) for x in batches)
    out = {"images": n, "repeats": repeats}
    for key in ("update_s", "compute_s", "total_s"):
        out[f"ganlab_{key}"] = statistics.median(g[key] for g, _ in pairs)
        out[f"torchmetrics_{key}"] = statistics.median(b[key] for _, b in pairs)
        ratios = sorted(b[key] / g[key] for g, b in pairs)
        out[f"ratio_{key}"] = {"median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]}
    out["ganlab_values"], out["torchmetrics_values"] = pairs[-1][0]["values"], pairs[-1][1]["values"]
    return out


def torch_fidelity_run(real_batches, fake_batches, weights: Path, tmp: Path, batch: int) -> dict:
    """torch-fidelity on the same images (uint8, tiled to RGB); its real features are cached by an untimed call."""
    import torch_fidelity
    from torch.utils.data import Dataset

    from ganlab.metrics.extractors import to_uint8

    class Uint8Images(Dataset):
        def __init__(self, batches):
            self.x = torch.cat([to_uint8(b).expand(-1, 3, -1, -1) for b in batches]).contiguous()

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    real, fake = Uint8Images(real_batches), Uint8Images(fake_batches)
    kwargs = {
        "fid": True,
        "kid": True,
        "isc": True,
        "cuda": False,
        "batch_size": batch,
        "kid_subset_size": min(1000, len(real), len(fake)),
        "feature_extractor_weights_path": str(weights),
        "cache_root": str(tmp / "fidelity_cache"),
        "input2_cache_name": "bench-mnist-real",
        "save_cpu_ram": True,  # no DataLoader workers: the others load in the main process too
        "verbose": False,
    }
    start = time.perf_counter()
    torch_fidelity.calculate_metrics(input1=real, input1_cache_name="bench-mnist-real", input2=real, **kwargs)
    cache_s = time.perf_counter() - start
    extract = torch_fidelity.metrics.extract_featuresdict_from_input_id_cached
    spent = [0.0]

    def timed_extract(*a, **k):  # splits the timed call into feature extraction and the rest (compute)
        t = time.perf_counter()
        try:
            return extract(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t

    with mock.patch.object(torch_fidelity.metrics, "extract_featuresdict_from_input_id_cached", timed_extract):
        start = time.perf_counter()
        values = torch_fidelity.calculate_metrics(input1=fake, input2=real, **kwargs)
        total = time.perf_counter() - start
    return {
        "total_s": total,
        "update_s": spent[0],
        "compute_s": total - spent[0],
        "real_cache_s": cache_s,
        "values": values,
        "images": len(fake),
    }


def throughput(kind, *, classifier, weights, dm, n, batch, repeats, fid_only_repeats, tmp, fidelity) -> dict:
    from ganlab.metrics.image_metrics import compute_real_stats

    extractor = build_extractor(kind, classifier, weights)
    reals, fakes = image_batches(dm, "train", n, batch), image_batches(dm, "test", n, batch)
    start = time.perf_counter()
    stats = compute_real_stats(extractor, reals, keep_features=True, num_labels=None)
    real_s = time.perf_counter() - start
    label = f"{kind}" + (f" ({RANDOM_NOTE})" if kind == "inception" else "")
    print(f"[{label}] real statistics of {n} train images (untimed below): {real_s:.1f} s", flush=True)
    out = {"real_stats_s": real_s}
    all3 = ("fid", "kid", "is")
    tm = TorchmetricsPath(kind, extractor, stats, all3, weights, min(1000, n))
    out["fid_kid_is"] = alternating(GanlabPath(extractor, stats, all3), tm, fakes, repeats)
    report(label, "FID+KID+IS", out["fid_kid_is"])
    if fid_only_repeats:
        tm = TorchmetricsPath(kind, extractor, stats, ("fid",), weights, min(1000, n))
        out["fid_only"] = alternating(GanlabPath(extractor, stats, ("fid",)), tm, fakes, fid_only_repeats)
        report(label, "FID alone", out["fid_only"])
    if fidelity:
        try:
            out["torch_fidelity"] = tf = torch_fidelity_run(reals, fakes, weights, tmp, batch)
            g = out["fid_kid_is"]["ganlab_total_s"]
            tf["ratio_total_vs_ganlab"] = tf["total_s"] / g
            print(
                f"[{label}] torch-fidelity fid+isc+kid, {n} images (real features cached, untimed): extraction "
                f"{1e3 * tf['update_s'] / n:.2f} ms/img + compute {tf['compute_s']:.2f} s = {n / tf['total_s']:.1f} "
                f"img/s; torch-fidelity / ganlab total {tf['ratio_total_vs_ganlab']:.2f} (one run, not paired)",
                flush=True,
            )
            print(
                f"    values torch-fidelity {_values(tf['values'])}",
                flush=True,
            )
        except Exception as exc:  # offline download attempt, API change …
            out["torch_fidelity"] = {"skipped": " ".join(str(exc).split())[:300]}
            print(f"[{label}] torch-fidelity skipped: {out['torch_fidelity']['skipped']}", flush=True)
    return out


def _ratio(r) -> str:
    return f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"


def report(label, metrics, p):
    n = p["images"]
    print(
        f"[{label}] {metrics}, {n} images, {p['repeats']} alternating pairs (medians): "
        f"ganlab update {1e3 * p['ganlab_update_s'] / n:.2f} ms/img + compute {p['ganlab_compute_s']:.2f} s = "
        f"{n / p['ganlab_total_s']:.1f} img/s; torchmetrics update {1e3 * p['torchmetrics_update_s'] / n:.2f} "
        f"ms/img + compute {p['torchmetrics_compute_s']:.2f} s = {n / p['torchmetrics_total_s']:.1f} img/s; "
        f"ratio torchmetrics/ganlab: update {_ratio(p['ratio_update_s'])}, compute {_ratio(p['ratio_compute_s'])}, "
        f"total {_ratio(p['ratio_total_s'])}",
        flush=True,
    )
    g, t = p["ganlab_values"], p["torchmetrics_values"]
    print(f"    values ganlab {_values(g)} | torchmetrics {_values(t)}", flush=True)


def _values(v: dict) -> str:
    return ", ".join(f"{k}={x:.4g}" for k, x in v.items())


# ---------------------------------------------------------------------------------------------------- memory
def memory_child(args) -> None:
    """Runs in a fresh process: prints {"maxrss_mib": …, "seconds": …} on its last line."""
    from ganlab.metrics.image_metrics import compute_real_stats

    torch.set_num_threads(args.threads)
    extractor = build_extractor(args.child_extractor, Path(args.child_classifier), Path(args.child_weights))
    dm = mnist(Path(args.child_root))
    loader = dm.eval_dataloader("train", args.child_batch, limit=args.child_m)
    start = time.perf_counter()
    if args.memory_child == "streamed":
        stats = compute_real_stats(extractor, loader, keep_features=False, num_labels=None)
        assert stats.n == args.child_m and stats.features is None
    elif args.memory_child == "materialised":
        with torch.inference_mode():
            images = torch.cat([x for x, _ in loader])  # every image first …
            features = torch.cat(
                [extractor(images[i : i + args.child_batch])[0] for i in range(0, len(images), args.child_batch)]
            )
            features = features.double()  # … then every feature, then the moments
            mean, cov = features.mean(0), torch.cov(features.T)
        assert features.shape[0] == args.child_m and mean.numel() ** 2 == cov.numel()
    seconds = time.perf_counter() - start
    # ru_maxrss survives fork + exec (a child of the big parent starts at the parent's peak): VmHWM is the same peak
    # RSS, of this process's own address space only
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_rss_mib": int(hwm.split()[1]) / 1024, "ru_maxrss_mib": maxrss, "seconds": seconds}))


def memory(kind, m, batch, data_root, classifier, weights, threads) -> dict:
    d = 128 if kind == "classifier" else 2048
    out = {"images": m, "batch": batch, "images_mib": m * 28 * 28 * 4 / 2**20, "features_mib": m * d * 4 / 2**20}
    for mode in ("baseline", "streamed", "materialised"):
        command = [sys.executable, "-m", "experiments.bench.metrics", "--memory-child", mode]
        command += ["--child-extractor", kind, "--child-m", str(m), "--child-batch", str(batch)]
        command += ["--child-root", str(data_root), "--child-classifier", str(classifier)]
        command += ["--child-weights", str(weights), "--threads", str(threads)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"memory child {mode} failed: {done.stderr[-2000:]}")
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    base = out["baseline"]["peak_rss_mib"]
    for mode in ("streamed", "materialised"):
        out[f"{mode}_extra_mib"] = out[mode]["peak_rss_mib"] - base
    out["ratio_materialised_over_streamed"] = out["materialised_extra_mib"] / max(out["streamed_extra_mib"], 1e-9)
    label = f"{kind}" + (f" ({RANDOM_NOTE})" if kind == "inception" else "")
    print(
        f"[{label}] FID real statistics of M={m} images, batch {batch}, peak RSS (VmHWM) above the baseline "
        f"({base:.0f} MiB: imports, extractor, dataset): streamed {out['streamed_extra_mib']:.1f} MiB "
        f"({out['streamed']['seconds']:.1f} s), "
        f"materialised {out['materialised_extra_mib']:.1f} MiB ({out['materialised']['seconds']:.1f} s)",
        flush=True,
    )
    print(
        f"    (for scale: the M images as float32 {out['images_mib']:.1f} MiB, their features as float32 "
        f"{out['features_mib']:.1f} MiB)",
        flush=True,
    )
    return out


# ------------------------------------------------------------------------------------------------------ main
def table(results) -> str:
    rows = [
        "| extractor | metrics | images | ganlab ms/img (update) | torchmetrics ms/img (update) | ganlab s (compute) "
        "| torchmetrics s (compute) | ganlab img/s (total) | torchmetrics img/s (total) | torchmetrics/ganlab total "
        "(median, range) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, res in results["throughput"].items():
        name = kind + (f" ({RANDOM_NOTE})" if kind == "inception" else "")
        for key, metrics in (("fid_kid_is", "FID+KID+IS"), ("fid_only", "FID alone")):
            if key not in res:
                continue
            p, n = res[key], res[key]["images"]
            rows.append(
                f"| {name} | {metrics} | {n} | {1e3 * p['ganlab_update_s'] / n:.2f} | "
                f"{1e3 * p['torchmetrics_update_s'] / n:.2f} | {p['ganlab_compute_s']:.2f} | "
                f"{p['torchmetrics_compute_s']:.2f} | {n / p['ganlab_total_s']:.1f} | "
                f"{n / p['torchmetrics_total_s']:.1f} | {_ratio(p['ratio_total_s'])} |"
            )
        tf = res.get("torch_fidelity")
        if tf and "total_s" in tf:
            n = tf["images"]
            rows.append(
                f"| {name} | FID+KID+IS, torch-fidelity in the torchmetrics columns | {n} | – | "
                f"{1e3 * tf['update_s'] / n:.2f} | – | {tf['compute_s']:.2f} | – | {n / tf['total_s']:.1f} | "
                f"{tf['ratio_total_vs_ganlab']:.2f} (torch-fidelity/ganlab, 1 run) |"
            )
    rows += [
        "",
        "| extractor | M | streamed extra MiB | materialised extra MiB | materialised/streamed |",
        "|---|---|---|---|---|",
    ]
    for kind, mem in results["memory"].items():
        name = kind + (f" ({RANDOM_NOTE})" if kind == "inception" else "")
        rows.append(
            f"| {name} | {mem['images']} | {mem['streamed_extra_mib']:.1f} | {mem['materialised_extra_mib']:.1f} | "
            f"{mem['ratio_materialised_over_streamed']:.1f} |"
        )
    return "\n".join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and pairs (about 2 minutes)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, help="classifier throughput images (default 2000, quick 500)")
    parser.add_argument("--repeats", type=int, help="alternating pairs, classifier (default 5, quick 3)")
    parser.add_argument("--inception-images", type=int, help="Inception throughput images (default 96, quick 16)")
    parser.add_argument("--inception-repeats", type=int, help="alternating pairs, Inception (default 1)")
    parser.add_argument("--memory-m", type=int, help="classifier memory: M real images (default 10000, quick 2000)")
    parser.add_argument("--inception-memory-m", type=int, help="Inception memory: M images (default 96, quick: 0=off)")
    parser.add_argument("--no-torch-fidelity", action="store_true")
    default_root = os.environ.get("GANLAB_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data-root", default=default_root, help="folder with MNIST/raw/*.gz")
    parser.add_argument(
        "--classifier", default=os.path.join(os.environ.get("GANLAB_CLASSIFIER_DIR", "classifiers"), "mnist.pt")
    )
    for hidden in ("--memory-child", "--child-extractor", "--child-root", "--child-classifier", "--child-weights"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    for hidden in ("--child-m", "--child-batch"):
        parser.add_argument(hidden, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*(will save all extracted features|Metric `Kernel Inception).*")
    if args.memory_child:
        return memory_child(args)
    preset = {k: v[1 if args.quick else 0] for k, v in PRESETS.items()}
    for key in preset:
        if getattr(args, key, None) is not None:
            preset[key] = getattr(args, key)
    torch.set_num_threads(args.threads)
    try:  # numpy / scipy BLAS (torch-fidelity's FID) at the same thread count as torch: load them, then limit
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["TORCH_HOME"] = str(tmp / "torch_home")  # the random Inception file lives here only
        data_root = link_mnist(Path(args.data_root), tmp)
        classifier, classifier_note = classifier_file(Path(args.classifier), tmp)
        weights = random_inception_weights(tmp / "torch_home")
        dm = mnist(data_root)
        results = {
            "config": {
                **preset,
                "quick": args.quick,
                "threads": args.threads,
                "torch": torch.__version__,
                "classifier": classifier_note,
                "inception": f"torch-fidelity Inception-v3 architecture, {RANDOM_NOTE}",
                "timed_region": "fakes' extraction + metric updates ('update') and compute(); real statistics "
                "precomputed once with ganlab's compute_real_stats OUTSIDE the timed region and loaded into every "
                "path (torchmetrics: its FID sums / KID real features set from them; torch-fidelity: its real "
                "features cached by an untimed call)",
                "fakes": "MNIST test images (the same tensors for every path)",
                "reals": "MNIST train images",
            },
            "throughput": {},
            "memory": {},
        }
        print(f"threads={args.threads}; classifier: {classifier_note}; Inception: {RANDOM_NOTE}", flush=True)
        print("timed region: " + results["config"]["timed_region"], flush=True)
        common = {"classifier": classifier, "weights": weights, "dm": dm, "tmp": tmp}
        results["throughput"]["classifier"] = throughput(
            "classifier",
            n=preset["images"],
            batch=500,
            repeats=preset["repeats"],
            fid_only_repeats=preset["repeats"],
            fidelity=False,
            **common,
        )
        results["throughput"]["inception"] = throughput(
            "inception",
            n=preset["inception_images"],
            batch=32,
            repeats=preset["inception_repeats"],
            fid_only_repeats=0 if args.quick else preset["inception_repeats"],
            fidelity=not (args.quick or args.no_torch_fidelity),
            **common,
        )
        if args.quick:
            print("[inception] --quick: FID-alone pair and torch-fidelity skipped", flush=True)
        results["memory"]["classifier"] = memory(
            "classifier", preset["memory_m"], 500, data_root, classifier, weights, args.threads
        )
        if preset["inception_memory_m"]:
            results["memory"]["inception"] = memory(
                "inception", preset["inception_memory_m"], 32, data_root, classifier, weights, args.threads
            )
    results["wall_s"] = time.perf_counter() - wall
    print()
    print(table(results))
    print(f"\nwall time {results['wall_s']:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'metrics.json'}")


if __name__ == "__main__":
    main()
