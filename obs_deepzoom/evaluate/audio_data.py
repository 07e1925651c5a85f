"""Real speech and noise for the audio evaluations and tests, fetched from package registries and cached
(never committed).

- clean speech: Asterisk studio prompts (Debian asterisk-core-sounds-en-g722: a US female voice;
  -it-g722: an Italian male voice; G.722 decoded with ffmpeg) and LibriVox sentences (pocketsphinx sdist);
- noise: typing (real key presses of bucklespring-data), music (asterisk-moh-opsound-g722), machines
  (sonic-pi-samples: a 3D printer and hiss) and babble (four other real talkers of the pocketsphinx sdist);
- mixtures at 0/5/10 dB SNR with a fixed seed: the same set on every machine.

Everything is 16 kHz mono float32 (speech is recorded wideband at 16 kHz)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from .. import paths
from ..downloads import DebPackage, PackageFile, deb_root, extract, run_tool
from ..engine.audio.resample import to_rate
from ..errors import DeepZoomError

RATE = 16000
SNRS = (0.0, 5.0, 10.0)
NOISES = ("typing", "music", "machines", "babble")
SEED = 4


DEBS = {
    "en": DebPackage("asterisk-core-sounds-en-g722", "1.6.1-1",
                     "38c5261820b406dcb0ecb37675720da2b0864850690690352ca52707eb623806"),
    "it": DebPackage("asterisk-core-sounds-it-g722", "1.6.1-1",
                     "46b4cf7afc508a5fcfc051b7ea233251c0d195dd4ef83cc4b7facb4c6429b016"),
    "moh": DebPackage("asterisk-moh-opsound-g722", "2.03-1.1",
                      "8d6b39d6f2e8feff54a042c4a25e1b72f3e2478d05ee372c92f77446fa0b1671"),
    "typing": DebPackage("bucklespring-data", "1.4.0-2",
                         "2add9f5583b3afc9c0b528066f4578baff930b74d4a94c8a25d103ef79a444e5"),
    "machines": DebPackage("sonic-pi-samples", "3.2.2~repack-8",
                           "25f2312d2fae005e6ad0f4726b8ed3084e776006a5a132083506e960224ac79d"),
}
PROMPT_DIRS = {"en": "usr/share/asterisk/sounds/en_US_f_Allison", "it": "usr/share/asterisk/sounds/it_IT_m_Carlo"}
# 4-6 s prompts of each Asterisk voice (whole sentences, no tones)
PROMPTS = {
    "en": ("agent-incorrect", "auth-incorrect", "confbridge-pin", "demo-thanks", "pbx-invalidpark",
           "queue-youarenext", "vm-intro", "vm-rec-temp"),
    "it": ("agent-incorrect", "auth-incorrect", "confbridge-pin", "dir-instr", "pbx-invalidpark",
           "queue-youarenext", "vm-forwardoptions", "vm-rec-busy"),
}

_PS = "pocketsphinx==5.1.1"
PS_SDIST_SHA256 = "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355"  # pocketsphinx-5.1.1.tar.gz


def _ps(file: str, sha: str) -> PackageFile:
    return PackageFile(package=_PS, kind="sdist", archive_sha256=PS_SDIST_SHA256, file=f"test/data/{file}", sha256=sha)


_LV = "librivox/sense_and_sensibility_01_austen_64kb-0"
LIBRIVOX = {  # 3-6 s read sentences, one reader (public domain)
    "librivox-0880": _ps(f"{_LV}880.wav", "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414"),
    "librivox-0890": _ps(f"{_LV}890.wav", "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10"),
    "librivox-0920": _ps(f"{_LV}920.wav", "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59"),
    "librivox-0930": _ps(f"{_LV}930.wav", "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7"),
}
BABBLE_TALKERS = (  # other talkers of the same sdist (16 kHz; .raw = 16-bit little-endian mono)
    (_ps("cards/001.wav", "899951e768666f27c8f8b1d4090b96fe7909cae9cec01bec0a5d5d1b8a8d566e"),
     _ps("cards/002.wav", "a3f9eae6fdb69a1231989e39a14d62388a6f52fb59666c76d95005318fadafec"),
     _ps("cards/003.wav", "00d283e46bc257ae479e4aa86593cadb541656eba1d19fc8abeece37f6a5a18b"),
     _ps("cards/004.wav", "4c44a8177f5b128b99f078cdeb918119933155574231f1833e8840d1af09c521"),
     _ps("cards/005.wav", "090f18f5f76cf8b2b43cd9e6b07823f4685a4742d9a36cd98b174a6586c18cf9")),
    (_ps("forever/input_2_16k.wav", "a67ddc6424abc306863a50aab4dcb37b31fa28e601dadc80e66751de39499402"),
     _ps("forever/input_4_16k.wav", "16ee530ce7017b80962d9c6cad884ca4d044805a7169cc6c80f8f55c58ae093b")),
    (_ps("goforward.raw", "f15c60ec54059d8b66e410d0064945a0b0a04ea56e1ddca1958e493c0cf70e71"),
     _ps("something.raw", "eb95b74ce3f3037487e49dcfd935bbcf8c158b5f4083dd19451729c3ee694f5f")),
    (_ps("numbers.raw", "45b5f6d3f88e36dd55b025cc9e8f1cae567583ea93f554ecdff6d09e6dd4577d"),
     _ps("tidigits/dhd.2934z.raw", "60c14412ad1412b83f37061e29c9e76f74cce0f90637debb8087f10cd559e552")),
)
MOH_TRACK = "usr/share/asterisk/moh/macroform-cold_day.g722"
MACHINE_FILES = ("usr/share/sonic-pi/samples/loop_3d_printer.flac", "usr/share/sonic-pi/samples/vinyl_hiss.flac")
KEYS_DIR = "usr/share/buckle/wav"


def cache_dir() -> Path:
    return paths.data_dir() / "audio_eval"


def decode_g722(path: Path) -> np.ndarray:
    """16 kHz mono float32 from a raw G.722 file (Asterisk's .g722), through ffmpeg."""
    if shutil.which("ffmpeg") is None:
        raise DeepZoomError("ffmpeg is needed to decode the G.722 speech prompts: apt-get install ffmpeg")
    raw = run_tool(["ffmpeg", "-v", "error", "-f", "g722", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar",
                str(RATE), "-"], f"ffmpeg decoding {path.name}")
    return np.frombuffer(raw, np.float32).copy()


def read_package_audio(path: Path) -> np.ndarray:
    """Mono float32 at 16 kHz from a .wav/.flac/.raw file of the packages."""
    if path.suffix == ".raw":
        return np.fromfile(path, "<i2").astype(np.float32) / 32768
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return to_rate(data.mean(axis=1), rate, RATE)


def package_file(pf: PackageFile) -> Path:
    """A file of the pocketsphinx sdist in the cache (fetched first if needed)."""
    return extract(pf, cache_dir() / "pypi" / Path(pf.file).name)


def _pkg_file(pf: PackageFile) -> np.ndarray:
    return read_package_audio(package_file(pf))


def speech_file(name: str) -> Path:
    """Where the decoded, trimmed utterance `name` is cached (an .npy file)."""
    return cache_dir() / "speech" / f"{name.replace('/', '_')}.npy"


@cache
def speech(name: str) -> np.ndarray:
    """One clean utterance: 'en/<prompt>', 'it/<prompt>' or 'librivox-NNNN' (16 kHz, silence trimmed)."""
    cached = speech_file(name)
    if cached.exists():
        return np.load(cached)
    if name in LIBRIVOX:
        x = _pkg_file(LIBRIVOX[name])
    else:
        lang, _, prompt = name.partition("/")
        if lang not in PROMPTS or prompt not in PROMPTS[lang]:
            raise DeepZoomError(f"unknown utterance '{name}'")
        x = decode_g722(deb_root(DEBS[lang]) / PROMPT_DIRS[lang] / f"{prompt}.g722")
    x = trim_silence(x)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, x)
    return x


