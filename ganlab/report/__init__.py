"""Reading finished runs back: a sweep's table and plots (``sweep.py``), a metric along training by cell
(``curves.py``); ``ganlab-report`` (``ganlab/cli/report.py``) is their command. Only files are read: no torch, no
Lightning."""
