"""Typed settings: the single source of truth for CLI options (--set effect.field=value), preset files,
OBS property pages and websocket payloads. Each field carries its range, default and a tooltip."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import SettingsError

Device = Literal["AUTO", "CPU", "GPU", "NPU"]
Precision = Literal["auto", "f32", "bf16", "int8"]
PRECISION_HELP = ("Numeric precision of {what}: 'auto' = the one chosen per model by measurement "
                  "(docs/models.md); 'int8' = the NNCF-quantised model, if built (`deepzoom models build "
                  "--precision int8`; else f32): whether it is faster depends on the CPU, `deepzoom bench models` "
                  "tells; 'bf16' = on CPUs with native bf16, else f32")
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff)"
# where a field shows on an OBS property page (fields without a group: the effect's own at the top; face
# tracking, device and OBS runtime settings have groups of their own); labels are in obs/locale/*.ini
ADVANCED = {"group": "advanced"}
PERFORMANCE = {"group": "performance"}
MEDIA_FILTER = ("Images and videos (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff *.mp4 *.avi *.mov *.mkv *.webm "
                "*.m4v)")


class SettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_bgr(color: tuple[int, int, int], name: str) -> None:
    if any(not 0 <= c <= 255 for c in color):
        raise ValueError(f"{name}: each of B, G, R must be in 0..255")


class FaceTrackingSettings(SettingsModel):
    """Face tracking shared by every face effect: detection, 468-point mesh, iris, smoothing, pose."""

    device: Device = Field("AUTO", description="OpenVINO device for the face models (falls back to CPU)")
    precision: Precision = Field("auto", description=PRECISION_HELP.format(what="the face models"),
                                 json_schema_extra=ADVANCED)
    max_faces: int = Field(1, ge=1, le=4, description="How many faces to track at once")
    detector: Literal["short", "full"] = Field(
        "short", description="Face detector: 'short' for faces within ~2 m (webcam), 'full' up to ~5 m")
    detect_every: int = Field(15, ge=1, le=300,
                              description="Look for new faces every N frames (always when no face is tracked)")
    min_detection_confidence: float = Field(0.5, ge=0.05, le=0.99, description="Score needed to start a track")
    min_tracking_confidence: float = Field(0.5, ge=0.05, le=0.99,
                                           description="Mesh presence score below which a track is dropped")
    smoothing: bool = Field(True, description="Smooth landmarks over time (One-Euro filter)")
    smooth_min_cutoff: float = Field(0.5, gt=0, le=10,
                                     description="One-Euro cutoff (Hz) for a still face: lower = steadier")
    smooth_beta: float = Field(20.0, ge=0, le=100,
                               description="One-Euro speed coefficient: higher = less lag on fast motion")
    camera_fov_deg: float = Field(63.0, ge=20, le=150,
                                  description="Horizontal field of view of the camera, for pose and distance")
    blink_threshold: float = Field(0.2, ge=0.02, le=0.5,
                                   description="Eye aperture (lid gap / eye width) below which an eye is closed")


class LandmarksSettings(SettingsModel):
    """Debug overlay: draws what the face tracker sees."""

    enabled: bool = Field(True, description="Draw the overlay")
    mesh: bool = Field(True, description="Draw the 468 mesh points")
    iris: bool = Field(True, description="Draw iris circles")
    box: bool = Field(True, description="Draw the tracked region and the face id")
    pose_axes: bool = Field(True, description="Draw head-pose axes from the nose")
    text: bool = Field(True, description="Write pose, distance and eye state")
    color: tuple[int, int, int] = Field((80, 220, 80), description="Mesh colour as B, G, R (0-255)")

    @model_validator(mode="after")
    def _color_range(self):
        _check_bgr(self.color, "color")
        return self


class GazeSettings(SettingsModel):
    """Eye contact: moves the irises (and a little of the upper lids) so you look into the camera."""

    enabled: bool = Field(True, description="Correct the gaze")
    strength: float = Field(1.0, ge=0, le=1.5, description="Fraction of the geometric correction applied")
    target: Literal["camera", "custom"] = Field(
        "camera", description="Redirect the gaze to the camera, or to a custom point given relative to the camera",
        json_schema_extra=ADVANCED)
    camera_above_cm: float = Field(12.0, ge=0, le=60,
                                   description="How far the camera is above the point you look at (the remote face "
                                               "on screen), in cm; laptop ~12, external monitor ~20")
    camera_right_cm: float = Field(0.0, ge=-60, le=60,
                                   description="How far the camera is to your right of the point you look at, in cm")
    custom_down_cm: float = Field(0.0, ge=0, le=60, description="Custom target: cm below the camera",
                                  json_schema_extra=ADVANCED)
    custom_right_cm: float = Field(0.0, ge=-60, le=60, description="Custom target: cm to your right of the camera",
                                   json_schema_extra=ADVANCED)
    max_correction_deg: float = Field(
        10.0, ge=1, le=25, description="Never rotate the eyes more than this (larger turns look startled)",
        json_schema_extra=ADVANCED)
    lookaway_cone_deg: float = Field(15.0, ge=3, le=45,
                                     description="Switch off (with a fade) when you look farther than this from the "
                                                 "screen point", json_schema_extra=ADVANCED)
    min_iris_px: float = Field(6.0, ge=2, le=40, description="Switch off when the iris is smaller than this (far away)",
                               json_schema_extra=ADVANCED)
    smoothing_ms: float = Field(150.0, ge=0, le=2000,
                                description="Time to fade the correction in/out; also steadies it (no flicker)",
                                json_schema_extra=ADVANCED)
    lid_follow: float = Field(1.0, ge=0, le=1, description="How much the upper lid follows a vertical correction "
                                                           "(1: as far as the iris, as real lids do)",
                              json_schema_extra=ADVANCED)
    debug: bool = Field(False, description="Draw the estimated (red) and corrected (green) gaze",
                        json_schema_extra=ADVANCED)


class BackgroundSettings(SettingsModel):
    """Background blur / replacement: person segmentation (MediaPipe selfie segmentation), edges refined at
    full resolution, smoothed over time."""

    enabled: bool = Field(True, description="Apply the effect")
    mode: Literal["blur", "replace", "color", "foreground", "flat", "posterize"] = Field(
        "blur", description="blur the background; replace it with `image` (a picture or a looping video); "
                            "paint it with `color`; 'foreground': keep only the person on a hard-edged key "
                            "colour (`color`) for a chroma key; data saver (the meeting app's encoder spends its "
                            "bits on you): 'flat' paints it the room's own average colour, 'posterize' blurs it "
                            "and reduces its brightness to a few levels (`levels`), both held steady over time")
    model: Literal["landscape", "general"] = Field(
        "landscape", description="Segmentation model: 'landscape' (256x144, for 16:9) or 'general' (256x256)",
        json_schema_extra=ADVANCED)
    device: Device = Field("AUTO", description="OpenVINO device for the segmentation model (falls back to CPU)")
    precision: Precision = Field("auto", description=PRECISION_HELP.format(what="the segmentation model"),
                                 json_schema_extra=ADVANCED)
    blur: float = Field(12.0, ge=1, le=60,
                        description="Background blur radius (Gaussian sigma) in pixels of a 720p frame")
    levels: int = Field(6, ge=2, le=32, description="Brightness levels in posterize mode (fewer: "
                                                      "flatter, fewer bits)")
    image: str = Field("", description="Replacement picture or video file (replace mode); any size, "
                                       "scaled to cover the frame; videos loop",
                       json_schema_extra={"file_filter": MEDIA_FILTER})
    color: tuple[int, int, int] = Field((0, 255, 0), description="Backdrop / key colour as B, G, R (0-255)")
    threshold: float = Field(0.5, ge=0.05, le=0.95,
                             description="Person probability at the edge: higher = tighter cut-out",
                             json_schema_extra=ADVANCED)
    feather: float = Field(0.25, ge=0.0, le=0.5,
                           description="Edge softness: alpha ramps from threshold-feather to threshold+feather "
                                       "(0 = hard edge)", json_schema_extra=ADVANCED)
    refine: bool = Field(True, description="Refine the edge at full resolution with the frame as guide "
                                           "(keeps hair, no halo)", json_schema_extra=ADVANCED)
    refine_radius: float = Field(8.0, ge=2, le=32,
                                 description="Edge refinement window radius in pixels of a 720p frame",
                                 json_schema_extra=ADVANCED)
    smoothing: float = Field(0.6, ge=0.0, le=0.95,
                             description="Temporal smoothing of the mask where the picture is still "
                                         "(0 = off); moving areas follow at once, so no ghosting",
                             json_schema_extra=ADVANCED)
    every: int = Field(1, ge=1, le=10, description="Compute the mask every N frames (reuse it in between)",
                       json_schema_extra=PERFORMANCE)
    static_skip: float = Field(0.0, ge=0.0, le=10.0,
                               description="Reuse the mask while the picture changes less than this (mean grey "
                                           "levels vs the last computed frame; 0 = off); recomputed at least "
                                           "once a second", json_schema_extra=PERFORMANCE)

    @model_validator(mode="after")
    def _color_range(self):
        _check_bgr(self.color, "color")
        return self


class RestoreSettings(SettingsModel):
    """Face super-resolution for low-resolution or heavily compressed video: FSRCNN on the tracked face,
    blended into a standard upscale of the rest."""

    enabled: bool = Field(True, description="Apply the effect")
    mode: Literal["enhance", "upscale"] = Field(
        "enhance", description="'enhance': same size, for a picture that was enlarged from a lower resolution "
                               "(the face is rebuilt at `scale`); 'upscale': output `output_height` lines "
                               "(e.g. 240p/360p -> 720p). In OBS the filter always keeps the source size")
    scale: int = Field(2, ge=2, le=4, description="enhance: how much the picture was enlarged; the face is "
                                                  "reduced by this and rebuilt")
    output_height: int = Field(720, ge=144, le=2160,
                               description="upscale: output height in pixels (width keeps the aspect ratio)",
                               json_schema_extra=ADVANCED)
    device: Device = Field("AUTO", description="OpenVINO device for the super-resolution model")
    precision: Precision = Field("auto", description=PRECISION_HELP.format(what="the super-resolution model"),
                                 json_schema_extra=ADVANCED)
    model: Literal["auto", "x4", "x2"] = Field(
        "auto", description="FSRCNN model: 'x4' (its result reduced to the factor needed, with the deblocker: "
                            "for compressed video), 'x2' (clean input; larger factors finish with bicubic), "
                            "'auto': x2 for clean faces enlarged up to 2.5x, else x4", json_schema_extra=ADVANCED)
    margin: float = Field(1.3, ge=1.0, le=3.0, description="Restored region around the face, x the face size",
                          json_schema_extra=ADVANCED)
    max_margin: float = Field(
        1.7, ge=1.0, le=3.0, description="Small faces: the region grows up to this x the face size while it stays "
                                         "within `region_px` input pixels across (more hair and neck restored at "
                                         "no more cost than a large face)", json_schema_extra=ADVANCED)
    region_px: int = Field(160, ge=0, le=1024, description="Input pixels across up to which a small face's region "
                                                           "grows towards `max_margin` (0: always `margin`)",
                           json_schema_extra=ADVANCED)
    deblock: bool = Field(True, description="Remove JPEG/video compression blocks from the face around "
                                            "super-resolution (a small CNN, only as much as the face is blocky: "
                                            "clean faces are left alone; ~3-5 ms at 240p when it runs)")
    deblock_strength: float = Field(1.0, ge=0.0, le=1.0,
                                    description="Scales the deblocking correction: lower keeps more grain and "
                                                "skin texture (and more compression noise)", json_schema_extra=ADVANCED)
    interpolation: Literal["bicubic", "lanczos"] = Field(
        "bicubic", description="How the rest of the frame is upscaled", json_schema_extra=ADVANCED)


class AvatarSettings(SettingsModel):
    """Photo avatar: a still portrait animated by your head motion, expressions, blinks and gaze (or by your
    voice when the camera sees no face), composited over the portrait's own background, a colour or a blur."""

    enabled: bool = Field(True, description="Show the avatar instead of the camera picture")
    source: str = Field("", description="Portrait photo (one face, looking at the camera, eyes at least 30 px "
                                        "apart); the samples' grace_hopper.jpg works",
                        json_schema_extra={"file_filter": IMAGE_FILTER})
    device: Device = Field("AUTO", description="OpenVINO device for analysing the portrait")
    background: Literal["own", "color", "blur"] = Field(
        "own", description="Behind the moving person: the portrait's own background, a colour, or a blur of it")
    color: tuple[int, int, int] = Field((48, 40, 36), description="Background colour as B, G, R (color mode)")
    blur: float = Field(16.0, ge=1, le=60, description="Background blur strength, px at 720p (blur mode)")
    expression: float = Field(1.0, ge=0, le=2, description="How strongly your expressions are transferred",
                              json_schema_extra=ADVANCED)
    head_motion: float = Field(1.0, ge=0, le=2, description="How strongly your head motion is transferred",
                               json_schema_extra=ADVANCED)
    max_yaw_deg: float = Field(25.0, ge=0, le=45, description="Head turn (left/right) eases into this limit "
                                                              "(a photo cannot show the far side of a face)",
                               json_schema_extra=ADVANCED)
    max_pitch_deg: float = Field(20.0, ge=0, le=45, description="Head nod (up/down) eases into this limit",
                                 json_schema_extra=ADVANCED)
    max_roll_deg: float = Field(30.0, ge=0, le=45, description="Head tilt eases into this limit",
                                json_schema_extra=ADVANCED)
    eyes: bool = Field(True, description="Blinks and iris direction follow yours", json_schema_extra=ADVANCED)
    mouth: bool = Field(True, description="Paint the inside of the mouth when it opens wider than the portrait's",
                        json_schema_extra=ADVANCED)
    teeth: bool = Field(True, description="Hint of teeth in the painted mouth", json_schema_extra=ADVANCED)
    audio_drive: bool = Field(True, description="With no face in view, move the mouth with your voice "
                                                "(when audio reaches the avatar)", json_schema_extra=ADVANCED)
    audio_source: str = Field("", description="OBS only: the audio source (e.g. Mic/Aux) whose sound moves the "
                                              "mouth when no face is in view")
    idle: bool = Field(True, description="With no face in view, keep blinking and swaying slightly",
                       json_schema_extra=ADVANCED)
    color_match: float = Field(0.0, ge=0, le=1, description="Move the portrait's colours and contrast towards "
                                                            "your face's (0 = the photo's own light, 1 = yours)",
                               json_schema_extra=ADVANCED)
    grid: int = Field(4, ge=1, le=8, description="Warp map resolution in px (1 = exact per pixel, slower)",
                      json_schema_extra=PERFORMANCE)

    @model_validator(mode="after")
    def _color_range(self):
        _check_bgr(self.color, "color")
        return self


