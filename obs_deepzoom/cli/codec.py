"""`deepzoom codec encode|decode|info|send|receive`: the keypoint face codec on files and live over UDP
(docs/codec.md)."""

from __future__ import annotations

import json

from .common import emit, progress


def _values(args) -> dict:
    """--keyframe-quality and --set codec.FIELD=VALUE as settings values."""
    from ..errors import SettingsError
    from ..settings import CodecSettings

    values = {"keyframe_quality": args.keyframe_quality} if args.keyframe_quality is not None else {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        if not key.startswith("codec.") or not value:
            raise SettingsError(f"--set {item}: expected codec.FIELD=VALUE (fields: "
                                f"{', '.join(CodecSettings.model_fields)})")
        values[key[len('codec.'):]] = value
    return values


def _settings(values: dict):
    from pydantic import ValidationError

    from ..errors import SettingsError
    from ..settings import CodecSettings, format_errors

    try:
        return CodecSettings(**values)
    except ValidationError as exc:  # name the field and what it accepts
        raise SettingsError(f"invalid setting: {format_errors(exc, 'codec.')}") from None


def cmd_codec(args) -> int:
    from ..jobs import codec

    if args.action == "encode":
        r = codec.encode_file(args.input, args.output, _settings(_values(args)), fps=args.fps,
                              max_frames=args.max_frames, progress=progress)
    elif args.action == "send":
        values = _values(args)
        _settings(values)  # a bad value fails before the camera opens
        if args.obs_source:
            r = _send_obs_source(args, values)
        else:
            r = codec.send(args.to, values, camera=args.camera, src=args.input, fps=args.fps,
                           max_frames=args.max_frames, progress=progress)
    elif args.action == "receive":
        from .common import encoding_from_args

        r = codec.receive(args.port, args.output, max_frames=args.max_frames, idle_s=args.idle,
                          encoding=encoding_from_args(args), progress=progress)
    elif args.action == "decode":
        from .common import encoding_from_args

        r = codec.decode_file(args.input, args.output, encoding_from_args(args), progress=progress)
    else:
        r = codec.info(args.input)
        if not args.json:
            per = r.pop("kbps_per_second")
            emit(r, False)
            print(f"{'kbps per second':28s} {' '.join(f'{v:g}' for v in per)}")
            return 0
    if args.json:
        print(json.dumps(r))
    else:
        emit(r, False)
    return 0


def _send_obs_source(args, values: dict) -> dict:
    """send --obs-source NAME: the source's picture read from a running OBS over obs-websocket."""
    from ..jobs import codec
    from ..remote.frames import ObsSourceFrames
    from .obs import _client

    with _client(args) as client:
        source = ObsSourceFrames(client, args.obs_source, fps=args.fps or 30.0)
        r = codec.send(args.to, values, max_frames=args.max_frames, progress=progress, source=source)  # it paces
    return {**r, "obs_source": args.obs_source}


def add_codec(sub) -> None:
    from ..video_io import DEFAULT_CRF
    from .obs import connection_opts

    sp = sub.add_parser("codec", help="keypoint face codec: a keyframe, then a few bytes of motion per frame")
    act = sp.add_subparsers(dest="action", required=True)
    e = act.add_parser("encode", help="a talking-head video to a keypoint stream (.dzk)")
    e.add_argument("input")
    e.add_argument("-o", "--output", required=True, help="OUT.dzk")
    e.add_argument("--keyframe-quality", type=int, default=None, help="picture quality of keyframes (10-100)")
    e.add_argument("--fps", type=float, default=None, help="frames per second to send (default: the input's)")
    e.add_argument("--max-frames", type=int, default=0, help="stop after this many frames")
    e.add_argument("--set", action="append", metavar="codec.FIELD=VALUE", help="a codec setting (docs/codec.md)")
    d = act.add_parser("decode", help="a keypoint stream to a video")
    d.add_argument("input")
    d.add_argument("-o", "--output", required=True, help="OUT.mp4 (or .mkv/.webm)")
    d.add_argument("--crf", type=int, default=DEFAULT_CRF, help="H.264 quality of the written video")
    d.add_argument("--lossless", action="store_true", help="FFV1 in Matroska (bit-exact frames)")
    i = act.add_parser("info", help="frames, keyframes and bitrate of a keypoint stream")
    i.add_argument("input")
    s = act.add_parser("send", help="send a camera or a video live over UDP (loss-tolerant)")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=int, help="camera index")
    src.add_argument("--input", help="a video file, sent in real time")
    src.add_argument("--obs-source", metavar="NAME",
                     help="an OBS source, read from a running OBS over obs-websocket (--host, --port, password)")
    s.add_argument("--to", required=True, help="HOST:PORT of `deepzoom codec receive`")
    s.add_argument("--keyframe-quality", type=int, default=None, help="picture quality of keyframes (10-100)")
    s.add_argument("--fps", type=float, default=None, help="frames per second to send (default: the source's)")
    s.add_argument("--max-frames", type=int, default=0, help="stop after this many frames")
    s.add_argument("--set", action="append", metavar="codec.FIELD=VALUE",
                   help="a codec setting (live defaults: delta_from=intra, intra_every=10)")
    connection_opts(s)
    r = act.add_parser("receive", help="receive a live keypoint stream and write it to a video")
    r.add_argument("--port", type=int, required=True, help="UDP port to listen on")
    r.add_argument("-o", "--output", required=True, help="OUT.mp4 (or .mkv/.webm)")
    r.add_argument("--max-frames", type=int, default=0, help="stop after this many frames")
    r.add_argument("--idle", type=float, default=5.0, help="stop after this many seconds without data")
    r.add_argument("--crf", type=int, default=DEFAULT_CRF, help="H.264 quality of the written video")
    r.add_argument("--lossless", action="store_true", help="FFV1 in Matroska (bit-exact frames)")
    for p in (e, d, i, s, r):
        p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sp.set_defaults(func=cmd_codec)


COMMANDS = {"codec": add_codec}
