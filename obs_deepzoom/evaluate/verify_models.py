"""`deepzoom models verify`: hashes of every built model, one real inference each (sample photo / speech),
and the bf16-vs-f32 difference of its outputs on that input (how the manifest's precision was chosen)."""

from __future__ import annotations

import wave

import numpy as np

from ..errors import DeepZoomError
from ..modelstore.build import build_state
from ..modelstore.manifest import load_manifest


def speech_16k() -> np.ndarray:
    from ..samples import sample

    with wave.open(str(sample("speech_librivox.wav"))) as w:
        if w.getframerate() != 16000 or w.getsampwidth() != 2:
            raise DeepZoomError("speech sample is not 16 kHz 16-bit")
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def _denoise_check(name: str) -> tuple[str, object]:
    """Real speech (LibriVox) plus white noise at 5 dB through the network at its rate: SI-SDR must rise by 3 dB."""
    import soxr

    from ..engine.audio import nets
    from ..engine.audio.dfn import DeepFilterNet
    from .audio_metrics import si_sdr

    factory = {"nsnet2_16k": nets.NsNet2, "gtcrn": nets.Gtcrn}.get(name, lambda d: nets.Dtln(True, d))
    net = DeepFilterNet("CPU") if name.startswith("dfn3_") else factory("CPU")
    speech = soxr.resample(speech_16k()[:48000], 16000, net.RATE, quality="VHQ").astype(np.float32)
    noise = np.random.default_rng(0).standard_normal(len(speech)).astype(np.float32)
    noisy = speech + noise * np.float32(np.std(speech) / np.std(noise) / 10 ** (5 / 20))
    pad = net.HOP * 4 + (-len(noisy)) % net.HOP
    out = net(np.concatenate([noisy, np.zeros(pad, np.float32)]))[net.latency:net.latency + len(speech)]
    before, after = si_sdr(noisy, speech), si_sdr(out, speech)
    if not after > before + 3:
        raise DeepZoomError(f"{name}: SI-SDR {before:.1f} -> {after:.1f} dB on speech in white noise")
    infer = {"dtln_1": getattr(net, "stage1", None), "dtln_2": getattr(net, "stage2", None),
             "dfn3_enc": getattr(net, "enc", None), "dfn3_erb_dec": getattr(net, "erb_dec", None),
             "dfn3_df_dec": getattr(net, "df_dec", None)}.get(name)
    return f"speech in white noise: SI-SDR {before:.1f} -> {after:.1f} dB", infer or net.infer


def _precision_gap(infer) -> float:
    """Max |bf16 - f32| over outputs, relative to the f32 output range, on the inputs last used."""
    from ..engine.runtime import core

    outs = {}
    for prec in ("bf16", "f32"):
        xml = str(load_manifest().get(infer.name).xml)
        cm = core().compile_model(xml, "CPU", {"INFERENCE_PRECISION_HINT": prec})
        req = cm.create_infer_request()
        req.infer([b.copy() for b in infer.values])
        outs[prec] = [req.get_output_tensor(i).data.copy() for i in range(len(cm.outputs))]
    gaps = [np.abs(a - b).max() / max(np.ptp(b), np.abs(b).max(), 1e-6) for a, b in zip(outs["bf16"], outs["f32"])]
    return float(max(gaps))