class AutoMuteSettings(SettingsModel):
    """Voice-activity auto-mute: silences (or ducks) the microphone while nobody talks."""

    enabled: bool = Field(True, description="Gate the audio")
    threshold: float = Field(0.5, ge=0.05, le=0.95,
                             description="Speech probability (silero VAD) that opens the gate for the hangover; "
                                         "it closes 0.15 lower")
    onset_threshold: float = Field(0.15, ge=0.05, le=0.95,
                                   description="Lower probability that opens the gate only while it lasts: lets a "
                                               "soft first syllable through before the VAD is sure (>= threshold: off)",
                                   json_schema_extra=ADVANCED)
    hangover_ms: float = Field(300.0, ge=0, le=3000,
                               description="Keep the gate open this long after speech stops (no cut word ends)")
    attack_ms: float = Field(5.0, ge=0.5, le=30, description="Fade-in time when speech starts",
                             json_schema_extra=ADVANCED)
    release_ms: float = Field(80.0, ge=5, le=1000, description="Fade-out time once the hangover has passed",
                              json_schema_extra=ADVANCED)
    lookahead_ms: float = Field(34.0, ge=0, le=60,
                                description="Audio delay that lets the gate open before a word's first sound "
                                            "(>= 33 ms: no clipped onsets); this is the added latency",
                                json_schema_extra=ADVANCED)
    mode: Literal["mute", "duck"] = Field("mute", description="Silence the audio, or lower it by duck_db")
    precision: Precision = Field("auto", description=PRECISION_HELP.format(what="the voice-activity model"),
                                 json_schema_extra=ADVANCED)
    duck_db: float = Field(20.0, ge=3, le=60, description="Attenuation while nobody talks, in duck mode")


