"""The wheel carries the web UI's browser files, taken from npm when it is built
(scripts/vendor_web_assets.py); everything else is in pyproject.toml."""

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithWebAssets(build_py):
    def run(self) -> None:
        script = Path(__file__).parent / "scripts" / "vendor_web_assets.py"
        runpy.run_path(str(script))["vendor"]()
        super().run()


setup(cmdclass={"build_py": BuildPyWithWebAssets})
