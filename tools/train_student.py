"""Train a distilled student of `best` for denoise mode "light" (tools/student_net.py, tools/student_weights.npz).
Development only; NOT shipped: it did not beat `light` (DTLN's first stage) on PESQ-WB (docs/audio.md,
"Distilled student (light mode)", has the figures).

Teacher: `best` = our DeepFilterNet3 port at 48 kHz + the refinement stage (dnpost, at its shipped strength).
Student (tools/student_net.py): 16 kHz, 320-point Vorbis-window STFT every 160 samples, one
frame of lookahead; per frame the noisy frame's 32 ERB band levels and its lowest bins' levels (dB minus an
exponential mean) -> dense -> GRU -> 32 band gains + a complex deep filter over frames t-2..t+1 for the lowest
bins (DeepFilterNet's idea at RNNoise's size). Loss: the distillation target (the teacher's enhanced
spectrum, 0-8 kHz) blended with the clean target: `teacher` x L(student, teacher) + (1 - teacher) x
L(student, clean), L = -SI-SDR/10 of the rebuilt 16 kHz waveform + 10 x the compressed spectral loss of
tools/train_dnpost.py.

Reproduce (one CPU thread throughout):

    export PYTHONPATH=. DEEPZOOM_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
    .venv/bin/python tools/train_student.py prepare out/student_train.npz train 600   # ~20 min, 1.3 GB
    .venv/bin/python tools/train_student.py prepare out/student_val.npz val 100       # ~3 min
    python -m venv /tmp/jv && /tmp/jv/bin/pip install jax numpy scipy
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
    /tmp/jv/bin/python tools/train_student.py fit out/student_train.npz out/student_val.npz \
        tools/student_weights.npz 4000 128 0.5 0 21     # steps hidden teacher-weight seed minutes [lr=2e-3]
    # measured (the project's venv, one thread):
    .venv/bin/python tools/train_student.py evaluate out/student_val.npz student,dtln1,best 40   # validation
    .venv/bin/python tools/train_student.py evaluate eval student,dtln1,best 24      # the eval's held-out set
    .venv/bin/python tools/train_student.py bench student,dtln1 20 5                 # interleaved, ms per block

The weights in tools/student_weights.npz are run "a" of docs/audio.md (teacher weight 0.5, 4000 steps, 21 min
limit; 19 min on one shared core; best validation SI-SDR at step 3500: 9.83 dB, teacher 10.76, noisy 4.22);
run "b" (teacher weight 1.0, pure distillation, 16 min limit: 3061 steps, 9.50 dB) lost on validation PESQ-WB.

The mixtures are exactly those of tools/train_dnpost.py (same sources, same splits, same seeds: nothing that
`deepzoom eval denoise` uses; validation from held-out files); see its docstring. `prepare` runs the teacher
(DeepFilterNet3 + refinement, exactly as the effect at 48 kHz) and keeps, per 10 ms frame, its lowest 161 STFT
bins (0-8 kHz) and the clean frame's, plus the noisy 16 kHz STFT the student sees.
The checkpoint kept is the one with the best validation SI-SDR (whole validation mixtures, against clean)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

BINS = 161  # 0..8 kHz: 320-point FFT at 16 kHz
HOP16, WIN16 = 160, 320
CROP, BATCH = 300, 16  # training sequences: 3 s crops


def vorbis(n: int = WIN16) -> np.ndarray:
    return np.sin(0.5 * np.pi * np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 2).astype(np.float32)


def stft16(x: np.ndarray, frames: int) -> np.ndarray:
    """Frame k covers x[(k-1)*HOP : (k+1)*HOP] (as the 48 kHz frames of train_dnpost.stft_low); no scaling."""
    pad = np.concatenate([np.zeros(WIN16 - HOP16, np.float32), x, np.zeros(WIN16 * 4, np.float32)])
    idx = np.arange(frames)[:, None] * HOP16 + np.arange(WIN16)[None]
    return np.fft.rfft(pad[idx] * vorbis(), axis=1).astype(np.complex64)


def teacher_frames(net, x48: np.ndarray):
    """Run `best` (DFN3 + refinement) over x48; return its refined low bins per frame, aligned with the noisy
    frames (frame j), scaled like stft16."""
    from obs_deepzoom.engine.audio import dfn

    out, last = [], {}
    post, orig = net.post, net._frame

    def record(newest, frame_noisy, enh):
        r = post(newest, frame_noisy, enh)
        last["out"] = r[:BINS].copy()
        return r

    def hook(frame):
        last.clear()
        y = orig(frame)
        out.append(last.get("out", np.zeros(BINS, np.complex64)))
        return y

    net.reset()
    net.post, net._frame = record, hook
    hop = dfn.HOP
    n = (len(x48) // hop + dfn.LOOKAHEAD + 1) * hop
    try:
        net(np.concatenate([x48, np.zeros(n - len(x48), np.float32)]))
    finally:
        net.post, net._frame = post, orig
    out = np.array(out)[dfn.LOOKAHEAD:]
    return out * np.float32(WIN16)  # the 48 kHz bins are rfft/960 of 3x the samples: = rfft16 / 320


def prepare(out: str, split: str, count: int, seed: int | None = None):
    import train_dnpost as td

    from obs_deepzoom.engine.audio.dfn import DeepFilterNet
    from obs_deepzoom.evaluate import audio_data as ad

    rng = np.random.default_rng(seed if seed is not None else (1 if split == "train" else 2))
    src = td.Sources(split)
    net = DeepFilterNet("CPU", 1, refine=True)
    N, T, C, L, K, S, Y16, C16 = [], [], [], [], [], [], [], []
    for i in range(count):
        c, y, kind, snr = td.make_mixture(src, rng)
        y48 = ad.to_rate(y, ad.RATE, 48000)
        t = teacher_frames(net, y48)
        frames = len(y) // HOP16 + 1
        t = np.concatenate([t, np.zeros((max(0, frames - len(t)), BINS), np.complex64)])[:frames]
        N.append(stft16(y, frames)), T.append(t), C.append(stft16(c, frames)), L.append(frames)
        K.append(kind), S.append(snr), Y16.append(y), C16.append(c)
        if i % 50 == 0:
            print(f"{i}/{count} {kind} {snr:.1f} dB {frames} frames", flush=True)
    np.savez(out, noisy=np.concatenate(N), teacher=np.concatenate(T), clean=np.concatenate(C),
             lengths=np.array(L), kinds=np.array(K), snrs=np.array(S),
             **({"noisy16": np.concatenate(Y16), "clean16": np.concatenate(C16),
                 "samples": np.array([len(v) for v in Y16])} if split == "val" else {}))


# ---- fit (JAX) --------------------------------------------------------------------------------------------
def _student_module():
    import student_net  # tools/student_net.py: numpy only at import (OpenVINO only to build the model)

    return student_net


def load_set(path: str):
    """Features per frame (exactly as student.Student computes them while streaming) and the spectra."""
    from scipy.signal import lfilter

    st = _student_module()
    d = np.load(path)
    N, T, C, L = d["noisy"], d["teacher"], d["clean"], d["lengths"]
    band, low = st.levels(N.real ** 2 + N.imag ** 2)
    feats, offs = [], np.concatenate([[0], np.cumsum(L)])
    for a, b in zip(offs[:-1], offs[1:]):
        mean = lfilter([1 - st.ALPHA], [1, -st.ALPHA], band[a:b], axis=0,
                       zi=np.full((1, st.BANDS), st.ALPHA * st.MEAN0))[0]
        feats.append(st.features(band[a:b], low[a:b], mean))
    return np.concatenate(feats).astype(np.float32), N, T, C, offs, d["kinds"]


def fit(train: str, val: str, out: str, steps: str = "3000", hidden: str = "128", teacher: str = "0.7",
        seed: str = "0", minutes: str = "22", lr: str = "2e-3"):
    import time

    import jax
    import jax.numpy as jnp

    st = _student_module()
    steps, H, beta, minutes = int(steps), int(hidden), float(teacher), float(minutes)
    F_, N_, T_, C_, offs, _ = load_set(train)
    vF, vN, vT, vC, voffs, vkinds = load_set(val)
    nin, bands, ndf, order = F_.shape[1], st.BANDS, st.NDF, st.ORDER
    nout = bands + order * ndf * 2
    bob = st.band_of_bin()
    w16 = jnp.asarray(st.vorbis_window(), jnp.float32)
    print(f"train {len(F_)} frames ({len(F_) / 6000:.0f} min), val {len(vF)}; {nin} inputs, hidden {H}, "
          f"teacher weight {beta}", flush=True)

    rng = np.random.default_rng(int(seed))
    k = jax.random.split(jax.random.PRNGKey(int(seed)), 4)
    H1 = H
    params = {
        "in_w": jax.random.normal(k[0], (H1, nin)) * np.sqrt(2 / nin), "in_b": jnp.zeros(H1),
        "gru_wi": jax.random.normal(k[1], (3 * H, H1)) / np.sqrt(H1), "gru_bi": jnp.zeros(3 * H),
        "gru_uh": jax.random.normal(k[2], (3 * H, H)) / np.sqrt(H), "gru_bh": jnp.zeros(3 * H),
        "out_w": jax.random.normal(k[3], (nout, H + H1)) * 0.01,
        "out_b": jnp.concatenate([jnp.zeros(bands), jnp.zeros(nout - bands)]),
    }
    print(f"parameters {sum(int(np.prod(v.shape)) for v in params.values())}", flush=True)

    def net(p, feats):  # (B, T, nin) -> gains (B, T, bands), taps (B, T, order, ndf) complex
        a = jax.nn.relu(feats @ p["in_w"].T + p["in_b"])
        gi = a @ p["gru_wi"].T + p["gru_bi"]

        def step(h, g):
            gh = h @ p["gru_uh"].T + p["gru_bh"]
            z = jax.nn.sigmoid(g[:, :H] + gh[:, :H])
            r = jax.nn.sigmoid(g[:, H:2 * H] + gh[:, H:2 * H])
            c = jnp.tanh(g[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * c + z * h
            return h, h

        _, hs = jax.lax.scan(step, jnp.zeros((feats.shape[0], H)), jnp.swapaxes(gi, 0, 1))
        hs = jnp.swapaxes(hs, 0, 1)
        o = jnp.concatenate([hs, a], -1) @ p["out_w"].T + p["out_b"]
        taps = o[..., bands:].reshape(*o.shape[:2], order, ndf, 2)
        return st.GAIN_MAX * jax.nn.sigmoid(o[..., :bands]), taps[..., 0] + 1j * taps[..., 1]

    def enhance(p, feats, n):
        """Output spectra for frames 0..T-2 (frame t from the network's step t + 1, which has seen frame t+1)."""
        g, taps = net(p, feats)
        g, taps = g[:, 1:], taps[:, 1:]
        y = g[..., bob] * n[:, :-1]
        npad = jnp.pad(n[..., :ndf], ((0, 0), (order - 1 - st.LOOK, 0), (0, 0)))  # frames t-2..t+1 for each t
        T = n.shape[1] - 1
        df = sum(taps[:, :, j] * npad[:, j:j + T] for j in range(order))
        return y.at[..., :ndf].add(df)

    def istft16(spec):
        fr = jnp.fft.irfft(spec, n=320, axis=-1) * w16
        return fr[:, 1:, :160].reshape(fr.shape[0], -1) + fr[:, :-1, 160:].reshape(fr.shape[0], -1)

    def si_sdr(y, c):
        a = jnp.sum(y * c, -1, keepdims=True) / (jnp.sum(c * c, -1, keepdims=True) + 1e-12)
        s = a * c
        return 10 * jnp.log10(jnp.sum(s * s, -1) + 1e-12) - 10 * jnp.log10(jnp.sum((y - s) ** 2, -1) + 1e-12)

    def spec_loss(y, c, n):
        sc = jnp.sqrt(jnp.mean(jnp.abs(n) ** 2, axis=(1, 2), keepdims=True)) + 1e-9
        y, c = y / sc, c / sc
        my, mc = jnp.abs(y) + 1e-8, jnp.abs(c) + 1e-8
        mag = jnp.mean((my ** 0.3 - mc ** 0.3) ** 2)
        cplx = jnp.mean(jnp.abs(y * my ** -0.7 - c * mc ** -0.7) ** 2)
        return mag + cplx

    def loss_fn(p, feats, n, t, c):
        y = enhance(p, feats, n)
        n, t, c = n[:, :-1], t[:, :-1], c[:, :-1]
        wy = istft16(y)
        sdr_c, sdr_t = si_sdr(wy, istft16(c)), si_sdr(wy, istft16(t))
        lc = -jnp.mean(sdr_c) / 10 + 10 * spec_loss(y, c, n)
        lt = -jnp.mean(sdr_t) / 10 + 10 * spec_loss(y, t, n)
        return beta * lt + (1 - beta) * lc, sdr_c

    lr0 = float(lr)

    def adam(p, g, m, v, t):
        lr = lr0 * jnp.minimum(1.0, t / 200) * (0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(t / steps, 1.0))) * 0.95 + 0.05)
        m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        p = jax.tree.map(lambda p, m, v: p - lr * (m / (1 - 0.9 ** t)) / (jnp.sqrt(v / (1 - 0.999 ** t)) + 1e-8),
                         p, m, v)
        return p, m, v

    @jax.jit
    def train_step(p, m, v, t, feats, n, tt, c):
        (loss, sdr), g = jax.value_and_grad(loss_fn, has_aux=True)(p, feats, n, tt, c)
        gnorm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(g)))
        g = jax.tree.map(lambda x: x * jnp.minimum(1.0, 1.0 / (gnorm + 1e-9)), g)
        p, m, v = adam(p, g, m, v, t)
        return p, m, v, loss, jnp.mean(sdr)

    T = int(np.max(np.diff(voffs)))
    nv = len(voffs) - 1
    VF = np.zeros((nv, T, nin), np.float32)
    VN, VT, VC = (np.zeros((nv, T, BINS), np.complex64) for _ in range(3))
    for i, (a, b) in enumerate(zip(voffs[:-1], voffs[1:])):
        VF[i, : b - a], VN[i, : b - a], VT[i, : b - a], VC[i, : b - a] = vF[a:b], vN[a:b], vT[a:b], vC[a:b]

    @jax.jit
    def val_sdr(p, VF, VN, VT, VC):
        c = istft16(VC[:, :-1])
        y = istft16(enhance(p, VF, VN))
        return si_sdr(y, c), si_sdr(istft16(VT[:, :-1]), c), si_sdr(istft16(VN[:, :-1]), c), \
            si_sdr(y, istft16(VT[:, :-1]))

    def report(p, tag):
        ours, teach, noisy, vs_t = (np.asarray(x) for x in val_sdr(p, VF, VN, VT, VC))
        per = " ".join(f"{kd} {np.mean(noisy[vkinds == kd]):.2f}/{np.mean(teach[vkinds == kd]):.2f}/"
                       f"{np.mean(ours[vkinds == kd]):.2f}" for kd in ("typing", "music", "machines", "babble"))
        print(f"[{tag}] val SI-SDR noisy {noisy.mean():.2f} teacher {teach.mean():.2f} student {ours.mean():.2f} "
              f"dB (vs teacher {vs_t.mean():.2f}) | {per}", flush=True)
        return float(ours.mean())

    report(params, "init")
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    spans = [(a, b) for a, b in zip(offs[:-1], offs[1:]) if b - a > CROP + 1]
    best, t0 = -1e9, time.time()
    for t in range(1, steps + 1):
        sel = []
        for i in rng.integers(len(spans), size=BATCH):
            a, b = spans[i]
            s0 = a + int(rng.integers(0, b - a - CROP))
            sel.append(np.arange(s0, s0 + CROP + 1))
        sel = np.array(sel)
        params, m, v, loss, sdr = train_step(params, m, v, float(t), F_[sel], N_[sel], T_[sel], C_[sel])
        over = (time.time() - t0) / 60 > minutes
        if t % 100 == 0:
            print(f"step {t} loss {float(loss):.4f} train SI-SDR {float(sdr):.2f} ({time.time() - t0:.0f} s)",
                  flush=True)
        if t % 500 == 0 or t == steps or over:
            score = report(params, f"step {t}")
            if score > best:
                best = score
                np.savez(out, **{kk: np.asarray(vv, np.float32) for kk, vv in params.items()})
        if over:
            print("time budget reached")
            break
    print(f"best val SI-SDR {best:.2f} dB -> {out}")