class DenoiseSettings(SettingsModel):
    """Speech noise suppression: removes keyboard, fans, music and other noise around the voice."""

    enabled: bool = Field(True, description="Suppress noise (off: the audio passes through, still delayed)")
    mode: Literal["best", "light"] = Field(
        "best", description="'best': DeepFilterNet3 at 48 kHz (full band) + our refinement stage, RTF ~0.1 on "
                            "one core, 40 ms latency; "
                            "'light': DTLN's first stage at 16 kHz, ~4x less CPU, 36 ms")
    atten_limit_db: float = Field(
        100.0, ge=6, le=100,
        description="Most the noise is lowered, in dB: keeps 10^(-dB/20) of the original under the voice "
                    "(lower keeps some ambience); 100 = no limit")
    mix: float = Field(1.0, ge=0, le=1, description="Wet/dry mix: 1 = only the denoised voice, 0 = the original")
    precision: Precision = Field("auto", description=PRECISION_HELP.format(what="the denoising networks"),
                                 json_schema_extra=ADVANCED)
    stereo: Literal["mono_mix", "per_channel"] = Field(
        "mono_mix", description="'mono_mix': denoise the mix of all channels and write it to every channel "
                                "(a microphone is mono); 'per_channel': denoise each channel (CPU x channels)",
                                                       json_schema_extra=ADVANCED)


