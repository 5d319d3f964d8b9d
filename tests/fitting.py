"""A quiet CPU Trainer for unit tests that fit a module for a few iterations (no logger, bar, summary or checkpoints;
every iteration logged)."""

import pytorch_lightning as pl


def quiet_trainer(**overrides) -> pl.Trainer:
    settings = {
        "accelerator": "cpu",
        "max_epochs": -1,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "log_every_n_steps": 1,
    }
    return pl.Trainer(**(settings | overrides))
