"""apply_preset sets the order of a source's DeepZoom filters, not only which ones are there: checked against a
fake obs-websocket client that records every request and applies them as OBS does (no OBS needed)."""

from __future__ import annotations

import copy
import random

import pytest

from obs_deepzoom import presets
from obs_deepzoom.obs.kinds import ALL_KINDS, effect_of_kind, is_audio
from obs_deepzoom.presets import Preset
from obs_deepzoom.remote import commands as rc
from obs_deepzoom.remote.client import SERIAL_FRAME, SERIAL_REALTIME, ObsError

CC = ("Color Correction", "color_filter_v2")  # a user's own filters
SHARPEN = ("Sharpen", "sharpness_filter_v2")


def dz(effect: str) -> tuple[str, str]:
    kind, name = ALL_KINDS[effect]
    return name, kind


class FakeObs:
    """Just enough of obs-websocket 5 for apply_preset: filter lists per source, in OBS's order."""

    def __init__(self, **sources: list[tuple[str, str]]):
        self.sources = {s: [{"filterName": n, "filterKind": k, "filterEnabled": False, "filterSettings": {}}
                            for n, k in fs] for s, fs in sources.items()}
        self.requests: list[tuple[str, dict]] = []
        self.batches: list[tuple[list[tuple[str, dict]], int]] = []

    def request(self, name: str, data: dict | None = None) -> dict:
        self.requests.append((name, data))
        if name == "GetSourceFilterList":
            return {"filters": [dict(copy.deepcopy(f), filterIndex=i)
                                for i, f in enumerate(self.sources[data["sourceName"]])]}
        if name == "GetSourceFilterDefaultSettings":
            if effect_of_kind(data["filterKind"]) is None:
                raise ObsError("unknown kind", 600)
            return {"defaultFilterSettings": {}}
        raise AssertionError(f"unexpected request {name}")

    def batch(self, requests, execution=SERIAL_FRAME, halt_on_failure=True):
        self.batches.append((requests, execution))
        return [self._run(n, d) for n, d in requests]

    def _run(self, name: str, d: dict) -> dict:
        filters = self.sources[d["sourceName"]]
        names = [f["filterName"] for f in filters]
        if name == "CreateSourceFilter":
            assert d["filterName"] not in names
            filters.append({"filterName": d["filterName"], "filterKind": d["filterKind"], "filterEnabled": True,
                            "filterSettings": d["filterSettings"]})
        else:
            at = names.index(d["filterName"])
            if name == "RemoveSourceFilter":
                filters.pop(at)
            elif name == "SetSourceFilterSettings":
                filters[at]["filterSettings"] = d["filterSettings"]
            elif name == "SetSourceFilterEnabled":
                filters[at]["filterEnabled"] = d["filterEnabled"]
            elif name == "SetSourceFilterIndex":  # obs-websocket moves it one step at a time up or down
                assert 0 <= d["filterIndex"] < len(filters)
                filters.insert(d["filterIndex"], filters.pop(at))
            else:
                raise AssertionError(f"unexpected batch request {name}")
        return {"requestType": name, "requestStatus": {"result": True, "code": 100}}

    def names(self, source: str) -> list[str]:
        return [f["filterName"] for f in self.sources[source]]


def names(*effects) -> list[str]:
    return [e[0] if isinstance(e, tuple) else dz(e)[0] for e in effects]


def test_wrong_order_is_put_right_in_the_same_batch():
    meeting = presets.load("meeting")
    assert meeting.video == ["gaze", "background"] and meeting.audio == ["denoise"]
    obs = FakeObs(Cam=[dz("background"), dz("gaze")])
    steps = rc.apply_preset(obs, "Cam", meeting)
    assert obs.names("Cam") == names("gaze", "background", "denoise")
    assert len(obs.batches) == 1 and obs.batches[0][1] == SERIAL_REALTIME, "one batch, off the graphics thread"
    assert [n for n, _ in obs.batches[0][0]].count("SetSourceFilterIndex") == 1
    assert any("SetSourceFilterIndex" in s for s in steps)
    assert all(f["filterEnabled"] for f in obs.sources["Cam"])
    assert [n for n, _ in obs.requests if n not in ("GetSourceFilterList", "GetSourceFilterDefaultSettings")] == []


