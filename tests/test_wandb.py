"""``logger=wandb``: offline run files (config, metrics, sample grids), the run id in checkpoints, multirun groups and
names, and resume (online: the same run by id; offline: a new run in the same group). No test touches the network:
the CLI runs with ``WANDB_MODE=offline`` and online loggers are only constructed, never started."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import time
from pathlib import Path

import pytest
import torch
from clirun import run_either
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ganlab.callbacks.wandb_run import WandbRunCallback, run_record, wandb_run_id, wandb_run_record
from ganlab.common.errors import CONF_DIR
from ganlab.composition.loggers import build_logger, logger_callbacks
from ganlab.composition.wandb_names import auto_tags, wandb_group, wandb_name

wandb = pytest.importorskip("wandb")
pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")

RING = [
    "experiment=ring_unrolled",
    "data.iterations_per_epoch=20",
    "data.batch_size=64",
    "model.max_iterations=20",
    "trainer.enable_progress_bar=false",
    "callbacks.mode_coverage.n_samples=200",
]
# An image run (the sample grid is sent to the logger): scikit-learn digits, MLP nets, 4 iterations.
DIGITS = [
    "experiment=digits_dcgan",
    "model=gan_mlp",
    "model.max_iterations=4",
    "data.batch_size=16",
    "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1",
]


# --------------------------------------------------------------------------- reading offline runs
def wandb_records(path: Path):
    """The records of a ``.wandb`` transaction log (LevelDB log format: 32 KiB blocks of chunks with a 7-byte
    header ``<crc u32><length u16><type u8>``, type 1 full / 2 first / 3 middle / 4 last), after the file's 7-byte
    ``:W&B`` header."""
    data, block = Path(path).read_bytes(), 32768
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    pos, buf = 7, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # block trailer
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0:  # zero padding
            break
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        buf = chunk if kind in (1, 2) else buf + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf)
            yield record


def read_offline_run(run_dir: Path, wait_s: float = 30.0) -> dict:
    """run id / group / name / tags / notes, the config (a dict) and every logged history key of an offline run.
    wandb's service writes the log asynchronously: on a loaded machine the run record can land a moment after
    ``wandb.finish()`` returns, so the file is read again until it holds one (at most ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    while True:
        out = parse_offline_run(run_dir)
        if "id" in out or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def parse_offline_run(run_dir: Path) -> dict:
    (log,) = run_dir.glob("run-*.wandb")
    out = {"config": {}, "history": {}}
    for record in wandb_records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            out.update(id=run.run_id, group=run.run_group, name=run.display_name, project=run.project)
            out.update(tags=list(run.tags), notes=run.notes)
            updates = run.config.update
        elif kind == "config":
            updates = record.config.update
        elif kind == "history":
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                out["history"].setdefault(key, []).append(json.loads(item.value_json))
            continue
        else:
            continue
        for item in updates:
            key = item.key or ".".join(item.nested_key)
            out["config"][key] = json.loads(item.value_json)
    return out


def offline_runs(root: Path) -> list[Path]:
    return sorted(root.glob("**/wandb/offline-run-*"))


def run_id_of(run_dir: Path) -> str:
    return run_dir.name.rsplit("-", 1)[-1]  # offline-run-<YYYYmmdd_HHMMSS>-<id>


def _ok(proc) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]