def _check(name: str, photo: np.ndarray) -> tuple[str, object]:
    from ..engine import models
    from ..engine.geometry import Roi

    if name in ("dtln_1", "dtln_2", "nsnet2_16k", "gtcrn") or name.startswith("dfn3_"):
        return _denoise_check(name)

    if name in ("age_v1", "gender_v1", "sface", "fer_expression"):
        return _check_analytics(name, photo)
    if name.startswith("face_detection"):
        det = models.FaceDetector(name.rsplit("_", 1)[1], "CPU")
        found = det.detect(photo)
        if not found:
            raise DeepZoomError(f"{name}: no face found on the sample portrait")
        return f"{len(found)} face(s), best score {max(d.score for d in found):.2f}", det.infer
    det = models.FaceDetector("short", "CPU").detect(photo)
    x, y, w, h = det[0].box
    roi = Roi(x + w / 2, y + h / 2, max(w, h) * 1.5)
    if name == "face_landmark":
        mesh = models.FaceMesh("CPU")
        pts, score = mesh.run(photo, roi)
        if score < 0.5:
            raise DeepZoomError(f"{name}: face presence {score:.2f} on the sample portrait")
        return f"presence {score:.2f}", mesh.infer
    if name == "iris_landmark":
        pts, _ = models.FaceMesh("CPU").run(photo, roi)
        iris = models.IrisLandmarks("CPU")
        eyes = (Roi.around(pts[[33, 133]], 0, 1, 2.3), Roi.around(pts[[362, 263]], 0, 1, 2.3))
        iris.start(photo, eyes, (False, True))
        _, centres = iris.wait()
        off = [np.linalg.norm(c[0, :2] - (e.cx, e.cy)) / e.size for c, e in zip(centres, eyes)]
        if max(off) > 0.25:
            raise DeepZoomError(f"{name}: iris centre far from the eye ({max(off):.2f} of the crop)")
        return f"iris centres within {max(off):.2f} of the eye crop centre", iris.infer
    if name.startswith("selfie_segmentation"):
        seg = models.SelfieSegmenter(name.endswith("landscape"), "CPU")
        mask = seg.run(photo)
        ph, pw = photo.shape[:2]
        cy, cx = int((y + h / 2) / ph * mask.shape[0]), int((x + w / 2) / pw * mask.shape[1])
        inside = float(mask[cy, cx])
        if inside < 0.5:
            raise DeepZoomError(f"{name}: face centre has person probability {inside:.2f}")
        return f"person p={inside:.2f} at the face, area {100 * (mask > 0.5).mean():.0f}%", seg.infer
    if name.startswith("fsrcnn"):
        return _check_sr(name, photo, (x, y, w, h))
    if name == "silero_vad":
        vad = models.SileroVad()
        speech = speech_16k()
        probs = [vad(speech[i:i + 512]) for i in range(0, len(speech) - 512, 512)]
        vad.reset()
        quiet = max(vad(np.zeros(512, np.float32)) for _ in range(10))
        if max(probs) < 0.5 or quiet > 0.3:
            raise DeepZoomError(f"{name}: speech max p={max(probs):.2f}, silence p={quiet:.2f}")
        return f"speech p(max)={max(probs):.2f}, mean {np.mean(probs):.2f}; silence p={quiet:.2f}", vad.infer
    raise DeepZoomError(f"no verification defined for {name}")


def _check_analytics(name: str, photo: np.ndarray) -> tuple[str, object]:
    """The sample portrait (a smiling man): a plausible age, 'male', 'happy', and embeddings on the right sides
    of the analytics threshold: the same face mirrored below it, another person (Grace Hopper's portrait) above it."""
    import cv2

    from ..engine.analytics import models as am
    from ..engine.face import FaceTracker
    from ..samples import sample

    def mesh(img):
        faces = FaceTracker().process(img, 0.0)
        if not faces:
            raise DeepZoomError(f"{name}: the tracker found no face on the sample portrait")
        return faces[0].landmarks

    lm = mesh(photo)
    if name == "age_v1":
        net = am.AgeEstimator("CPU")
        age, spread = net(photo, lm)
        if not 15 <= age <= 70:
            raise DeepZoomError(f"{name}: apparent age {age:.0f} for the sample portrait's adult")
        return f"apparent age {age:.0f} (spread {spread:.0f} years)", net.infer
    if name == "gender_v1":
        net = am.GenderEstimator("CPU")
        female = net(photo, lm)
        if female >= 0.5:
            raise DeepZoomError(f"{name}: p(female) {female:.2f} for the sample portrait's man")
        return f"p(female) {female:.2f} for a man", net.infer
    if name == "fer_expression":  # the sample portrait's man smiles broadly
        net = am.ExpressionEstimator("CPU")
        p = dict(zip(am.EXPRESSIONS, net(photo, lm)))
        if p["happy"] < 0.5:
            raise DeepZoomError(f"{name}: p(happy) {p['happy']:.2f} for the sample portrait's broad smile")
        return f"p(happy) {p['happy']:.2f} for a broad smile", net.infer
    net = am.FaceEmbedder("CPU")
    mirror = np.ascontiguousarray(photo[:, ::-1])
    other = cv2.imread(str(sample("grace_hopper.jpg")))
    e, e_mirror, e_other = net(photo, lm), net(mirror, mesh(mirror)), net(other, mesh(other))
    from ..settings import AnalyticsSettings

    same, diff = float(np.linalg.norm(e - e_mirror)), float(np.linalg.norm(e - e_other))
    threshold = AnalyticsSettings().threshold
    if not (np.isfinite(e).all() and same < threshold <= diff):
        raise DeepZoomError(f"{name}: distance to its mirror image {same:.2f}, to another person {diff:.2f} "
                            f"(the same-person threshold {threshold} must lie between)")
    return f"distance to its mirror image {same:.2f}, to another person {diff:.2f}", net.infer


