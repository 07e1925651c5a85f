"""The keypoint codec (engine/codec, jobs/codec, `deepzoom codec`): exact bit coding, checked records, a
deterministic round trip on the real sample clip, and damaged streams refused in one line with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from obs_deepzoom import cli
from obs_deepzoom.engine.avatar.motion import Motion
from obs_deepzoom.engine.codec import motion_code
from obs_deepzoom.engine.codec.bits import BitReader, BitWriter, CodecError
from obs_deepzoom.engine.codec.container import DELTA, HOLD, KEYFRAME, Header, record, records
from obs_deepzoom.jobs import codec
from obs_deepzoom.samples import DEMO_CLIP, sample
from obs_deepzoom.settings import CodecSettings

FRAMES = 40


def test_exp_golomb_round_trip_and_small_numbers_are_short():
    rng = np.random.default_rng(1)
    values = [0, 1, -1, 2, -2, 1000, -1000, *rng.integers(-5000, 5000, 200).tolist()]
    for k in (0, 3):
        w = BitWriter()
        for v in values:
            w.signed(v, k)
        r = BitReader(w.getvalue())
        assert [r.signed(k) for _ in values] == values
        assert r.padding_ok()
    w = BitWriter()
    for _ in range(16):
        w.signed(0)
    assert len(w.getvalue()) == 2  # one bit per zero
    with pytest.raises(CodecError, match="ends early"):
        BitReader(b"\x00").signed()


def test_motion_survives_quantisation_and_packs_exactly():
    basis = motion_code.expression_basis()
    assert basis.shape == (32, 1404) and np.allclose(basis @ basis.T, np.eye(32), atol=1e-5)
    rng = np.random.default_rng(2)
    expression = (rng.normal(0, 0.05, 32) @ basis).reshape(468, 3)  # inside the basis
    m = Motion(rotation=np.eye(3), shift=np.array([0.01, -0.02, 0.0]), scale=1.05, expression=expression,
               eye_open=np.array([0.9, 0.4]), iris=np.array([[0.05, 0.0], [-0.03, 0.01]]))
    step = motion_code.steps(0.01)
    q = motion_code.quantise(m, step)
    back = motion_code.dequantise(q, step)
    assert abs(back.scale - 1.05) < 1e-3 and np.abs(back.shift - m.shift).max() <= 0.001
    assert np.abs(back.expression - expression).max() < 0.01  # iod units
    prev = q - rng.integers(-2, 3, len(q))
    for p in (None, prev):
        assert np.array_equal(motion_code.unpack(motion_code.pack(q, p), p, len(q)), q)
    assert len(motion_code.pack(q, q)) * 8 < 2 * len(q)  # an unchanged frame: about a bit per value


def test_records_are_checked():
    h = Header(640, 360, 30.0, 0.5, motion_code.basis_digest())  # exact in float32
    data = h.pack() + record(KEYFRAME, b"\x01jpeg") + record(DELTA, b"\x80" * 200) + record(HOLD, b"")
    assert Header.unpack(data, "s") == h
    got = list(records(data, Header.size(), "s"))
    assert [k for k, _ in got] == [KEYFRAME, DELTA, HOLD] and got[1][1] == b"\x80" * 200
    with pytest.raises(CodecError, match="truncated"):
        list(records(data[:-3], Header.size(), "s"))
    bad = bytearray(data)
    bad[Header.size() + 3] ^= 1
    with pytest.raises(CodecError, match="record 0 .* damaged"):
        list(records(bytes(bad), Header.size(), "s"))
    with pytest.raises(CodecError, match="not a DeepZoom keypoint stream"):
        Header.unpack(b"RIFF" + data[4:], "s")
    with pytest.raises(CodecError, match="another version"):
        Header.unpack(data[:3] + b"\x09" + data[4:], "s")


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    out = tmp_path_factory.mktemp("codec") / "clip.dzk"
    r = codec.encode_file(sample(DEMO_CLIP), out, CodecSettings(), max_frames=FRAMES, progress=lambda m: None)
    return out, r


def test_encode_then_decode_is_deterministic_and_follows_the_face(stream, tmp_path):
    path, r = stream
    assert r["frames"] == FRAMES and r["keyframes"] >= 1 and r["first_keyframe_bytes"] > 1000
    motion_bytes = r["bytes"] - r["first_keyframe_bytes"] - Header.size()
    assert motion_bytes / FRAMES < 60, r  # a few dozen bytes per frame, not a picture
    _, a = codec.decode_frames(path)
    _, b = codec.decode_frames(path)
    a, b = list(a), list(b)
    assert len(a) == FRAMES and all(np.array_equal(x, y) for x, y in zip(a, b))
    from obs_deepzoom.engine.face import FaceTracker
    from obs_deepzoom.media import VideoSource

    src = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())[:FRAMES]
    tracker, decoded_err, frozen_err = FaceTracker(), [], []
    for i, (d, real) in enumerate(zip(a, src)):  # in the face's box: decoded vs real, beside the keyframe vs real
        lm = tracker.process(real, i / 30)[0].landmarks[:, :2]
        (x0, y0), (x1, y1) = lm.min(0).astype(int), lm.max(0).astype(int)
        box = (slice(y0, y1), slice(x0, x1))
        decoded_err.append(float(np.abs(d[box].astype(int) - real[box]).mean()))
        frozen_err.append(float(np.abs(src[0][box].astype(int) - real[box]).mean()))
    # measured: 8.1 against 17.6 grey levels: the decoded face follows the real one, it is not the keyframe
    assert np.mean(decoded_err) < 0.7 * np.mean(frozen_err), (np.mean(decoded_err), np.mean(frozen_err))
    out = codec.decode_file(path, tmp_path / "out.mp4", progress=lambda m: None)
    assert out["frames"] == FRAMES and (tmp_path / "out.mp4").stat().st_size > 0


def test_the_encoder_predicts_exactly_what_the_decoder_shows(tmp_path):
    """Closed loop: with a reconstruction check on every frame, the encoder's own picture of each frame is the
    decoder's, bit for bit (the same float32 steps, the same keyframe analysis)."""
    from obs_deepzoom.engine.codec.decoder import KeypointDecoder
    from obs_deepzoom.engine.codec.encoder import KeypointEncoder
    from obs_deepzoom.media import VideoSource

    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())[:12]
    enc = KeypointEncoder((640, 360), 30.0, CodecSettings(refresh_db=1.0, check_every=1))
    data, predicted = enc.header.pack(), []
    for f in frames:
        data += b"".join(enc.encode(f))
        predicted.append(enc.predicted)
    dec = KeypointDecoder(Header.unpack(data, "s"))
    shown = [x for x in (dec.feed(k, p) for k, p in records(data, Header.size(), "s")) if x is not None]
    assert enc.keyframes == 1 and len(shown) == len(predicted) == 12
    assert all(p is not None and np.array_equal(p, x) for p, x in zip(predicted, shown))