class FramingSettings(SettingsModel):
    """Auto framing: a virtual camera operator that crops the picture around the face(s) and scales the crop
    back to the full size, moving calmly (dead zone, critically damped motion, hold when the face is lost)."""

    enabled: bool = Field(True, description="Frame the picture automatically")
    group: Literal["all", "largest"] = Field(
        "all", description="With several faces: frame everyone in view, or only the largest face (more than one "
                           "face needs face.max_faces > 1)")
    face_height: float = Field(0.3, ge=0.1, le=0.8,
                               description="Face height (forehead to chin) as a share of the picture height")
    max_zoom: float = Field(2.0, ge=1.0, le=4.0,
                            description="Never enlarge the picture more than this (the crop is never smaller "
                                        "than 1/max_zoom of the frame: keeps it sharp)")
    settle_s: float = Field(1.0, ge=0.1, le=5.0,
                            description="Seconds the camera takes to settle on a new position (critically damped: "
                                        "no overshoot)")
    dead_zone: float = Field(0.06, ge=0.0, le=0.3,
                             description="The face may move this share of the picture before the camera follows")
    zoom_dead_zone: float = Field(0.12, ge=0.0, le=0.5,
                                  description="The face size may change by this fraction before the zoom follows",
                                  json_schema_extra=ADVANCED)
    eye_line: float = Field(0.36, ge=0.2, le=0.6,
                            description="Height of the eyes from the top of the picture, as a share of it "
                                        "(1/3: the rule of thirds)", json_schema_extra=ADVANCED)
    head_room: float = Field(0.08, ge=0.0, le=0.3,
                             description="Least space above the forehead, as a share of the picture height",
                             json_schema_extra=ADVANCED)
    look_room: float = Field(0.08, ge=0.0, le=0.25,
                             description="Shift the face sideways by up to this share of the picture width, "
                                         "leaving room in the direction the head turns (full at 30 degrees)",
                             json_schema_extra=ADVANCED)
    hold_s: float = Field(1.5, ge=0.0, le=10.0,
                          description="Face lost: keep the frame this many seconds before returning",
                          json_schema_extra=ADVANCED)
    return_s: float = Field(2.5, ge=0.2, le=10.0,
                            description="Face lost: seconds the slow return to the full frame takes",
                            json_schema_extra=ADVANCED)