def _check_sr(name: str, photo: np.ndarray, box) -> tuple[str, object]:
    """The face of the sample portrait reduced by the model's scale and rebuilt: right size, close to the
    original (PSNR of the luma, bicubic alongside)."""
    import cv2

    from ..engine import models

    sr = models.SuperResolution(int(name.rsplit("x", 1)[1]), "CPU")
    x, y, w, h = (int(v) for v in box)
    side = max(w, h) // (4 * sr.scale) * 4 * sr.scale
    hr = cv2.cvtColor(photo[y:y + side, x:x + side], cv2.COLOR_BGR2YCrCb)[..., 0].astype(np.float32)
    lr = cv2.resize(hr, (side // sr.scale, side // sr.scale), interpolation=cv2.INTER_AREA)
    out = sr.run(np.clip(lr + 0.5, 0, 255).astype(np.uint8)) * 255
    if out.shape != hr.shape:
        raise DeepZoomError(f"{name}: output {out.shape} for a {lr.shape} input, expected {hr.shape}")
    bicubic = cv2.resize(lr, (side, side), interpolation=cv2.INTER_CUBIC)

    def psnr(a):
        return 10 * np.log10(255**2 / max(float(np.mean((np.clip(a, 0, 255) - hr) ** 2)), 1e-9))

    if psnr(out) < 25:
        raise DeepZoomError(f"{name}: face rebuilt at only {psnr(out):.1f} dB PSNR")
    return f"face x{sr.scale}: PSNR {psnr(out):.1f} dB (bicubic {psnr(bicubic):.1f} dB)", sr.infer


def verify(names: list[str] | None = None, progress=print) -> list[dict]:
    from ..engine.canonical import load_canonical_face
    from ..media import read_image
    from ..samples import sample

    manifest = load_manifest()
    entries = [manifest.get(n) for n in names] if names else manifest.models
    photo = read_image(sample("single_face.jpg"))
    rows = []
    for entry in entries:
        row = {"model": entry.name, "state": build_state(entry), "precision": entry.precision}
        if row["state"] == "ok":
            try:
                row["check"], infer = _check(entry.name, photo)
                row["bf16_vs_f32"] = round(_precision_gap(infer), 5)
                row["ok"] = True
            except DeepZoomError as exc:
                row.update(check=str(exc), ok=False)
        else:
            row.update(check=f"run: deepzoom models build {entry.name}", ok=False)
        progress(f"{entry.name:32s} {'OK ' if row['ok'] else 'BAD'} {row['state']:8s} {row['check']}"
                 + (f"  (bf16 vs f32: {row['bf16_vs_f32']:.4f} of range)" if "bf16_vs_f32" in row else ""))
        rows.append(row)
    if not names:
        canonical = load_canonical_face()
        rows.append({"model": "canonical_face", "state": "ok", "ok": True,
                     "check": f"{canonical.shape[0]} points, outer eye corners "
                              f"{np.linalg.norm(canonical[263] - canonical[33]):.0f} mm"})
        progress(f"{'canonical_face':32s} OK  ok       {rows[-1]['check']}")
    return rows