def test_the_first_keyframe_is_the_best_planned_candidate():
    """Files: the first keyframe is chosen ahead among candidates of the window, by the encoder's own prediction
    of the receiver's picture; with one candidate it is the first frame, as live."""
    from obs_deepzoom.engine.codec.encoder import PLAN_STRIDE, KeypointEncoder
    from obs_deepzoom.engine.codec.keyframe import encode_picture
    from obs_deepzoom.media import VideoSource

    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())[:60]
    enc = KeypointEncoder((640, 360), 30.0, CodecSettings(keyframe_candidates=4, keyframe_window_s=1.5))
    best = enc.plan_keyframe(iter(frames))
    scores = enc.plan["predicted_face_psnr_db"]
    assert len(scores) == 4 and all(i % PLAN_STRIDE == 0 and i < 45 for i in scores), scores
    assert best == max(scores, key=scores.get) and len(set(scores.values())) > 1, scores
    data = enc.header.pack() + b"".join(enc.encode(frames[0]))
    (kind, payload), *_ = records(data, Header.size(), "s")
    assert kind == KEYFRAME and payload[1:] == encode_picture(frames[best], 70, "webp")
    assert enc.encode(frames[1])[0][:1] != KEYFRAME  # one keyframe, then motion
    one = KeypointEncoder((640, 360), 30.0, CodecSettings(keyframe_candidates=1))
    assert one.plan_keyframe(iter(frames)) is None
    (kind, payload), *_ = records(one.header.pack() + b"".join(one.encode(frames[0])), Header.size(), "s")
    assert payload[1:] == encode_picture(frames[0], 70, "webp")