class AnalyticsSettings(SettingsModel):
    """Face analytics: who is in view (enrolled names or unknown-N), apparent age and gender, and whether each
    person looks at the screen. Nothing leaves the machine; only faces you enrol are stored."""

    enabled: bool = Field(True, description="Analyse the faces in view")
    overlay: bool = Field(True, description="Draw each face's box and what was found (name, age, gender, "
                                            "attention) on the picture (OBS filter)")
    identity: bool = Field(True, description="Recognise enrolled faces and tell unknown people apart (off: no "
                                             "face embedding is computed at all)")
    attributes: bool = Field(True, description="Estimate apparent age and gender (guesses, not facts)")
    expressions: bool = Field(True, description="Estimate the facial expression (angry, disgust, fear, happy, sad, "
                                                "surprise, neutral): how the face looks, not what the person "
                                                "feels")
    gallery: str = Field("", description="Folder of enrolled faces (empty: ~/.local/share/obs-deepzoom/faces, or "
                                         "$DEEPZOOM_GALLERY)", json_schema_extra={"folder": True})
    precision: Precision = Field("auto", description=PRECISION_HELP.format(what="the analytics networks"),
                                 json_schema_extra=ADVANCED)
    threshold: float = Field(1.0, ge=0.3, le=1.6,
                             description="Embedding distance below which two faces are the same person "
                                         "(lower: fewer false matches, more misses)", json_schema_extra=ADVANCED)
    embed_every_s: float = Field(1.0, ge=0.1, le=30.0,
                                 description="Seconds between face embeddings of one person",
                                 json_schema_extra=ADVANCED)
    attributes_every_s: float = Field(2.0, ge=0.1, le=60.0,
                                      description="Seconds between age/gender estimates of one person",
                                      json_schema_extra=ADVANCED)
    expression_every_s: float = Field(0.5, ge=0.1, le=10.0,
                                      description="Seconds between expression estimates of one person",
                                      json_schema_extra=ADVANCED)
    expression_smoothing_s: float = Field(1.0, ge=0.0, le=10.0,
                                          description="Time constant of the running average of the expression "
                                                      "probabilities (expressions change faster than age)",
                                          json_schema_extra=ADVANCED)
    smoothing_s: float = Field(3.0, ge=0.0, le=60.0,
                               description="Time constant of the running averages of age, gender and embedding",
                               json_schema_extra=ADVANCED)
    attention_yaw_deg: float = Field(25.0, ge=5.0, le=90.0,
                                     description="Looking at the screen: head and eyes turned sideways by at most "
                                                 "this much", json_schema_extra=ADVANCED)
    attention_pitch_deg: float = Field(20.0, ge=5.0, le=90.0,
                                       description="Looking at the screen: head and eyes turned up or down by at "
                                                   "most this much", json_schema_extra=ADVANCED)
    relink_s: float = Field(1.5, ge=0.0, le=10.0,
                            description="A face lost for at most this long keeps its track id when it comes back "
                                        "near where it was", json_schema_extra=ADVANCED)


