"""Package list for setuptools (metadata is in pyproject.toml): the obs_deepzoom tree, plus the checkout's
ir_models/ and presets/ folders mapped into the package so a wheel carries the manifest and the presets."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["obs_deepzoom", "obs_deepzoom.*"]) + ["obs_deepzoom.bundled.ir_models",
                                                                            "obs_deepzoom.bundled.presets"])