def test_keyframe_pictures_are_checked_before_they_are_decoded():
    """JPEG and WebP keyframes: the size is read from the picture's header; a forged size, another size or
    something else is refused before any decoding (no huge allocation from a damaged stream)."""
    from obs_deepzoom.engine.codec.keyframe import Keyframe, encode_picture, picture_size

    frame = np.full((48, 64, 3), 120, np.uint8)
    for fmt in ("jpeg", "webp"):
        data = encode_picture(frame, 70, fmt)
        assert picture_size(data) == (64, 48)
        assert Keyframe(data, False, (64, 48)).image.shape == (48, 64, 3)
        with pytest.raises(CodecError, match="not a 32x48 JPEG or WebP"):
            Keyframe(data, False, (32, 48))
    webp = bytearray(encode_picture(frame, 70, "webp"))
    webp[26:28] = (8000).to_bytes(2, "little")  # a forged width
    assert picture_size(bytes(webp)) == (8000, 48)
    with pytest.raises(CodecError, match="damaged"):
        Keyframe(bytes(webp), False, (64, 48))
    assert picture_size(b"RIFF\0\0\0\0WEBPVP8 " + bytes(20)) is None and picture_size(b"hello") is None
    lossless = encode_picture(frame, 100, "webp")  # quality 100 is kept lossy (VP8); OpenCV's 101 is VP8L
    assert picture_size(lossless) == (64, 48)
    import cv2

    vp8l = cv2.imencode(".webp", frame, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    assert vp8l[12:16] == b"VP8L" and picture_size(vp8l) == (64, 48)
    vp8x = b"RIFF" + bytes(4) + b"WEBPVP8X" + bytes(8) + (63).to_bytes(3, "little") + (47).to_bytes(3, "little")
    assert picture_size(vp8x) == (64, 48)

def test_grouped_records_decode_to_the_same_frames_in_fewer_bytes():
    """Files pack about a second of frames into one GROUP record: the same frames as one record each, with
    2 bits of framing per frame instead of 4 bytes; a damaged group is refused."""
    from obs_deepzoom.engine.codec.bits import BitWriter
    from obs_deepzoom.engine.codec.container import GROUP, frame_count
    from obs_deepzoom.engine.codec.decoder import KeypointDecoder
    from obs_deepzoom.engine.codec.encoder import KeypointEncoder
    from obs_deepzoom.media import VideoSource

    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())[:40]
    frames[20] = np.zeros_like(frames[20])  # no face: a HOLD inside a group
    streams = {}
    for group in (0, 16):
        enc = KeypointEncoder((640, 360), 30.0, CodecSettings(keyframe_candidates=1), group_frames=group)
        streams[group] = enc.header.pack() + b"".join(r for f in frames for r in enc.encode(f)) + b"".join(
            enc.flush())
    decoded = {}
    for group, data in streams.items():
        recs = list(records(data, Header.size(), "s"))
        assert sum(frame_count(k, p) for k, p in recs) == 40
        assert (sum(k == GROUP for k, _ in recs) == 3) == bool(group), [k for k, _ in recs]
        dec = KeypointDecoder(Header.unpack(data, "s"))
        decoded[group] = [f for k, p in recs for f in dec.decode(k, p)]
    assert len(decoded[16]) == 40 and all(np.array_equal(a, b) for a, b in zip(decoded[0], decoded[16]))
    assert len(streams[16]) < len(streams[0]) - 3 * 40, (len(streams[0]), len(streams[16]))
    dec = KeypointDecoder(Header.unpack(streams[16], "s"))
    key = next(p for k, p in records(streams[16], Header.size(), "s") if k == KEYFRAME)
    assert list(dec.decode(KEYFRAME, key)) == []
    bad = BitWriter()
    bad.bits(0, 8), bad.bits(3, 2)  # one frame of type 3
    for payload, what in ((bad.getvalue(), "unknown frame type"), (b"", "empty group"),
                          (bytes([5, 0x40]), "truncated|damaged")):
        with pytest.raises(CodecError, match=what):
            list(dec.decode(GROUP, payload))