class ConcealSettings(SettingsModel):
    """Video-dropout concealment (docs/codec.md#dropout-concealment): when the camera freezes or goes black, the
    last good picture is animated by your voice (the photo avatar's voice mode) until real frames return."""

    enabled: bool = Field(True, description="Apply the effect")
    freeze_ms: float = Field(250.0, ge=50, le=5000,
                             description="A picture repeated (or black) this long counts as a dropout (ms)")
    fade_ms: float = Field(200.0, ge=0, le=2000, description="Cross-fade back to the camera when it returns (ms)")
    max_s: float = Field(30.0, ge=1, le=3600,
                         description="Longest dropout concealed (s): a camera off for longer was probably turned off "
                                     "on purpose, and its own picture (frozen, or none) shows again")
    audio_drive: bool = Field(True, description="Move the mouth with your voice during a dropout")
    audio_source: str = Field("", description="OBS only: the audio source (e.g. Mic/Aux) whose sound moves the "
                                              "mouth; empty: the filtered source's own audio")
    idle: bool = Field(True, description="Keep blinking and swaying slightly during a dropout",
                       json_schema_extra=ADVANCED)


def host_port(text: str) -> tuple[str, int]:
    """'HOST:PORT' as (host, port); ValueError naming what is wrong."""
    host, _, port = str(text).strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in host):
        raise ValueError(f"{text!r}: expected HOST:PORT with a port 1-65535 (e.g. 127.0.0.1:5600)")
    return host, int(port)