# --------------------------------------------------------------------------- CLI runs
def test_offline_run_holds_config_metrics_sample_grids_and_its_id_is_in_the_checkpoint(tmp_path):
    args = [*DIGITS, "logger=wandb", "logger.wandb.tags=[mine,ablation]"]
    proc = run_either(False, "ganlab-train", args, tmp_path, 300)
    _ok(proc)
    (run_dir,) = [p for p in (tmp_path / "outputs" / "train" / "digits_dcgan").iterdir() if p.is_dir()]
    (wb,) = offline_runs(run_dir)
    assert wb.parent == run_dir / "wandb"
    run = read_offline_run(wb)
    # the resolved config, as a plain nested dict
    assert run["config"]["loss"]["name"] == "non_saturating"
    assert run["config"]["name"] == "digits_dcgan"
    assert run["config"]["model"]["max_iterations"] == 4
    assert "hydra" not in run["config"]
    assert "${" not in json.dumps(run["config"])  # resolved
    # naming: a single run is grouped by experiment and named by its run directory
    assert run["id"] == run_id_of(wb)
    assert run["group"] == "digits_dcgan" and run["name"] == run_dir.name and run["project"] == "ganlab"
    assert run["tags"] == ["digits_dcgan", "non_saturating", "k=0", "mine", "ablation"]
    # metrics and sample grids reached the run
    assert len(run["history"]["train/d_loss"]) >= 4
    assert set(run["history"]["samples/grid/_type"]) == {"images/separated"}
    logged = [name for names in run["history"]["samples/grid/filenames"] for name in names]
    assert logged and all((wb / "files" / name).is_file() for name in logged)
    assert all(name.startswith("media/images/samples/grid_") for name in logged)
    # the checkpoint records this run (weights_only-loadable: plain strings)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert wandb_run_id(ckpt) == run["id"]
    record = torch.load(ckpt, map_location="cpu", weights_only=True)["wandb"]
    assert record == {"id": run["id"], "project": "ganlab", "group": "digits_dcgan", "name": run_dir.name}


def test_multirun_jobs_are_distinct_runs_in_one_group(tmp_path):
    args = ["-m", *RING, "trainer.log_every_n_steps=5", "logger=wandb", "loss=non_saturating,hinge"]
    proc = run_either(False, "ganlab-train", args, tmp_path, 300)  # main in this process (7 s of start-up less)
    _ok(proc)
    (sweep,) = (tmp_path / "multirun").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(jobs) == 2
    runs = []
    for job in jobs:
        (wb,) = offline_runs(job)  # one run per job, in the job's own directory
        assert wb.parent == job / "wandb"
        run = read_offline_run(wb)
        runs.append(run)
        # <num>_<swept overrides>; the job directory has every override
        assert run["name"] == f"{job.name[0]}_loss={run['config']['loss']['name']}"
        assert wandb_run_id(job / "checkpoints" / "last.ckpt") == run["id"] == run_id_of(wb)
        assert {"ring_unrolled", run["config"]["loss"]["name"], "k=5"} <= set(run["tags"])
        assert len(run["history"]["train/d_loss"]) == 4 and len(run["history"]["val/hq"]) == 1
    # one group per cell (the overrides but the seed): two losses, two groups; the sweep is a tag
    for job, r in zip(jobs, runs, strict=True):
        loss = f"loss={r['config']['loss']['name']}"
        cell = [o for o in OmegaConf.load(job / ".hydra" / "overrides.yaml") if not o.startswith("seed=")]
        digest = hashlib.sha1(",".join(sorted(cell)).encode()).hexdigest()[:8]
        assert r["group"] == f"ring_unrolled:{loss}~{digest}"
        assert f"sweep:{sweep.name}" in r["tags"]
    assert runs[0]["name"] != runs[1]["name"] and runs[0]["id"] != runs[1]["id"]
    assert [r["config"]["loss"]["name"] for r in runs] == ["non_saturating", "hinge"]
    # the CSV record is kept beside W&B, and ganlab-report's table is the same from either
    from ganlab.report import sweep as report

    tables = {}
    for source in ("csv", "wandb"):
        assert report.main([str(sweep), "--source", source, "--out", str(tmp_path / source)]) == 0
        tables[source] = (tmp_path / source / "report.csv").read_text()
    assert tables["csv"] == tables["wandb"] and "hq" in tables["csv"].splitlines()[0]
    # ganlab-report reads the same values back from the offline runs (this file's reader is the oracle)
    from ganlab.report.sources import from_wandb

    def metric_history(job, key):
        return {i: m[key.removeprefix("val/")] for i, m in from_wandb(job).items() if key.removeprefix("val/") in m}

    for job, run in zip(jobs, runs, strict=True):
        assert list(metric_history(job, "val/hq").values()) == run["history"]["val/hq"]
        assert list(metric_history(job, "val/hq")) == [20]  # trainer/global_step 19 + 1: iterations done


