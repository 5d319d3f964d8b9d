"""Composition: building a datamodule, module and trainer from a composed config, the loggers, reading and
restoring checkpoints, and whether the networks fit the data. Imports the core; never preflight or cli."""
