"""What `deepzoom remote …` does, on top of ObsClient. Each function validates everything it can before it
changes anything in OBS, so a bad request leaves OBS as it was."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from ..errors import DeepZoomError
from ..obs.kinds import ALL_KINDS, GET_ANALYTICS, RESET_ANALYTICS, VENDOR, effect_of_kind, is_audio
from ..obs.properties import obs_settings, parse_overrides
from .client import SERIAL_REALTIME, ObsClient, ObsError

FILTER_PREFIX = "DeepZoom "
VIRTUALCAM_HELP = (
    "the virtual camera is not available in this OBS. Linux: install v4l2loopback "
    "(Debian/Ubuntu: sudo apt-get install v4l2loopback-dkms; then sudo modprobe v4l2loopback exclusive_caps=1 "
    "card_label='OBS Virtual Camera') and restart OBS. Windows and macOS: the virtual camera ships with OBS; "
    "start it once from OBS's Controls dock to install it. See docs/obs.md#virtual-camera")


def _kind(effect: str) -> str:
    if effect not in ALL_KINDS:
        raise DeepZoomError(f"unknown effect '{effect}' (available: {', '.join(ALL_KINDS)})")
    return ALL_KINDS[effect][0]


def default_filter_name(effect: str) -> str:
    return ALL_KINDS[effect][1]


def _filters(c: ObsClient, source: str) -> list[dict]:
    try:
        return c.request("GetSourceFilterList", {"sourceName": source})["filters"]
    except ObsError as exc:
        if exc.code == 600:
            raise ObsError(f"no source named '{source}' in OBS", 600) from None
        raise


def _require_kind(c: ObsClient, kind: str) -> None:
    try:
        c.request("GetSourceFilterDefaultSettings", {"filterKind": kind})
    except ObsError as exc:
        raise ObsError(f"OBS does not know the filter kind {kind}: is the DeepZoom script loaded? "
                       "(run `deepzoom obs setup`, then restart OBS)") from exc


def _filter(c: ObsClient, source: str, name: str) -> dict:
    for f in _filters(c, source):
        if f["filterName"] == name:
            return f
    names = ", ".join(f["filterName"] for f in _filters(c, source)) or "none"
    raise ObsError(f"source '{source}' has no filter named '{name}' (it has: {names})")


def status(c: ObsClient) -> dict:
    stats = c.request("GetStats")
    out = {"obs": c.versions.get("obsVersion"), "obs_websocket": c.versions.get("obsWebSocketVersion"),
           "rpc": c.versions.get("rpcVersion"), "active_fps": round(stats["activeFps"], 2),
           "average_frame_render_ms": round(stats["averageFrameRenderTime"], 3), "cpu_usage": stats.get("cpuUsage")}
    try:
        out["virtualcam"] = "on" if c.request("GetVirtualCamStatus")["outputActive"] else "off"
    except ObsError:
        out["virtualcam"] = "unavailable"
    return out


def list_filters(c: ObsClient, source: str) -> list[dict]:
    return [{"name": f["filterName"], "kind": f["filterKind"], "enabled": f["filterEnabled"],
             "deepzoom": effect_of_kind(f["filterKind"]) is not None, "settings": f["filterSettings"]}
            for f in _filters(c, source)]


def add(c: ObsClient, source: str, effect: str, overrides: list[str], name: str | None = None) -> str:
    kind = _kind(effect)
    settings = parse_overrides(effect, overrides)
    name = name or default_filter_name(effect)
    existing = [f["filterName"] for f in _filters(c, source)]
    if name in existing:
        raise ObsError(f"source '{source}' already has a filter named '{name}' (use --name or `remote set`)")
    _require_kind(c, kind)
    c.request("CreateSourceFilter", {"sourceName": source, "filterName": name, "filterKind": kind,
                                     "filterSettings": settings})
    return name


def set_settings(c: ObsClient, source: str, name: str, overrides: list[str]) -> dict:
    f = _filter(c, source, name)
    effect = effect_of_kind(f["filterKind"])
    if effect is None:
        raise ObsError(f"filter '{name}' on '{source}' is a {f['filterKind']}, not a DeepZoom filter")
    settings = parse_overrides(effect, overrides)
    c.request("SetSourceFilterSettings", {"sourceName": source, "filterName": name, "filterSettings": settings,
                                          "overlay": True})
    return settings


def set_enabled(c: ObsClient, source: str, name: str, enabled: bool) -> None:
    _filter(c, source, name)
    c.request("SetSourceFilterEnabled", {"sourceName": source, "filterName": name, "filterEnabled": enabled})


def _ordered(current: list[dict], chain: list[str], new: set[str], ours) -> list[str]:
    """The filter order a preset leaves: every other filter (a user's Color Correction, the other family's
    DeepZoom filters) keeps its place and its order; the family's filters fill the slots ours already
    occupy, in the preset's order, plus one new slot per filter we create, right after the last of ours
    (at the end of the list when the source had none)."""
    before = [f for f in current if f["filterName"] not in new]
    last = max((i for i, f in enumerate(before) if ours(f)), default=None)
    layout: list[str | None] = []
    for i, f in enumerate(before):
        layout.append(None if ours(f) else f["filterName"])
        if i == last:
            layout += [None] * len(new)
    if last is None:
        layout += [None] * len(new)
    fill = iter(chain)
    return [name if name is not None else next(fill) for name in layout]


def _chain_steps(c: ObsClient, source: str, effects: list[str], settings, family,
                 current: list[dict]) -> list[tuple[str, dict]]:
    """Requests that make `source`'s DeepZoom filters of one family (video or audio) exactly `effects`, in
    that order. `current` is the source's filter list (OBS's order) as it will be when these requests run;
    it is updated to what it will be after them."""
    wanted = [(default_filter_name(e), _kind(e), obs_settings(e, settings)) for e in effects]
    for _, kind, _ in wanted:
        _require_kind(c, kind)
    by_name = {f["filterName"]: f for f in current}
    for name, kind, _ in wanted:
        existing = by_name.get(name)
        if existing is not None and existing["filterKind"] != kind:
            raise ObsError(f"source '{source}' has a filter '{name}' of another kind ({existing['filterKind']})")

    def ours(f: dict) -> bool:
        effect = effect_of_kind(f["filterKind"])
        return effect is not None and family(effect)

    chain = [name for name, _, _ in wanted]
    steps: list[tuple[str, dict]] = []
    for f in list(current):
        if ours(f) and f["filterName"] not in chain:
            steps.append(("RemoveSourceFilter", {"sourceName": source, "filterName": f["filterName"]}))
            current.remove(f)
    new = {name for name in chain if name not in by_name}
    target = _ordered(current, chain, new, ours)
    for name, kind, values in wanted:
        if name in new:  # OBS appends a new filter at the end of the list
            steps.append(("CreateSourceFilter", {"sourceName": source, "filterName": name, "filterKind": kind,
                                                 "filterSettings": values}))
            current.append({"filterName": name, "filterKind": kind})
        else:
            steps.append(("SetSourceFilterSettings", {"sourceName": source, "filterName": name,
                                                      "filterSettings": values, "overlay": False}))
            steps.append(("SetSourceFilterEnabled", {"sourceName": source, "filterName": name,
                                                     "filterEnabled": True}))
    # SetSourceFilterIndex moves one filter to a position (obs-websocket >= 5.0): put each in its place,
    # first to last; the ones before it are already right, so it only ever moves up
    for index, name in enumerate(target):
        at = next(i for i, f in enumerate(current) if f["filterName"] == name)
        if at != index:
            steps.append(("SetSourceFilterIndex", {"sourceName": source, "filterName": name, "filterIndex": index}))
            current.insert(index, current.pop(at))
    return steps


def apply_preset(c: ObsClient, source: str, preset, audio_source: str | None = None) -> list[str]:
    """Make the sources' DeepZoom filters exactly the preset's chains, in the preset's order (video on
    `source`, audio on `audio_source`, default the same source), checked first, then sent as one
    batch, in order, halting at the first failure. Other filters keep their places (see `_ordered`)."""
    video_filters = _filters(c, source)
    steps = _chain_steps(c, source, preset.video, preset.settings, lambda e: not is_audio(e), video_filters)
    audio_source = audio_source or source
    audio_filters = video_filters if audio_source == source else _filters(c, audio_source)
    steps += _chain_steps(c, audio_source, preset.audio, preset.settings, is_audio, audio_filters)
    if not steps:
        return []
    # SERIAL_REALTIME: on obs-websocket's thread. SERIAL_FRAME would run our filters' create/update (Python) on
    # OBS's graphics thread, which would then have to take the GIL
    results = c.batch(steps, SERIAL_REALTIME)
    failed = [(s[0], r["requestStatus"]) for s, r in zip(steps, results) if not r["requestStatus"]["result"]]
    if failed or len(results) != len(steps):
        what = "; ".join(f"{n}: {st.get('comment') or st.get('code')}" for n, st in failed) or "batch halted"
        raise ObsError(f"preset '{preset.name}' was not fully applied ({what})")
    return [f"{data['sourceName']} / {data['filterName']}: {request}" for request, data in steps]


def screenshot(c: ObsClient, source: str, out: Path, width: int | None = None) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise DeepZoomError(f"{out}: screenshots are written as .png or .jpg")
    if not out.parent.exists():
        raise DeepZoomError(f"{out.parent}: output directory does not exist")
    req = {"sourceName": source, "imageFormat": "png" if out.suffix.lower() == ".png" else "jpg"}
    if width:
        req["imageWidth"] = width
    try:
        data = c.request("GetSourceScreenshot", req)["imageData"]
    except ObsError as exc:
        if exc.code == 600:
            raise ObsError(f"no source named '{source}' in OBS", 600) from None
        raise
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_bytes(base64.b64decode(data.split(",", 1)[1]))
    os.replace(tmp, out)
    return out


def virtualcam(c: ObsClient, action: str) -> dict:
    request = {"start": "StartVirtualCam", "stop": "StopVirtualCam", "status": "GetVirtualCamStatus"}[action]
    try:
        c.request(request)
        return c.request("GetVirtualCamStatus")
    except ObsError as exc:
        if exc.code == 604 or "not available" in str(exc).lower():
            raise ObsError(VIRTUALCAM_HELP, exc.code) from None
        raise


def _vendor_request(c: ObsClient, request: str, source: str) -> dict:
    try:
        d = c.request("CallVendorRequest", {"vendorName": VENDOR, "requestType": request,
                                            "requestData": {"source": source}})
    except ObsError as exc:
        if "vendor" not in str(exc).lower():
            raise
        raise ObsError(f"{exc}: OBS has no {VENDOR} requests (is obs-websocket 5 there and the DeepZoom script "
                       "loaded? OBS's log says why it could not register them)", exc.code) from None
    data = d.get("responseData") or {}
    if "error" in data:
        raise ObsError(f"'{source}': {data['error']}")
    return data


def analytics(c: ObsClient, source: str, reset: bool = False) -> dict:
    """The live statistics of the analytics filter on `source` (after starting them over, with `reset`)."""
    kind = _kind("analytics")
    if not any(f["filterKind"] == kind for f in _filters(c, source)):
        raise ObsError(f"'{source}' has no {default_filter_name('analytics')} filter (add one: deepzoom remote "
                       f"add '{source}' analytics, or deepzoom remote preset '{source}' audience)")
    if not reset:
        return _vendor_request(c, GET_ANALYTICS, source)
    before = _vendor_request(c, GET_ANALYTICS, source).get("resets", 0)
    _vendor_request(c, RESET_ANALYTICS, source)
    deadline = time.monotonic() + 5.0
    while True:  # the filter's worker starts over within a fraction of a second and publishes anew
        stats = _vendor_request(c, GET_ANALYTICS, source)
        if stats.get("resets", 0) > before:
            return stats
        if time.monotonic() > deadline:
            raise ObsError(f"'{source}': the analytics filter did not start over within 5 s (is it enabled?)")
        time.sleep(0.05)


def analytics_text(source: str, stats: dict) -> str:
    """A few lines for people: the session, then one line per person seen."""
    people = stats.get("people", [])
    ms = stats.get("effect_ms_median")
    head = (f"{source}: {len(people)} seen in {stats.get('seconds', 0):.1f} s, {stats.get('in_view', 0)} in view now"
            + (f" ({ms:.1f} ms per frame)" if ms is not None else ""))
    lines = [head]
    if stats.get("warning"):
        lines.append(f"  warning: {stats['warning']}")
    for p in people:
        extra = "".join([f", age {p['age']:.0f}" if p.get("age") is not None else "",
                         f", {p['gender']}" if p.get("gender") else "",
                         f", mostly {next(iter(p['expressions']))}" if p.get("expressions") else ""])
        lines.append(f"  {p['id']:20s} {p['seconds']:7.1f} s in view, looking at the screen "
                     f"{p['attention_pct']:5.1f} %{extra}")
    return "\n".join(lines)
