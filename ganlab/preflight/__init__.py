"""Preflight: everything checked before a run starts — the command line, per-key rules, cross-key checks, the
schemas, the run folder, what a resume may change, DDP launch rules. The only layer that imports composition."""
