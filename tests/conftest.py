"""Shared fixtures: real sample media (fetched by install.py) and real models."""

from __future__ import annotations

import ipaddress
import socket

import cv2
import numpy as np
import pytest

from obs_deepzoom import netguard
from obs_deepzoom.media import VideoSource, read_image
from obs_deepzoom.samples import sample

_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address) -> None:
    """socket.connect for an offline run: local sockets and loopback (OBS's websocket) only."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise OSError(f"offline test run ({netguard.OFFLINE_ENV}=1): no connection to {host}")
    return _connect(sock, address)


if netguard.offline():  # install.py runs the suite so: beyond our own guard, no test process reaches the network
    socket.socket.connect = _loopback_only


@pytest.fixture(scope="session")
def portrait() -> np.ndarray:
    return read_image(sample("single_face.jpg"))


@pytest.fixture(scope="session")
def clip_frames() -> list[np.ndarray]:
    return list(VideoSource.open_file(sample("single_face.mp4")).frames())


@pytest.fixture(scope="session")
def clip_720p(clip_frames) -> list[np.ndarray]:
    return [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC) for f in clip_frames]
