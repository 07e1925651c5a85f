"""The model manifest, offline builds of OpenVINO IR from PyPI packages, and their verification."""