class SendSettings(SettingsModel):
    """Keypoint sender (docs/codec.md): the picture passes unchanged; its face goes out as a keypoint stream to
    a DeepZoom Keypoint Receiver (or `deepzoom codec receive`)."""

    enabled: bool = Field(True, description="Send the stream")
    to: str = Field("127.0.0.1:5600", description="HOST:PORT of the receiver (anything else: nothing is sent, "
                                                   "and the property page says why)")
    keyframe_quality: int = Field(70, ge=10, le=100, description="Picture quality of keyframes, WebP or JPEG "
                                                                 "(higher: sharper and bigger)")



class ReceiverSettings(SettingsModel):
    """Keypoint receiver (an OBS source): shows a keypoint stream arriving over UDP."""

    port: int = Field(5600, ge=1024, le=65535, description="UDP port to listen on")


class CodecSettings(SettingsModel):
    """Keypoint face codec (docs/codec.md): a keyframe of the speaker, then per frame the head pose, expression
    and eyes in a few bytes; the receiver animates the keyframe."""

    keyframe_quality: int = Field(70, ge=10, le=100, description="Picture quality of keyframes, WebP or JPEG "
                                                                 "(higher: sharper and bigger)")
    expression_step: float = Field(0.04, ge=0.001, le=0.1,
                                   description="Quantisation step of the expression (inter-ocular distances): "
                                               "smaller is finer and costs more bits", json_schema_extra=ADVANCED)
    keyframe_format: Literal["webp", "jpeg"] = Field(
        "webp", description="Picture format of keyframes (WebP: about half the bytes of JPEG at the same quality)")
    keyframe_candidates: int = Field(8, ge=1, le=32,
                                     description="Files: the first keyframe is the best of this many frames "
                                                 "spread over the first keyframe_window_s, judged by how well "
                                                 "the receiver's picture would match the video (1 = the first "
                                                 "frame with a face, as a live stream does)",
                                     json_schema_extra=PERFORMANCE)
    keyframe_window_s: float = Field(15.0, ge=0.5, le=60,
                                     description="Files: seconds at the start the first keyframe is chosen from",
                                     json_schema_extra=ADVANCED)
    hysteresis: float = Field(0.6, ge=0, le=2,
                              description="A value keeps its previous step unless it moves this many steps past "
                                          "the rounding point (tracker jitter costs no bits; 0 = plain rounding; "
                                          "above 1 the motion turns visibly jerky)",
                              json_schema_extra=ADVANCED)
    refresh_db: float = Field(0.0, ge=0, le=40,
                              description="Send a new keyframe when the animated face falls below this PSNR "
                                          "against the camera's (dB; a hand over the face, new lighting; 0 = "
                                          "never: on the calibration clip every threshold cost far more bits "
                                          "than it gained, docs/codec.md)")
    check_every: int = Field(10, ge=1, le=120, description="Frames between reconstruction checks",
                             json_schema_extra=PERFORMANCE)
    min_keyframe_gap_s: float = Field(2.0, ge=0.1, le=60, description="Seconds at least between keyframes "
                                                                      "sent because of the check")
    delta_from: Literal["previous", "intra"] = Field(
        "previous", description="Code each frame as the change from the previous frame (fewest bits: files) or "
                                "from the last frame coded on its own (a lost packet costs one frame: live)",
        json_schema_extra=ADVANCED)
    intra_every: int = Field(30, ge=1, le=600,
                             description="A frame coded on its own (not as a change) every N frames: a lost "
                                         "packet is repaired by then", json_schema_extra=ADVANCED)

    @classmethod
    def live(cls, **values) -> CodecSettings:
        """The settings of a live stream (`codec send`, the sender filter): each frame coded against the last
        INTRA frame, one every 10 frames, so a lost datagram costs its own frame; `values` override."""
        return cls(**{"delta_from": "intra", "intra_every": 10, **values})