# ---- measure (the project's venv) -------------------------------------------------------------------------
def _one_thread():
    import cv2

    from obs_deepzoom.engine.runtime import core

    cv2.setNumThreads(1)
    core().set_property("CPU", {"INFERENCE_NUM_THREADS": 1})  # DNSMOS too


def _register(modes: str) -> list[str]:
    """Mode names (also "dtln1" = DTLN's first stage, "student" = tools/student_weights.npz); NAME=PATH[:POWER]
    registers the student with the weights at PATH (band gains raised to POWER) as mode NAME."""
    from student_net import Student

    from obs_deepzoom.engine.audio.denoise import NETS
    from obs_deepzoom.engine.audio.nets import Dtln

    NETS.setdefault("dtln1", lambda device, threads: Dtln(False, device, threads))  # = light (DTLN stage 1)
    NETS.setdefault("student", lambda device, threads: Student(device, threads))  # tools/student_weights.npz
    names = []
    for m in modes.split(","):
        if "=" in m:
            m, path = m.split("=", 1)
            path, _, power = path.partition(":")
            NETS[m] = lambda device, threads, path=path, p=float(power or 1): Student(device, threads, Path(path), p)
        names.append(m)
    return names


def _run_mode(mode: str, x16: np.ndarray) -> np.ndarray:
    """As `deepzoom eval denoise` runs a mode (evaluate/denoise.ours), on one thread."""
    from obs_deepzoom.engine.audio.denoise import Denoise
    from obs_deepzoom.engine.audio.stream import process_signal
    from obs_deepzoom.evaluate import audio_data as ad
    from obs_deepzoom.settings import DenoiseSettings

    effect = Denoise(DenoiseSettings().model_copy(update={"mode": mode}), 48000, 1, threads=1)
    y = process_signal(effect, ad.to_rate(x16, ad.RATE, 48000)[None])[0]
    return ad.to_rate(y, 48000, ad.RATE)[: len(x16)]