def test_resumed_offline_training_is_a_new_run_in_the_group_tagged_with_the_first_run(tmp_path):
    _ok(run_either(False, "ganlab-train", [*RING, "logger=wandb"], tmp_path, 300))  # both runs: main in this process
    (first_dir,) = (tmp_path / "outputs" / "train" / "ring_unrolled").iterdir()
    first = read_offline_run(offline_runs(first_dir)[0])
    assert wandb_run_id(first_dir / "checkpoints" / "last.ckpt") == first["id"]
    resume = [*RING, "model.max_iterations=40", "logger=wandb", "ckpt_path=last"]
    _ok(run_either(False, "ganlab-train", resume, tmp_path, 300))
    (second_dir,) = [p for p in (tmp_path / "outputs" / "train" / "ring_unrolled").iterdir() if p != first_dir]
    (wb,) = offline_runs(second_dir)
    second = read_offline_run(wb)
    assert second["id"] != first["id"] and second["group"] == first["group"] == "ring_unrolled"
    assert second["name"] == first["name"] and f"resumed-from:{first['id']}" in second["tags"]
    assert max(second["history"]["trainer/global_step"]) > max(first["history"]["trainer/global_step"])
    assert wandb_run_record(second_dir / "checkpoints" / "last.ckpt") == {
        "id": second["id"],
        "project": "ganlab",
        "group": "ring_unrolled",
        "name": first["name"],
    }


# --------------------------------------------------------------------------- resolvers (a faked Hydra job)
@pytest.fixture
def hydra_job():
    """Install a Hydra config as if this process ran a job; restore 'no job' afterwards."""
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    def install(mode: RunMode, sweep_dir: str, num: int, overrides: str, task: list[str] | None = None):
        hydra = OmegaConf.structured(HydraConf)
        hydra.mode, hydra.sweep.dir, hydra.job.num, hydra.job.override_dirname = mode, sweep_dir, num, overrides
        hydra.overrides.task = task or overrides.split(",")
        HydraConfig.instance().set_config(OmegaConf.create({"hydra": hydra}))

    before = HydraConfig.instance().cfg
    yield install
    HydraConfig.instance().cfg = before