class FilterSettings(SettingsModel):
    """How an OBS filter runs its effect (OBS only)."""

    budget_ms: float = Field(
        0.0, ge=0, le=100,
        description="Longest OBS's thread waits for this frame's result; 0 = never wait, show the newest "
                    "finished result (one frame behind)")
    max_age_frames: int = Field(
        5, ge=0, le=30, description="Images, scenes, captures: reuse a late result at most this many frames old, "
                                    "else pass the frame through")
    latency_frames: int = Field(
        3, ge=1, le=8,
        description="Webcams and media: each frame is held this many frames and shown with its own result "
                    "(frame-exact); delay the audio by the same time (Advanced Audio Properties > Sync Offset)")
    late_frames: Literal["drop", "pass"] = Field(
        "drop", description="Webcams and media: a frame whose result is late is dropped (smooth, fewer frames) "
                            "or passed through without the effect")


class AudioFilterSettings(SettingsModel):
    """How an OBS audio filter runs its effect (OBS only)."""

    queue_ms: float = Field(
        64.0, ge=10, le=500,
        description="Audio is delayed by this much (plus the effect's own delay) so the effect has time to run "
                    "off OBS's audio thread; audio it could not process in time passes through unchanged. Raise "
                    "it on a busy computer")


class ChainSettings(SettingsModel):
    """Settings of every stage, by effect name; stages not in the chain keep their defaults."""

    face: FaceTrackingSettings = FaceTrackingSettings()
    filter: FilterSettings = FilterSettings()
    audio_filter: AudioFilterSettings = AudioFilterSettings()
    landmarks: LandmarksSettings = LandmarksSettings()
    gaze: GazeSettings = GazeSettings()
    denoise: DenoiseSettings = DenoiseSettings()
    background: BackgroundSettings = BackgroundSettings()
    restore: RestoreSettings = RestoreSettings()
    avatar: AvatarSettings = AvatarSettings()
    automute: AutoMuteSettings = AutoMuteSettings()
    framing: FramingSettings = FramingSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    conceal: ConcealSettings = ConcealSettings()
    send: SendSettings = SendSettings()


def format_errors(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"])
        parts.append(f"{prefix}{loc}: {e['msg']}" if loc else f"{prefix}{e['msg']}")
    return "; ".join(parts)


def apply_overrides(settings: ChainSettings, overrides: list[str]) -> ChainSettings:
    """Apply 'effect.field=value' strings (value parsed as JSON when it can be) and re-validate."""
    data: dict[str, Any] = settings.model_dump()
    for item in overrides:
        key, sep, raw = item.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not dot or not field:
            raise SettingsError(f"--set '{item}': expected effect.field=value, e.g. face.max_faces=2")
        if section not in data:
            raise SettingsError(f"--set '{item}': unknown effect '{section}' (known: {', '.join(data)})")
        if field not in data[section]:
            known = ", ".join(data[section])
            raise SettingsError(f"--set '{item}': '{section}' has no setting '{field}' (known: {known})")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        data[section][field] = value
    try:
        return ChainSettings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"invalid setting: {format_errors(exc)}") from exc
