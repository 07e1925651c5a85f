"""Shared fixtures: real sample media (fetched by install.py) and real models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from obs_deepzoom.media import VideoSource, read_image
from obs_deepzoom.samples import sample


@pytest.fixture(scope="session")
def portrait() -> np.ndarray:
    return read_image(sample("single_face.jpg"))


@pytest.fixture(scope="session")
def clip_frames() -> list[np.ndarray]:
    return list(VideoSource.open_file(sample("single_face.mp4")).frames())


@pytest.fixture(scope="session")
def clip_720p(clip_frames) -> list[np.ndarray]:
    return [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC) for f in clip_frames]