def utterances() -> list[str]:
    return [f"{lang}/{p}" for lang in PROMPTS for p in PROMPTS[lang]] + list(LIBRIVOX)


def trim_silence(x: np.ndarray, floor_db: float = -50.0) -> np.ndarray:
    """Cut leading/trailing silence (10 ms frames below floor_db of the peak), keep 50 ms margins."""
    frames = len(x) // 160
    level = np.sqrt(np.mean(x[: frames * 160].reshape(frames, 160) ** 2, axis=1) + 1e-12)
    active = np.flatnonzero(20 * np.log10(level / level.max()) > floor_db)
    a, b = max(active[0] - 5, 0) * 160, min(active[-1] + 6, frames) * 160
    return x[a:b].astype(np.float32)


def fetch_steps() -> list[tuple[str, Callable[[], list[Path]]]]:
    """Every download of the audio data as (name, function returning the cached paths): each Debian package,
    the pocketsphinx sdist's files, then every utterance decoded (ffmpeg, no network) so runs need no decoder
    either."""
    steps: list[tuple[str, Callable[[], list[Path]]]] = [(f"Debian {d.name}={d.version}", lambda d=d: [deb_root(d)])
                                       for d in DEBS.values()]
    files = [*LIBRIVOX.values(), *(pf for talker in BABBLE_TALKERS for pf in talker)]
    steps.append((f"{_PS} sdist: {len(files)} speech files", lambda: [package_file(pf) for pf in files]))

    def decoded() -> list[Path]:
        for name in utterances():
            speech(name)
        return [speech_file(name) for name in utterances()]

    steps.append((f"{len(utterances())} utterances decoded", decoded))
    return steps