def test_damaged_streams_fail_in_one_line_and_write_nothing(stream, tmp_path, capsys):
    path, _ = stream
    data = path.read_bytes()
    cut = tmp_path / "cut.dzk"
    cut.write_bytes(data[:len(data) - 7])
    flipped = tmp_path / "flipped.dzk"
    flipped.write_bytes(data[:2000] + bytes([data[2000] ^ 0x20]) + data[2001:])
    for bad, why in ((cut, "truncated"), (flipped, "damaged"), (sample(DEMO_CLIP), "not a DeepZoom")):
        out = tmp_path / "never.mp4"
        rc = cli.main(["codec", "decode", str(bad), "-o", str(out)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and why in err and len(err.splitlines()) == 1, err
        assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_cli_info_and_settings(stream, tmp_path, capsys):
    path, r = stream
    assert cli.main(["codec", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {"kbps", "frames", "keyframes", "first_keyframe_bytes"} <= set(info)
    assert info["frames"] == FRAMES and len(info["kbps_per_second"]) == 2
    rc = cli.main(["codec", "encode", str(sample(DEMO_CLIP)), "-o", str(tmp_path / "x.dzk"), "--set",
                   "codec.refresh_db=99"])
    assert rc == 2 and "codec.refresh_db" in capsys.readouterr().err
    rc = cli.main(["codec", "encode", str(sample(DEMO_CLIP)), "-o", str(tmp_path / "x.mp4")])
    assert rc == 2 and "*.dzk" in capsys.readouterr().err
    assert not (tmp_path / "x.dzk").exists()


def test_fps_resampling_keeps_time():
    frames = list(range(30))
    assert len(list(codec.resampled(iter(frames), 30.0, 15.0))) == 15
    assert len(list(codec.resampled(iter(frames), 30.0, 60.0))) == 60
    assert list(codec.resampled(iter(frames), 30.0, None)) == frames


def test_live_stream_survives_loss_and_garbage():
    """Over real UDP on localhost: 20 % of the datagrams lost (seeded), plus foreign and damaged datagrams; the
    receiver never raises, asks again for the keyframe chunks it missed, and keeps giving frames."""
    import socket

    from obs_deepzoom.evaluate.codec import live
    from obs_deepzoom.media import VideoSource

    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())[:FRAMES]
    clean = live(frames, 30.0, 0.0)
    assert clean["frames_shown"] == FRAMES and clean["frames_held"] == 0, clean
    lossy = live(frames, 30.0, 0.2, seed=3)
    assert lossy["datagrams_lost"] > 5 and lossy["chunks_resent"] > 0, lossy
    assert lossy["keyframes_received"] >= 1 and lossy["frames_shown"] >= 0.8 * FRAMES, lossy
    assert abs(lossy["kbps_on_the_wire"] - clean["kbps_on_the_wire"]) < 0.3 * clean["kbps_on_the_wire"], lossy

    import struct

    from obs_deepzoom.engine.codec import transport as tp
    from obs_deepzoom.engine.codec.transport import KeypointReceiver

    rx = KeypointReceiver(0, "127.0.0.1")
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    head = lambda kind, seq, key: tp._HEAD.pack(tp.MAGIC, kind, 7, seq, key, 0, 0)  # noqa: E731
    junk = [b"", b"hello", b"DZ", b"DZR" + bytes(20), head(tp.CHUNK, 1, 3) + struct.pack("<HH", 5, 2) + b"x" * 30,
            head(tp.CHUNK, 2, 3) + struct.pack("<HH", 0, 0), head(tp.CHUNK, 3, 4) + struct.pack("<HH", 1, 2) + b"x",
            head(tp.CHUNK, 4, 4) + struct.pack("<HH", 7, 2) + b"y", head(tp.CHUNK, 5, 4) + struct.pack("<HH", 0, 2),
            head(tp.RECORD, 6, 4) + b"I\x01\x00\x00\x00"]
    for j in junk:
        tx.sendto(j, ("127.0.0.1", rx.port))
    assert rx.receive(timeout=0.5, max_datagrams=100) == [] and rx.stats.dropped >= 6, rx.stats
    rx.close()
    tx.close()


def test_a_restarted_sender_is_followed_and_network_errors_never_raise():
    """A sender that restarts (new session, sequence and keyframe ids from the start again) is followed at once;
    an unknown host is a one-line error; an unreachable network loses datagrams without raising."""
    from obs_deepzoom.engine.codec.encoder import KeypointEncoder
    from obs_deepzoom.engine.codec.transport import KeypointReceiver, KeypointSender, parse_address
    from obs_deepzoom.media import VideoSource

    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())[:20]
    rx = KeypointReceiver(0, "127.0.0.1")
    shown = []
    for _ in range(2):  # the same sender program started twice
        tx = KeypointSender(KeypointEncoder((640, 360), 30.0, CodecSettings.live()), ("127.0.0.1", rx.port))
        for f in frames:
            tx.send(f)
            shown.append(len(rx.receive(timeout=0.05)))
        tx.close()
    assert rx.stats.sessions == 2 and rx.stats.keyframes == 2, rx.stats
    assert sum(shown[20:]) >= 19, shown  # the second run's frames all arrive: nothing of it was dropped as late
    rx.close()
    with pytest.raises(CodecError, match="cannot resolve"):
        parse_address("no-such-host.invalid:5600")
    tx = KeypointSender(KeypointEncoder((640, 360), 30.0, CodecSettings.live()), ("192.0.2.1", 9))  # TEST-NET-1
    for f in frames[:3]:
        tx.send(f)
    tx.close()


def test_bad_live_addresses_are_one_line_errors(capsys):
    rc = cli.main(["codec", "send", "--input", str(sample(DEMO_CLIP)), "--to", "nowhere"])
    assert rc == 2 and "HOST:PORT" in capsys.readouterr().err


def test_an_obs_source_is_read_at_the_rate_obs_answers():
    """send --obs-source: when OBS answers more slowly than --fps, the stream's rate is the one measured (no
    frame repeated to make up the rate). The client here is a stand-in that answers every 50 ms with a real
    JPEG; the real OBS path is tests/obs/test_obs_codec.py."""
    import base64
    import time

    import cv2

    from obs_deepzoom.media import VideoSource
    from obs_deepzoom.remote.frames import ObsSourceFrames

    frame = next(VideoSource.open_file(sample(DEMO_CLIP)).frames())
    data = "data:image/jpg;base64," + base64.b64encode(cv2.imencode(".jpg", frame)[1].tobytes()).decode()

    class SlowObs:
        def request(self, kind, payload):
            assert kind == "GetSourceScreenshot" and payload["sourceName"] == "Camera"
            time.sleep(0.05)
            return {"imageData": data}

    source = ObsSourceFrames(SlowObs(), "Camera", fps=30)
    assert source.size == (640, 360) and 10 <= source.fps <= 19, source.fps
    with pytest.raises(Exception, match="0-120"):
        ObsSourceFrames(SlowObs(), "Camera", fps=0)