def test_group_and_name_resolvers(hydra_job, tmp_path, monkeypatch):
    from hydra.types import RunMode

    cfg = OmegaConf.create(
        {
            "name": "mnist_dcgan",
            "loss": {"name": "hinge"},
            "model": {"unroll_steps": 3},
            "paths": {"run_dir": str(tmp_path / "2026-11-23_12-17-32-000001")},
            "logger": {
                "group": "${ganlab.wandb_group:${name}}",
                "name": "${ganlab.wandb_name:${paths.run_dir}}",
                "auto_tags": "${ganlab.wandb_tags:}",
            },
        }
    )
    # no Hydra job (a config composed in-process): the experiment and the run directory
    assert cfg.logger.group == "mnist_dcgan" and cfg.logger.name == "2026-11-23_12-17-32-000001"
    assert list(cfg.logger.auto_tags) == ["mnist_dcgan", "hinge", "k=3"]
    assert wandb_group(None) is None and wandb_name(None) is None
    hydra_job(RunMode.RUN, "multirun/2026-11-23_12-30-00", 0, "loss=hinge")
    assert cfg.logger.group == "mnist_dcgan" and cfg.logger.name == "2026-11-23_12-17-32-000001"
    # a multirun job: the group is the configuration (every override but the seed: the same cell of another sweep
    # joins it), the sweep a tag; the name the job's number + overrides with group-override slashes made safe …
    monkeypatch.setattr("sys.argv", ["ganlab-train", "-m", "seed=1"])
    hydra_job(RunMode.MULTIRUN, "/x/multirun/2026-11-23_12-17-32", 3, "callbacks/metrics=classifier,loss=hinge")

    def h(cell):  # the hash of a cell's overrides, as the group ends with it
        return hashlib.sha1(",".join(sorted(cell)).encode()).hexdigest()[:8]

    assert cfg.logger.group == "mnist_dcgan:callbacks.metrics=classifier,loss=hinge"  # nothing swept: every override
    assert cfg.logger.name == "3_callbacks.metrics=classifier,loss=hinge"
    assert list(cfg.logger.auto_tags) == ["mnist_dcgan", "hinge", "k=3", "sweep:2026-11-23_12-17-32"]
    # … only the swept ones in the name when the command line shows the sweep
    argv = ["ganlab-train", "-m", "loss=hinge,wgan", "data.batch_size=64", "callbacks/metrics=classifier,inception"]
    monkeypatch.setattr("sys.argv", [*argv, "seed=0,1"])
    task = ["loss=hinge", "data.batch_size=64", "callbacks/metrics=classifier", "seed=1"]
    hydra_job(RunMode.MULTIRUN, "m/2026-11-23_12-17-32", 3, "callbacks/metrics=classifier,data.batch_size=64", task)
    assert cfg.logger.name == "3_callbacks.metrics=classifier,loss=hinge,seed=1"
    # the group is the cell: the seeds of one configuration share it, whatever the sweep
    cell = "mnist_dcgan:callbacks.metrics=classifier,loss=hinge~" + h(task[:3])  # swept values, hash of them all
    assert cfg.logger.group == cell
    hydra_job(RunMode.MULTIRUN, "m/2026-12-01_08-00-00", 7, "x", [*task[:3], "seed=4"])
    assert cfg.logger.group == cell and "sweep:2026-12-01_08-00-00" in list(cfg.logger.auto_tags)
    # a job in a launcher's process reads what was swept from the sweep's multirun.yaml, not its own argv
    monkeypatch.setattr("sys.argv", ["loky-worker"])
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(OmegaConf.to_yaml({"hydra": {"overrides": {"task": [*argv[2:], "seed=0,1"]}}}))
    hydra_job(RunMode.MULTIRUN, str(sweep), 3, "callbacks/metrics=classifier,data.batch_size=64,seed=1", task)
    assert cfg.logger.name == "3_callbacks.metrics=classifier,loss=hinge,seed=1"
    # a sweep over seeds alone is one cell: the experiment is the group
    monkeypatch.setattr("sys.argv", ["ganlab-train", "-m", "loss=hinge", "seed=0,1,2"])
    hydra_job(RunMode.MULTIRUN, "m/2026-11-23_12-17-32", 2, "loss=hinge", ["loss=hinge", "seed=2"])
    assert cfg.logger.group == "mnist_dcgan~" + h(["loss=hinge"]) and cfg.logger.name == "2_seed=2"
    monkeypatch.setattr("sys.argv", ["ganlab-train", "-m", "loss=hinge,wgan"])  # the swept values are the cell
    hydra_job(RunMode.MULTIRUN, "m/2026-11-23_12-17-32", 0, "loss=hinge", ["loss=hinge"])
    assert cfg.logger.group == "mnist_dcgan:loss=hinge"
    monkeypatch.setattr("sys.argv", ["ganlab-train", "-m"])
    hydra_job(RunMode.MULTIRUN, "sweeps/lr_study", 1, "", [])
    assert cfg.logger.group == "mnist_dcgan" and cfg.logger.name == "job1"
    hydra_job(RunMode.MULTIRUN, "sweeps/s", 12, "x=" + "a" * 300)
    assert len(cfg.logger.name) == 128 and cfg.logger.name.startswith("12_x=a")
    long = cfg.logger.group
    hydra_job(RunMode.MULTIRUN, "sweeps/s", 12, "x=" + "a" * 299 + "b")
    assert len(long) == len(cfg.logger.group) == 128 and long != cfg.logger.group  # cut, and still apart
    # a model without unrolling and a config without a loss name give fewer tags
    assert list(auto_tags(OmegaConf.create({"name": "e", "model": {}}))) == ["e", "sweep:s"]  # in sweeps/s's job


# --------------------------------------------------------------------------- build_logger and resume
def compose_cfg(tmp_path: Path, overrides: list[str]):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=[*RING, f"paths.run_dir={tmp_path}", *overrides])


def fake_checkpoint(path: Path, record: dict) -> Path:
    torch.save({"state_dict": {"w": torch.zeros(2)}, "wandb": record}, path)
    return path


OLD = {"id": "old12345", "project": "gan-study", "group": "multirun_2026-11-20_09-00-00", "name": "0_loss=hinge"}