def evaluate(which: str, modes: str, n: str = "40", seed: str = "", dnsmos: str = "1"):
    """which: a validation .npz of `prepare` (its first n mixtures) or "eval" (audio_data.denoise_set(n, seed),
    the held-out evaluation set); modes: comma-separated denoise.NETS names (or NAME=PATH[:POWER]:
    the student with the weights at PATH, its band gains raised to POWER). Prints mean PESQ-WB, STOI,
    SI-SDR, DNSMOS per mode and PESQ / SI-SDR per noise kind; every mode through the streaming effect at
    48 kHz in 1024-frame blocks (as the eval)."""
    import json

    from obs_deepzoom.evaluate import audio_data as ad
    from obs_deepzoom.evaluate.denoise import score

    _one_thread()
    names = _register(modes)
    if which == "eval":
        mixtures = [(m.clean, m.noisy, m.noise) for m in
                    ad.denoise_set(int(n), **({"seed": int(seed)} if seed else {}))]
    else:
        d = np.load(which)
        offs = np.concatenate([[0], np.cumsum(d["samples"])])
        cut = int(9.5 * ad.RATE)  # the P.862 code scores at most 9.6 s per call: the first 9.5 s of longer ones
        mixtures = [(d["clean16"][a:b][:cut], d["noisy16"][a:b][:cut], str(k))
                    for a, b, k in list(zip(offs[:-1], offs[1:], d["kinds"]))[: int(n)]]
    rows: dict[str, list] = {}
    for i, (clean, noisy, kind) in enumerate(mixtures):
        for mode in ["noisy"] + names:
            y = noisy if mode == "noisy" else _run_mode(mode, noisy)
            rows.setdefault(mode, []).append({**score(clean, y, dnsmos == "1"), "noise": kind})
        print(f"[{i + 1}/{len(mixtures)}] {kind}: " + " ".join(
            f"{m} {r[-1]['pesq_wb']:.2f}/{r[-1]['si_sdr_db']:.1f}" for m, r in rows.items()), flush=True)
    result = {}
    for mode, rs in rows.items():
        keys = [k for k in rs[0] if k != "noise"]
        result[mode] = {k: round(float(np.mean([r[k] for r in rs])), 3) for k in keys}
        for kind in sorted({r["noise"] for r in rs}):
            sel = [r for r in rs if r["noise"] == kind]
            result[mode][kind] = (round(float(np.mean([r["pesq_wb"] for r in sel])), 3),
                                  round(float(np.mean([r["si_sdr_db"] for r in sel])), 2))
    print(json.dumps({"set": which, "n": len(mixtures), **result}))


