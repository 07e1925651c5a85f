"""`deepzoom bench codec`: the keypoint codec at 1280x720 (the sample clip scaled up): encoder ms/frame (face
tracking, motion coding, the reconstruction checks and keyframes included) and decoder ms/frame (the avatar
render), against x264 (libx264, preset veryfast, CRF 30, the kind of setting a real-time call uses) encoding and
decoding the same frames in the same process. `ms_median` is the encoder's; the peer ratio compares encoder
with encoder."""

from __future__ import annotations

import numpy as np

from ..engine.codec.container import Header, records
from ..engine.codec.decoder import KeypointDecoder
from ..engine.codec.encoder import KeypointEncoder
from ..evaluate.codec import encoder_context
from . import peak_rss_mb, peer_fields, summary, timed
from .face import clip_frames

PEER_PRESET, PEER_CRF = "veryfast", 30


def _x264_ms(frames: list[np.ndarray]) -> tuple[list[float], list[float]]:
    import av

    h, w = frames[0].shape[:2]
    enc = encoder_context("libx264", (w, h), 30.0, PEER_CRF, PEER_PRESET, tune="zerolatency")
    dec = av.CodecContext.create("h264", "r")
    enc_ms, dec_ms = [], []
    for i, f in enumerate(frames):
        holder: dict = {}

        def encode(f=f, i=i, holder=holder):
            vf = av.VideoFrame.from_ndarray(f, format="bgr24").reformat(format="yuv420p")
            vf.pts = i
            holder["packets"] = enc.encode(vf)
        enc_ms.append(timed(encode))
        dec_ms.append(timed(lambda holder=holder: [fr.to_ndarray(format="bgr24") for p in holder["packets"]
                                                   for fr in dec.decode(p)]))
    return enc_ms, dec_ms


def run(rounds: int = 3, peer: bool = True, progress=print) -> dict:
    frames = clip_frames()
    size = (frames[0].shape[1], frames[0].shape[0])
    enc_ms, dec_ms, keyframes, data = [], [], 0, b""
    for r in range(rounds):
        enc = KeypointEncoder(size, 30.0)
        recs: list[bytes] = []
        for f in frames:
            enc_ms.append(timed(lambda f=f, enc=enc, recs=recs: recs.extend(enc.encode(f))))
        keyframes += enc.keyframes
        data = enc.header.pack() + b"".join(recs)
        dec = KeypointDecoder(Header.unpack(data, "bench"))
        for kind, payload in records(data, Header.size(), "bench"):
            dec_ms.append(timed(lambda kind=kind, payload=payload, dec=dec: dec.feed(kind, payload)))
        progress(f"round {r + 1}/{rounds}: encoder {np.median(enc_ms):.2f} ms, decoder {np.median(dec_ms):.2f} ms")
    seconds = len(frames) / 30.0
    result = {"name": "codec", "size": f"{size[0]}x{size[1]}", "frames": len(frames), **summary(enc_ms),
              "encode_ms": summary(enc_ms)["ms_median"], "encode_ms_p95": summary(enc_ms)["ms_p95"],
              "decode_ms": summary(dec_ms)["ms_median"], "decode_ms_p95": summary(dec_ms)["ms_p95"],
              "keyframes_per_round": keyframes / rounds, "kbps": round(len(data) * 8 / 1000 / seconds, 2),
              "peak_rss_mb": round(peak_rss_mb(), 1)}
    if peer:
        x_enc, x_dec = [], []
        for _ in range(rounds):
            e, d = _x264_ms(frames)
            x_enc += e
            x_dec += d
        result.update(peer_fields(result["encode_ms"], x_enc, f"x264 ({PEER_PRESET}, CRF {PEER_CRF}, zerolatency)",
                                  "outside"))
        result["peer_decode_ms_median"] = round(float(np.median(x_dec)), 3)
    return result