def test_build_logger_other_loggers(tmp_path):
    from ganlab.composition.csv_history import CSVHistoryLogger as CSVLogger

    assert build_logger(compose_cfg(tmp_path, ["logger=none"]), None) is False
    (csv,) = build_logger(compose_cfg(tmp_path, ["logger=csv"]), None)
    assert isinstance(csv, CSVLogger) and logger_callbacks([csv]) == []
    # several at once; every logger keeps the CSV record unless it is turned off
    from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger

    both = build_logger(compose_cfg(tmp_path, ["logger=[wandb,tensorboard]", "logger.wandb.mode=disabled"]), None)
    assert [type(lg) for lg in both] == [CSVLogger, WandbLogger, TensorBoardLogger]
    assert len(logger_callbacks(both)) == 1  # W&B's run record in the checkpoints
    for off in (["~logger.csv"], ["logger.csv=null"]):
        alone = build_logger(compose_cfg(tmp_path, ["logger=wandb", "logger.wandb.mode=disabled", *off]), None)
        assert [type(lg) for lg in alone] == [WandbLogger]


def test_online_resume_continues_the_recorded_run_without_touching_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")  # the config's explicit mode wins over the environment
    ckpt = fake_checkpoint(tmp_path / "last.ckpt", OLD)
    cfg = compose_cfg(tmp_path, ["logger=wandb", "logger.wandb.mode=online"])
    (_, logger) = build_logger(cfg, str(ckpt))  # the CSV record, then W&B
    init = logger._wandb_init
    assert logger._experiment is None  # nothing started
    assert init["id"] == "old12345" and init["resume"] == "allow" and init["mode"] == "online"
    assert (init["project"], init["group"], init["name"]) == ("gan-study", OLD["group"], OLD["name"])
    assert not any(t.startswith("resumed-from") for t in init["tags"])
    assert init["config"]["loss"]["name"] == "non_saturating" and "hydra" not in init["config"]
    # the callback would write the same run into the next checkpoint, still without starting a run
    (callback,) = logger_callbacks(logger)
    assert isinstance(callback, WandbRunCallback)
    assert run_record(logger) == OLD
    assert logger._experiment is None

    # a fresh online run (no checkpoint, or one without a record) gets a new id and no resume
    for resume in (None, str(fake_checkpoint(tmp_path / "plain.ckpt", {}))):
        init = build_logger(cfg, resume)[1]._wandb_init
        assert init["id"] != "old12345" and init["resume"] is None and init["group"] == "ring_unrolled"


def test_offline_resume_is_a_new_run_in_the_same_group_tagged_with_the_old_id(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    ckpt = fake_checkpoint(tmp_path / "last.ckpt", OLD)
    assert wandb_run_record(ckpt) == OLD
    cfg = compose_cfg(tmp_path, ["logger=wandb", "logger.wandb.mode=offline", "logger.wandb.notes=second segment"])
    (_, logger) = build_logger(cfg, str(ckpt))  # the CSV record, then W&B
    init = logger._wandb_init
    assert init["mode"] == "offline" and init["resume"] is None
    assert re.fullmatch(r"[a-z0-9]{8}", init["id"]) and init["id"] != OLD["id"]
    assert init["group"] == OLD["group"] and init["name"] == OLD["name"]
    assert "resumed-from:old12345" in init["tags"] and "ring_unrolled" in init["tags"]
    # the tags and notes reach the offline run
    try:
        assert logger.experiment.id == init["id"]
    finally:
        wandb.finish()
    (wb,) = offline_runs(tmp_path)
    run = read_offline_run(wb)
    assert run["id"] == init["id"] and run["group"] == OLD["group"]
    assert "resumed-from:old12345" in run["tags"]
    assert run["notes"].startswith("second segment\n") and "old12345" in run["notes"]


def test_bad_mode_and_log_model_offline_are_refused(tmp_path):
    with pytest.raises(ValueError, match="logger.wandb.mode=sometimes"):
        build_logger(compose_cfg(tmp_path, ["logger=wandb", "logger.wandb.mode=sometimes"]), None)
    with pytest.raises(ValueError, match="logger.wandb.log_model"):
        args = ["logger=wandb", "logger.wandb.mode=offline", "logger.wandb.log_model=true"]
        build_logger(compose_cfg(tmp_path, args), None)