# ---- noise ------------------------------------------------------------------------------------------------
def _loop(x: np.ndarray, n: int, start: int = 0) -> np.ndarray:
    reps = (start + n) // len(x) + 1
    return np.tile(x, reps)[start:start + n]


@lru_cache(maxsize=4)
def key_sounds() -> tuple[list[np.ndarray], list[np.ndarray]]:
    root = deb_root(DEBS["typing"]) / KEYS_DIR
    press = [read_package_audio(p) for p in sorted(root.glob("*-0.wav"))]
    release = [read_package_audio(p) for p in sorted(root.glob("*-1.wav"))]
    return press, release


def _typing(n: int, rng: np.random.Generator) -> np.ndarray:
    """Real key presses and releases at a typing rhythm (bursts of 5-8 keys/s with pauses)."""
    press, release = key_sounds()
    out = np.zeros(n + RATE, np.float32)
    t = int(rng.integers(0, RATE // 5))
    while t < n:
        k = int(rng.integers(len(press)))
        for snd, at in ((press[k], t), (release[min(k, len(release) - 1)], t + int(rng.uniform(0.05, 0.12) * RATE))):
            m = min(len(snd), len(out) - at)
            if m > 0:
                out[at:at + m] += snd[:m] * rng.uniform(0.6, 1.0)
        t += int(rng.uniform(0.12, 0.2) * RATE) if rng.random() > 0.1 else int(rng.uniform(0.4, 0.9) * RATE)
    return out[:n]


@lru_cache(maxsize=1)
def music_noise() -> np.ndarray:
    return decode_g722(deb_root(DEBS["moh"]) / MOH_TRACK)


@lru_cache(maxsize=1)
def machine_noise() -> np.ndarray:
    root = deb_root(DEBS["machines"])
    printer, hiss = (read_package_audio(root / f) for f in MACHINE_FILES)
    hiss = _loop(hiss, len(printer))
    return printer / rms(printer) + 0.5 * hiss / rms(hiss)


@lru_cache(maxsize=1)
def talkers() -> list[np.ndarray]:
    return [np.concatenate([trim_silence(_pkg_file(pf)) for pf in files]) for files in BABBLE_TALKERS]


def _babble(n: int, rng: np.random.Generator) -> np.ndarray:
    return sum(_loop(t, n, int(rng.integers(len(t)))) / rms(t) for t in talkers())


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of a real noise at 16 kHz, from a random offset."""
    if kind == "typing":
        x = _typing(n, rng)
    elif kind == "babble":
        x = _babble(n, rng)
    elif kind in ("music", "machines"):
        src = music_noise() if kind == "music" else machine_noise()
        x = _loop(src, n, int(rng.integers(len(src))))
    else:
        raise DeepZoomError(f"unknown noise '{kind}' (have: {', '.join(NOISES)})")
    return np.asarray(x, np.float32)


# ---- mixtures ---------------------------------------------------------------------------------------------
def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


@dataclass
class Mixture:
    name: str
    clean: np.ndarray  # 16 kHz, speech placed at `onset` samples, zeros elsewhere
    noisy: np.ndarray
    snr_db: float
    noise: str
    speech: str
    spans: list[tuple[int, int]]  # sample spans of each utterance in the clip


def mix(clean: np.ndarray, noise_x: np.ndarray, snr_db: float, spans: list[tuple[int, int]],
        peak: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Scale noise to snr_db against the speech (measured over the utterance spans); normalise the peak."""
    speech_part = np.concatenate([clean[a:b] for a, b in spans])
    noise_part = np.concatenate([noise_x[a:b] for a, b in spans])
    noise_x = noise_x * (rms(speech_part) / rms(noise_part) / 10 ** (snr_db / 20))
    noisy = clean + noise_x
    g = peak / max(np.abs(noisy).max(), 1e-9)
    return (clean * g).astype(np.float32), (noisy * g).astype(np.float32)


def denoise_set(n: int = 24, lead_s: float = 0.5, tail_s: float = 0.3, seed: int = SEED) -> list[Mixture]:
    """n mixtures: every (noise, SNR) pair in turn, speakers rotating; noise starts lead_s before speech."""
    rng = np.random.default_rng(seed)
    names = utterances()
    order = rng.permutation(len(names))
    combos = [(k, s) for k in NOISES for s in SNRS]
    out = []
    for i in range(n):
        kind, snr = combos[i % len(combos)]
        utt = names[order[i % len(names)]]
        x = speech(utt)
        a = int(lead_s * RATE)
        clean = np.zeros(a + len(x) + int(tail_s * RATE), np.float32)
        clean[a:a + len(x)] = x
        c, y = mix(clean, noise(kind, len(clean), rng), snr, [(a, a + len(x))])
        out.append(Mixture(f"{i:02d}_{kind}_{snr:g}dB_{utt.replace('/', '-')}", c, y, snr, kind, utt,
                           [(a, a + len(x))]))
    return out


def automute_set(noises: tuple[str, ...] = ("typing", "music", "machines"), snr_db: float = 10.0,
                 gap_s: float = 3.0, talks: int | None = 2, seed: int = SEED) -> list[Mixture]:
    """Per noise: noise-only stretches of gap_s around `talks` utterances (None: every utterance once, in a
    rotated order); the gate should stay shut in the stretches. Babble is left out: it is speech, which a
    voice-activity gate rightly lets through."""
    rng = np.random.default_rng(seed + 1)
    names = utterances()
    out = []
    for j, kind in enumerate(noises):
        parts, spans, t = [np.zeros(int(gap_s * RATE), np.float32)], [], int(gap_s * RATE)
        picks = [(3 * j + 5 * k) % len(names) for k in range(talks)] if talks else \
            [(3 * j + k) % len(names) for k in range(len(names))]
        for i in picks:
            x = speech(names[i])
            parts += [x, np.zeros(int(gap_s * RATE), np.float32)]
            spans.append((t, t + len(x)))
            t += len(x) + int(gap_s * RATE)
        clean = np.concatenate(parts)
        c, y = mix(clean, noise(kind, len(clean), rng), snr_db, spans)
        tag = "" if talks else "_all"
        out.append(Mixture(f"automute{tag}_{kind}_{snr_db:g}dB", c, y, snr_db, kind, "+".join(map(str, spans)), spans))
    return out
