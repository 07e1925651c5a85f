"""A preset sets the order of a source's DeepZoom filters in a real headless OBS 29, not only which ones
are there; a user's own filter keeps its place."""

from __future__ import annotations

from obs_deepzoom import presets
from obs_deepzoom.obs.kinds import ALL_KINDS
from obs_deepzoom.remote import commands as rc

SOURCE, MIC = "Portrait", "Speech"
GAZE, BACKGROUND, DENOISE = (ALL_KINDS[e][1] for e in ("gaze", "background", "denoise"))
USER = "My Color Correction"


def order(client, source: str) -> list[str]:
    filters = client.request("GetSourceFilterList", {"sourceName": source})["filters"]
    assert [f["filterIndex"] for f in filters] == list(range(len(filters)))
    return [f["filterName"] for f in filters]


def clear(client, source: str, only_ours: bool) -> None:
    for f in rc.list_filters(client, source):
        if f["deepzoom"] or not only_ours:
            client.request("RemoveSourceFilter", {"sourceName": source, "filterName": f["name"]})


def test_preset_puts_the_filters_in_its_order(client):
    meeting = presets.load("meeting")
    assert meeting.video == ["gaze", "background"], "the test needs a preset whose chain is gaze, background"
    clear(client, SOURCE, only_ours=False)
    clear(client, MIC, only_ours=True)
    try:
        rc.add(client, SOURCE, "background", [])
        rc.add(client, SOURCE, "gaze", [])
        assert order(client, SOURCE) == [BACKGROUND, GAZE]
        steps = rc.apply_preset(client, SOURCE, meeting, audio_source=MIC)
        assert any(s.endswith("SetSourceFilterIndex") for s in steps)
        assert order(client, SOURCE) == [GAZE, BACKGROUND]
        assert [n for n in order(client, MIC) if n.startswith(rc.FILTER_PREFIX)] == [DENOISE]

        # a user's filter between ours stays where it is; ours take the preset's order around it
        client.request("CreateSourceFilter", {"sourceName": SOURCE, "filterName": USER,
                                              "filterKind": "color_filter_v2", "filterSettings": {"gamma": 0.25}})
        client.request("SetSourceFilterIndex", {"sourceName": SOURCE, "filterName": GAZE, "filterIndex": 2})
        assert order(client, SOURCE) == [BACKGROUND, USER, GAZE]
        rc.apply_preset(client, SOURCE, meeting, audio_source=MIC)
        assert order(client, SOURCE) == [GAZE, USER, BACKGROUND]
        user = next(f for f in rc.list_filters(client, SOURCE) if f["name"] == USER)
        assert user["settings"]["gamma"] == 0.25 and user["enabled"]

        again = rc.apply_preset(client, SOURCE, meeting, audio_source=MIC)
        assert again and not any(s.endswith("SetSourceFilterIndex") for s in again), "in order: no moves"
        assert order(client, SOURCE) == [GAZE, USER, BACKGROUND]
    finally:
        clear(client, SOURCE, only_ours=False)
        clear(client, MIC, only_ours=True)
    assert order(client, SOURCE) == []