def bench(modes: str = "student,dtln1", seconds: str = "20", rounds: str = "5"):
    """ms per 1024-frame block at 48 kHz stereo (mono mix), one thread, as `deepzoom bench denoise` times a
    mode, with the modes interleaved round by round in this one process (the machine's load moves)."""
    import json

    from obs_deepzoom.bench import audio as ba
    from obs_deepzoom.engine.audio.denoise import Denoise
    from obs_deepzoom.settings import DenoiseSettings

    _one_thread()
    x = ba._signal(float(seconds))
    fx, ms = {}, {}
    for mode in _register(modes):
        fx[mode] = Denoise(DenoiseSettings().model_copy(update={"mode": mode}), ba.RATE, ba.CHANNELS, threads=1)
        ba._time_blocks(fx[mode].process, x[:, : 20 * ba.OBS_BLOCK], 1)  # warm-up
        ms[mode] = []
    for _ in range(int(rounds)):
        for mode in fx:
            ms[mode] += ba._time_blocks(fx[mode].process, x, 1)
    out = {}
    for mode in fx:
        f = ba._figures(ms[mode])
        lat = ba.measure_latency_ms(Denoise(DenoiseSettings().model_copy(update={"mode": mode}), ba.RATE,
                                            ba.CHANNELS, threads=1).process, x[:, : 5 * ba.RATE])
        out[mode] = {"ms_median": f["ms_median"], "ms_p95": f["ms_p95"], "rtf": f["rtf"], "rtf_mean": f["rtf_mean"],
                     "latency_ms": round(fx[mode].latency_ms, 2), "latency_ms_measured": lat}
        print(f"{mode}: {out[mode]}", flush=True)
    names = list(fx)
    for m in names[1:]:
        out[f"ratio_{names[0]}_vs_{m}"] = round(out[names[0]]["ms_median"] / out[m]["ms_median"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "fit":
        fit(*sys.argv[2:])
    elif cmd == "evaluate":
        evaluate(*sys.argv[2:])
    elif cmd == "bench":
        bench(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
