"""Build hook only (the project is declared in pyproject.toml): the Hydra config tree lives at the top of the
repository (``conf/``, the project's layout) and is copied into the built package as ``ganlab/conf/``, so a wheel
carries its configs; ``ganlab.common.errors.CONF_DIR`` finds them there, and in a clone (or an editable install)
finds ``conf/`` beside the package."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONF = Path(__file__).parent / "conf"


class BuildWithConf(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads conf/ from the source tree
            return
        target = Path(self.build_lib) / "ganlab" / "conf"
        for source in sorted(CONF.rglob("*.yaml")):
            destination = target / source.relative_to(CONF)
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": BuildWithConf})