def test_other_filters_keep_their_places_and_ours_fill_their_slots():
    preset = Preset(name="p", video=["gaze", "background"])
    # ours sit between the user's filters: the new one goes right after the last of ours
    obs = FakeObs(Cam=[CC, dz("background"), SHARPEN])
    rc.apply_preset(obs, "Cam", preset)
    assert obs.names("Cam") == names(CC, "gaze", "background", SHARPEN)
    # ours interleaved with theirs: the slots stay, the order inside them becomes the preset's
    obs = FakeObs(Cam=[dz("background"), CC, dz("gaze"), SHARPEN])
    rc.apply_preset(obs, "Cam", preset)
    assert obs.names("Cam") == names("gaze", CC, "background", SHARPEN)
    # none of ours yet: the chain goes after everything
    obs = FakeObs(Cam=[CC, SHARPEN])
    rc.apply_preset(obs, "Cam", preset)
    assert obs.names("Cam") == names(CC, SHARPEN, "gaze", "background")
    assert not any(n == "SetSourceFilterIndex" for n, _ in obs.batches[0][0]), "already in place: no moves"
    # one of ours that the preset drops frees its slot
    obs = FakeObs(Cam=[dz("landmarks"), CC, dz("background")])
    rc.apply_preset(obs, "Cam", preset)
    assert obs.names("Cam") == names(CC, "gaze", "background")


def test_already_ordered_chain_gets_no_moves():
    obs = FakeObs(Cam=[CC, dz("gaze"), dz("background")])
    rc.apply_preset(obs, "Cam", Preset(name="p", video=["gaze", "background"]))
    assert obs.names("Cam") == names(CC, "gaze", "background")
    assert [n for n, _ in obs.batches[0][0]] == ["SetSourceFilterSettings", "SetSourceFilterEnabled"] * 2


def test_video_and_audio_on_one_source_are_ordered_against_the_list_the_batch_leaves():
    obs = FakeObs(Cam=[dz("automute"), dz("background"), CC, dz("gaze"), dz("denoise")])
    preset = Preset(name="p", video=["gaze", "background"], audio=["automute", "denoise"])
    rc.apply_preset(obs, "Cam", preset)
    # each family keeps the slots it had (video 1 and 3, audio 0 and 4)
    assert obs.names("Cam") == names("automute", "gaze", CC, "background", "denoise")
    obs = FakeObs(Cam=[dz("denoise"), dz("background"), CC, dz("gaze"), dz("automute")])
    rc.apply_preset(obs, "Cam", preset)
    assert obs.names("Cam") == names("automute", "gaze", CC, "background", "denoise")
    obs = FakeObs(Cam=[dz("denoise"), dz("background"), dz("gaze")], Mic=[CC, dz("denoise"), dz("automute")])
    rc.apply_preset(obs, "Cam", preset, audio_source="Mic")
    assert obs.names("Cam") == names("denoise", "gaze", "background"), "audio filters on Cam are not touched"
    assert obs.names("Mic") == names(CC, "automute", "denoise")


def family(f: dict) -> str | None:
    effect = effect_of_kind(f["filterKind"])
    return None if effect is None else "audio" if is_audio(effect) else "video"


def test_random_chains_end_exactly_in_preset_order():
    """Whatever the starting list: our filters of each family are the preset's chain in its order, every
    other filter keeps its order, and the plan apply_preset computed is what OBS ends with."""
    rng = random.Random(7)
    video, audio = [e for e in ALL_KINDS if not is_audio(e)], [e for e in ALL_KINDS if is_audio(e)]
    others = [CC, SHARPEN, ("Crop", "crop_filter"), ("Gain", "gain_filter")]
    for _ in range(300):
        start = rng.sample([dz(e) for e in ALL_KINDS] + others, rng.randint(0, 9))
        preset = Preset(name="r", video=rng.sample(video, rng.randint(0, len(video))),
                        audio=rng.sample(audio, rng.randint(0, len(audio))))
        obs = FakeObs(Cam=start)
        rc.apply_preset(obs, "Cam", preset)
        final = obs.sources["Cam"]
        assert [f["filterName"] for f in final if family(f) == "video"] == names(*preset.video)
        assert [f["filterName"] for f in final if family(f) == "audio"] == names(*preset.audio)
        theirs = [n for n, k in start if effect_of_kind(k) is None]
        assert [f["filterName"] for f in final if effect_of_kind(f["filterKind"]) is None] == theirs
        if not start or all(effect_of_kind(k) is None for _, k in start):
            assert [f["filterName"] for f in final][: len(theirs)] == theirs, "a fresh chain goes after theirs"


def test_a_filter_of_another_kind_under_our_name_is_refused_before_anything_changes():
    obs = FakeObs(Cam=[dz("background"), (dz("gaze")[0], "color_filter_v2")])
    with pytest.raises(ObsError, match="of another kind"):
        rc.apply_preset(obs, "Cam", Preset(name="p", video=["gaze", "background"]))
    assert obs.batches == []
