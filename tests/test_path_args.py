"""Paths holding "=" and "," (a multirun job's folder, ``0_loss=hinge,seed=1``) on the command line: quoted for
Hydra's override grammar by the entry points, so ``ckpt=<job>/checkpoints/last.ckpt`` reads as one path."""

from __future__ import annotations

from ganlab.common.path_args import quote_paths

JOB = "multirun/x/0_loss=hinge,seed=1/checkpoints/last.ckpt"


def test_path_values_with_equals_are_quoted_and_nothing_else():
    argv = [f"ckpt={JOB}", f"ckpt_path={JOB}", f"paths.run_dir={JOB}", f"+data.root={JOB}", "loss=hinge,lsgan"]
    assert quote_paths(argv) == [
        f"ckpt='{JOB}'",
        f"ckpt_path='{JOB}'",
        f"paths.run_dir='{JOB}'",
        f"+data.root='{JOB}'",
        "loss=hinge,lsgan",  # not a path: a sweep
    ]
    assert quote_paths(["ckpt_path=a.ckpt,b.ckpt"]) == ["ckpt_path=a.ckpt,b.ckpt"]  # no "=": a sweep of two paths
    assert quote_paths([f"ckpt='{JOB}'"]) == [f"ckpt='{JOB}'"]  # already quoted
    assert quote_paths(["ckpt=a=b'c"]) == ["ckpt=a=b'c"]  # a quote inside: left for Hydra to report


def test_the_entry_points_read_a_job_folders_checkpoint_path(tmp_path):
    from clirun import run_in_process

    job = tmp_path / "0_loss=hinge,seed=1" / "checkpoints"
    job.mkdir(parents=True)
    (job / "last.ckpt").write_bytes(b"not a checkpoint")
    for script, key in (("ganlab-eval", "ckpt"), ("ganlab-latent", "ckpt"), ("ganlab-train", "ckpt_path")):
        argv = [f"{key}={job / 'last.ckpt'}"] + (["experiment=ring_gan", "logger=none"] if key == "ckpt_path" else [])
        proc = run_in_process(script, argv, tmp_path)
        assert proc.returncode == 2, (script, proc.stderr)
        line = proc.stderr.strip().splitlines()[-1]
        assert "is not a readable checkpoint" in line and "0_loss=hinge,seed=1" in line, (script, line)
