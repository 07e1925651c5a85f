"""Face analytics: the gallery, the per-face analyzer over time, the verification statistics, and the
`deepzoom faces` / `deepzoom analyze` commands on real pictures and the sample clip with the real networks."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from obs_deepzoom import cli
from obs_deepzoom.engine.analytics import align
from obs_deepzoom.engine.analytics.analyzer import FaceAnalyzer
from obs_deepzoom.engine.analytics.gallery import Gallery, match
from obs_deepzoom.engine.analytics.models import EXPRESSIONS
from obs_deepzoom.engine.face import FaceTracker
from obs_deepzoom.errors import DeepZoomError
from obs_deepzoom.evaluate import analytics as ev
from obs_deepzoom.evaluate import face_data
from obs_deepzoom.samples import sample
from obs_deepzoom.settings import AnalyticsSettings


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


# ---- gallery ------------------------------------------------------------------------------------------------
def test_gallery_round_trip_and_matching(tmp_path):
    g = Gallery(tmp_path / "g")
    assert g.people() == [] and g.loaded() == {}
    a, b = unit([1, 0, 0, 0]), unit([0, 1, 0, 0])
    g.enroll("Ada Lovelace", [a])
    g.enroll("Ada Lovelace", [unit([0.9, 0.1, 0, 0])])
    g.enroll("Bob", [b])
    assert [(p.name, p.pictures) for p in g.people()] == [("Ada Lovelace", 2), ("Bob", 1)]
    people = g.loaded()
    assert match(unit([0.95, 0.05, 0, 0]), people, 0.5).name == "Ada Lovelace"
    far = match(unit([0, 0, 1, 0]), people, 0.5)
    assert far.name is None and far.nearest in people and far.distance > 1.0
    assert match(a, {}, 0.5).distance == float("inf")
    bob_file = tmp_path / "g" / json.loads((tmp_path / "g" / "gallery.json").read_text())["Bob"]["file"]
    assert bob_file.is_file()
    g.remove("Bob")
    assert [p.name for p in g.people()] == ["Ada Lovelace"] and not bob_file.exists()
    assert not list((tmp_path / "g").glob("*.part"))  # atomic writes leave nothing behind


def test_gallery_bad_input_is_one_clear_error(tmp_path):
    g = Gallery(tmp_path)
    for bad in ("", " lead", "../up", "a/b", "x" * 65):
        with pytest.raises(DeepZoomError, match="not a usable name"):
            g.enroll(bad, [unit([1, 0])])
    with pytest.raises(DeepZoomError, match="nobody called"):
        g.remove("ghost")
    g.enroll("A", [unit([1, 0])])
    with pytest.raises(DeepZoomError, match="another face model"):
        g.enroll("A", [unit([1, 0, 0])])
    assert g.loaded(2)["A"].shape == (1, 2)
    g.enroll("B", [unit([1, 0])])
    g.enroll("C", [unit([1, 0, 0])])
    people, other = g.usable(3)  # the others are still recognised, the message names everyone to re-enrol
    assert list(people) == ["C"] and "A, B were enrolled" in other and '("A" "B")' in other
    with pytest.raises(DeepZoomError, match=r"another face model \(2-D embeddings, this version makes 128-D\).*remove"):
        g.loaded(128)  # enrolled with an older face model: the message says what to do
    (tmp_path / "gallery.json").write_text("{broken")
    with pytest.raises(DeepZoomError, match="unreadable"):
        g.people()
    (tmp_path / "gallery.json").write_text('{"X": 3}')
    with pytest.raises(DeepZoomError, match="not one this version wrote"):
        g.people()


def test_names_never_share_a_file_and_a_lost_file_can_be_enrolled_again(tmp_path):
    g = Gallery(tmp_path)
    g.enroll("Ann Lee", [unit([1, 0]), unit([1, 0.1])])
    g.enroll("Ann_Lee", [unit([0, 1])])  # once mapped to the same file as "Ann Lee"
    assert g.embeddings("Ann Lee").shape == (2, 2) and g.embeddings("Ann_Lee").shape == (1, 2)
    with pytest.raises(DeepZoomError, match="only in case"):
        g.enroll("ann lee", [unit([1, 0])])
    index = json.loads((tmp_path / "gallery.json").read_text())
    (tmp_path / index["Ann Lee"]["file"]).unlink()
    with pytest.raises(DeepZoomError, match="missing; enrol Ann Lee again"):
        g.loaded()
    g.enroll("Ann Lee", [unit([1, 0])])  # what the message says works
    assert g.embeddings("Ann Lee").shape == (1, 2) and g.people()[0].pictures == 1


# ---- verification statistics --------------------------------------------------------------------------------
def test_roc_auc_and_threshold_rule():
    same, diff = np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.6, 0.7, 0.8])
    assert ev.roc_auc(same, diff) == 1.0
    assert ev.roc_auc(diff, same) == 0.0
    assert ev.roc_auc(np.array([0.5]), np.array([0.5])) == 0.5  # a tie counts half
    t = ev.choose_threshold(same, diff)
    assert t == pytest.approx(0.4)  # the middle of the widest gap between the classes
    assert ev.balanced_accuracy(same, diff, t) == 1.0
    overlap_same, overlap_diff = np.array([0.1, 0.2, 0.6]), np.array([0.4, 0.5, 0.7])
    t = ev.choose_threshold(overlap_same, overlap_diff)
    assert ev.balanced_accuracy(overlap_same, overlap_diff, t) == pytest.approx(5 / 6)


def test_cluster_purity_and_completeness():
    from obs_deepzoom.evaluate.analytics_clusters import score

    assert score(list("aaab"), ["u1", "u1", "u1", "u2"]) == {"purity": 1.0, "completeness": 1.0, "scored_frames": 4}
    mixed = score(list("aabb"), ["u1"] * 4)  # two people under one label: impure, complete
    assert mixed["purity"] == 0.5 and mixed["completeness"] == 1.0
    split = score(list("aaaa"), ["u1", "u1", "u2", "u3"])  # one person under three labels: pure, incomplete
    assert split["purity"] == 1.0 and split["completeness"] == 0.5


def test_leave_one_person_out_never_scores_a_pair_at_a_threshold_chosen_with_it():
    # person C's pairs sit apart from everyone else's: a threshold chosen without C misjudges them
    people = ["A", "A", "B", "B", "C", "C"]
    vecs = [unit([1, 0, 0]), unit([1, 0.1, 0]), unit([0, 1, 0]), unit([0.1, 1, 0]), unit([0, 0, 1]),
            unit([0, 0.9, 1])]
    same, diff = ev._pairs(people, vecs)
    all_pairs = ev.balanced_accuracy(ev._dist(same), ev._dist(diff), ev.choose_threshold(ev._dist(same),
                                                                                        ev._dist(diff)))
    assert ev._leave_one_out(same, diff, people) < all_pairs


# ---- the analyzer over time -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tracked_face():
    img = cv2.imread(str(sample("single_face.jpg")))
    faces = FaceTracker().process(img, 0.0)
    assert faces
    return img, faces[0]


HAPPY = np.array([0.05, 0.0, 0.05, 0.8, 0.05, 0.0, 0.05])


class FakeModels:
    """Stand-ins that count calls; the embedding of a face is chosen per face_id."""

    def __init__(self, by_id):
        self.by_id, self.calls = by_id, []

    def models(self):
        return {"embed": lambda frame, mesh: self._e(mesh), "age": lambda frame, mesh: (40.0, 5.0),
                "gender": lambda frame, mesh: 0.2, "expression": lambda frame, mesh: HAPPY}

    def _e(self, mesh):
        fid = int(round(mesh[0, 2]))  # the test writes the face_id into a landmark's z
        self.calls.append(fid)
        return self.by_id[fid]


def _face(base, fid, dx=0.0):
    lm = base.landmarks.copy()
    lm[:, 0] += dx
    lm[0, 2] = fid
    return replace(base, face_id=fid, landmarks=lm)


def test_analyzer_runs_one_network_per_frame_and_tells_people_apart(tracked_face):
    img, base = tracked_face
    fake = FakeModels({0: unit([1, 0, 0]), 1: unit([0, 1, 0]), 2: unit([1, 0.05, 0])})
    an = FaceAnalyzer(AnalyticsSettings(embed_every_s=1.0, attributes_every_s=2.0), models=fake.models())
    for i in range(90):  # 3 s at 30 fps, two people in view
        recs = an.process(img, [_face(base, 0), _face(base, 1, dx=300)], i / 30)
    assert sum(an.runs.values()) <= 90  # at most one network per frame
    assert an.runs["embed"] == 6 and an.runs["age"] == 4 and an.runs["gender"] == 4  # each person's intervals
    assert {r.identity for r in recs} == {"unknown-1", "unknown-2"}
    assert all(r.age == 40.0 and r.gender == "male" and r.female == 0.2 for r in recs)
    # person 0 leaves; a new track with a face like person 0's comes later, far away: the same unknown label
    for i in range(90, 200):
        recs = an.process(img, [_face(base, 1, dx=300)], i / 30)
    recs = an.process(img, [_face(base, 1, dx=300), _face(base, 2, dx=-300)], 200 / 30)
    assert {r.identity for r in recs} == {"unknown-1", "unknown-2"}


def test_analyzer_recognises_the_enrolled_and_relinks_a_short_loss(tracked_face):
    img, base = tracked_face
    fake = FakeModels({0: unit([1, 0, 0]), 5: unit([1, 0.02, 0]), 7: unit([0, 0, 1])})
    an = FaceAnalyzer(AnalyticsSettings(relink_s=1.0), people={"Ada": unit([1, 0.01, 0])[None]},
                      models=fake.models())
    first = an.process(img, [_face(base, 0)], 0.0)[0]
    assert first.identity == "Ada" and first.enrolled
    an.process(img, [], 0.5)  # lost for half a second ...
    back = an.process(img, [_face(base, 5, dx=10)], 0.9)[0]  # ... back near where it was, with a new tracker id
    assert back.track == first.track
    an.process(img, [], 1.0)
    later = an.process(img, [_face(base, 7, dx=10)], 3.0)  # lost too long: a new track
    assert later[0].track != first.track


def test_identity_off_computes_no_embedding(tracked_face):
    img, base = tracked_face
    fake = FakeModels({0: unit([1, 0, 0])})
    models = fake.models()
    models.pop("embed")
    an = FaceAnalyzer(AnalyticsSettings(identity=False), models=models)
    for i in range(60):
        rec = an.process(img, [_face(base, 0)], i / 30)[0]
    assert fake.calls == [] and an.runs["embed"] == 0 and rec.identity is None and rec.age == 40.0


def test_attention_follows_head_and_eyes(tracked_face):
    img, base = tracked_face
    an = FaceAnalyzer(AnalyticsSettings(identity=False, attributes=False), models={})
    assert an.process(img, [base], 0.0)[0].attention  # the sample portrait looks into the camera
    turned = replace(base, yaw=base.yaw + 40)
    assert not an.process(img, [turned], 0.1)[0].attention


def test_chips_are_upright_and_centred(tracked_face):
    img, base = tracked_face
    chip = align.chip(img, base.landmarks, 64)
    assert chip.shape == (64, 64, 3)
    pts = align.five_points(base.landmarks)
    m = align.chip_transform(base.landmarks, 64, 0.2)
    eyes = pts[:2] @ m[:, :2].T + m[:, 2]
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1.5  # level eyes
    assert abs((eyes[0, 0] + eyes[1, 0]) / 2 - 32) < 3  # centred
    # the embedding's chip: the five points land where recognition networks expect them
    m = align.template_transform(base.landmarks, align.RECOGNITION_POINTS_112)
    placed = pts @ m[:, :2].T + m[:, 2]
    off = np.hypot(*(placed - align.RECOGNITION_POINTS_112).T)  # a similarity fit of five points: not exact
    assert off[:2].max() < 3 and off.max() < 6, placed
    assert align.template_chip(img, base.landmarks, align.RECOGNITION_POINTS_112, 112).shape == (112, 112, 3)


def test_the_five_point_fit_recovers_a_turned_scaled_shifted_face(monkeypatch):
    """Points made from the template by a known similarity (30 degrees, x2.5, shifted) come back exactly."""
    tpl = align.RECOGNITION_POINTS_112
    angle, scale, shift = np.radians(30), 2.5, np.array([300.0, 120.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    frame_pts = tpl @ rot.T + shift  # where the face's five points are in the frame
    monkeypatch.setattr(align, "five_points", lambda mesh: frame_pts)
    m = align.template_transform(None, tpl)
    assert np.allclose(frame_pts @ m[:, :2].T + m[:, 2], tpl, atol=1e-6)
    assert np.allclose(m[:, :2], np.linalg.inv(rot), atol=1e-9)
    monkeypatch.setattr(align, "five_points", lambda mesh: np.ones((5, 2)))
    with pytest.raises(ValueError, match="degenerate"):
        align.template_transform(None, tpl)


# ---- the commands, real networks -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def johns():
    pics = face_data.labelled("johns")
    by = {}
    for person, p in pics:
        by.setdefault(person, []).append(p)
    return by


def run_cli(capsys, *args):
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_enrol_verify_identify_round_trip(tmp_path, capsys, johns):
    g = str(tmp_path / "gallery")
    simm, savage = johns["John_Simm"], johns["John_Savage"]
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "enroll", "John Simm", str(simm[0]), str(simm[1]))
    assert rc == 0 and "2 picture(s)" in out
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "--json", "list")
    assert rc == 0 and json.loads(out.splitlines()[-1])[0]["name"] == "John Simm"
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "verify", str(simm[2]), str(simm[3]), "--json")
    r = json.loads(out.splitlines()[-1])
    assert rc == 0 and set(r) == {"same", "distance", "threshold"} and r["same"] and r["distance"] < r["threshold"]
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "verify", str(simm[2]), str(savage[0]), "--json")
    assert rc == 0 and not json.loads(out.splitlines()[-1])["same"]
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "identify", str(simm[4]), "--json")
    face = json.loads(out.splitlines()[-1])["faces"][0]
    assert face["identity"] == "John Simm" and face["gender"] == "male" and 15 < face["age"] < 80
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "identify", str(savage[1]), "--json")
    assert json.loads(out.splitlines()[-1])["faces"][0]["identity"].startswith("unknown-")
    rc, out, _ = run_cli(capsys, "faces", "--gallery", g, "remove", "John Simm")
    assert rc == 0 and Gallery(tmp_path / "gallery").people() == []


def test_bad_pictures_and_galleries_give_one_line(tmp_path, capsys, johns):
    g = str(tmp_path / "gallery")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 128, np.uint8))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a picture")
    cases = [(["enroll", "A", str(blank)], "no face found"),
             (["enroll", "A", str(sample("multi_face.jpg"))], "faces; enrolling needs a picture of one person"),
             (["enroll", "A", str(junk)], "not a readable image"),
             (["enroll", "A", str(tmp_path / "missing.jpg")], "no such file"),
             (["enroll", "../x", str(johns["John_Simm"][0])], "not a usable name"),
             (["remove", "nobody"], "nobody called"),
             (["verify", str(blank), str(johns["John_Simm"][0])], "no face found")]
    for args, msg in cases:
        rc, out, err = run_cli(capsys, "faces", "--gallery", g, *args)
        assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (tmp_path / "gallery" / "gallery.json").exists()  # nothing half-enrolled
    rc, out, err = run_cli(capsys, "faces", "--gallery", g, "identify", str(johns["John_Simm"][0]))
    assert rc == 0 and "is empty" in err and "unknown-1" in out
    rc, _, err = run_cli(capsys, "faces", "--threshold", "9", "list")
    assert rc == 2 and "--threshold" in err


def test_analyze_writes_the_report_csv_and_summary(tmp_path, capsys):
    out_dir = tmp_path / "report"
    rc, out, err = run_cli(capsys, "analyze", str(sample("single_face.mp4")), "-o", str(out_dir), "--gallery",
                           str(tmp_path / "g"), "--json")
    assert rc == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary == json.loads((out_dir / "summary.json").read_text())
    assert summary["frames"] == 72 and len(summary["people"]) == 1
    person = summary["people"][0]
    assert set(person) >= {"id", "frames", "attention_pct", "age", "gender", "expressions"}
    assert person["id"] == "unknown-1" and person["frames"] >= 70 and person["attention_pct"] >= 90
    assert person["gender"] == "male" and 18 < person["age"] < 70
    with open(out_dir / "faces.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == person["frames"] and rows[-1]["identity"] == "unknown-1"
    page = (out_dir / "report.html").read_text()
    # every face gets expression shares over the seven names (whether they are right: docs/analytics.md)
    assert set(person["expressions"]) <= set(EXPRESSIONS) and abs(sum(person["expressions"].values()) - 1) < 0.01
    assert {r["expression"] for r in rows if r["expression"]} <= set(EXPRESSIONS)
    for fig in ("people_over_time", "presence", "attention", "expressions"):
        assert f'<figure id="{fig}"><svg' in page
    assert "guesses, not facts" in page


def test_the_embedding_runs_asynchronously_and_lands_at_the_next_frame(tracked_face):
    img, base = tracked_face

    class AsyncEmbed:
        def __init__(self):
            self.started = self.finished = 0

        def start(self, frame, mesh):
            self.started += 1

        def finish(self):
            self.finished += 1
            return unit([1, 0, 0])

    net = AsyncEmbed()
    an = FaceAnalyzer(AnalyticsSettings(attributes=False, expressions=False), models={"embed": net})
    first = an.process(img, [_face(base, 0)], 0.0)[0]
    assert net.started == 1 and net.finished == 0 and first.identity is None  # started, not waited for
    second = an.process(img, [_face(base, 0)], 1 / 30)[0]
    assert net.finished == 1 and second.identity == "unknown-1"
    an.process(img, [_face(base, 0)], 1.2)  # due again: started ...
    an.reset()  # ... and a reset lets it end instead of leaving a request running
    assert net.started == net.finished == 2


def test_two_people_in_view_never_share_a_label(tracked_face):
    """A is lost and comes back elsewhere as a new track (its label again); a stranger then steps in where A was
    within relink_s: the stranger must not inherit A's old record and label."""
    img, base = tracked_face
    fake = FakeModels({0: unit([1, 0, 0]), 1: unit([1, 0.02, 0]), 2: unit([0, 1, 0])})
    an = FaceAnalyzer(AnalyticsSettings(relink_s=2.0), models=fake.models())
    a = an.process(img, [_face(base, 0)], 0.0)[0]
    an.process(img, [], 0.1)
    back = an.process(img, [_face(base, 1, dx=400)], 0.2)[0]  # far away: a new track, A's face
    back = an.process(img, [_face(base, 1, dx=400)], 0.25)[0]  # its embedding lands (asynchronous or not)
    assert back.identity == a.identity == "unknown-1" and back.track != a.track
    recs = an.process(img, [_face(base, 1, dx=400), _face(base, 2)], 0.3)
    recs = an.process(img, [_face(base, 1, dx=400), _face(base, 2)], 1.5)
    labels = [r.identity for r in recs]
    assert len(set(labels)) == 2 and recs[0].track != recs[1].track, recs


def test_the_speaker_is_the_person_whose_mouth_moves_while_someone_speaks():
    from obs_deepzoom.jobs.analyze import _speakers

    fps, rows = 30.0, []
    for i in range(90):  # 3 s: track 0 talks (lips moving), track 1 listens (lips still)
        rows.append({"frame": i, "track": 0, "mouth_open": 0.02 + 0.02 * (i % 4 < 2)})
        rows.append({"frame": i, "track": 1, "mouth_open": 0.01})
    speech = np.zeros(int(3 * 16000 / 512) + 1, np.float32)
    speech[: len(speech) // 2] = 0.9  # speech in the first half only
    _speakers(rows, speech, fps)
    talk = [r for r in rows if r["speaking"]]
    assert talk and all(r["track"] == 0 for r in talk)
    assert all(r["frame"] < 50 for r in talk) and len(talk) >= 40
    _speakers(rows, None, fps)  # no soundtrack: nobody speaks
    assert not any(r["speaking"] for r in rows)


def test_analyze_refuses_a_bad_output_folder_before_it_runs(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    rc, _, err = run_cli(capsys, "analyze", str(sample("single_face.mp4")), "-o", str(blocker / "sub"))
    assert rc == 2 and "cannot write the report there" in err and len(err.strip().splitlines()) == 1, err
    rc, _, err = run_cli(capsys, "analyze", "--camera", "0", str(sample("single_face.mp4")), "-o", str(tmp_path))
    assert rc == 2 and "one of them" in err
    with pytest.raises(SystemExit):
        cli.main(["analyze", str(sample("single_face.mp4")), "-o", str(tmp_path), "--max-frames", "-1"])


# ---- the OBS filter's engine side: session statistics, overlay, effect ------------------------------------------
def test_session_counts_a_face_once_from_its_first_frame(tracked_face):
    from obs_deepzoom.engine.analytics.session import SessionStats

    img, base = tracked_face

    class AsyncEmbed:  # started at the first frame, its answer lands at the second: frame 0 has no identity
        def start(self, frame, mesh):
            pass

        def finish(self):
            return unit([1, 0, 0])

    an = FaceAnalyzer(AnalyticsSettings(attributes=False), models={"embed": AsyncEmbed()})
    assert an.process(img, [_face(base, 0)], -1 / 30)[0].identity is None
    an.reset()
    stats = SessionStats()
    for i in range(60):  # 2 s; the person looks away for the last half second
        face = _face(base, 0) if i < 45 else replace(_face(base, 0), yaw=base.yaw + 50)
        stats.add(an.process(img, [face], i / 30), i / 30)
    snap = stats.snapshot()
    assert snap["frames"] == 60 and snap["in_view"] == 1 and abs(snap["seconds"] - 59 / 30) < 0.01
    (person,) = snap["people"]
    assert person["id"] == "unknown-1" and person["frames"] == 60 and person["attention_pct"] == 75.0
    assert snap["faces"][0]["id"] == "unknown-1" and snap["faces"][0]["attention"] is False
    assert set(snap["faces"][0]["box"]) == {"x", "y", "w", "h"} and snap["resets"] == 0
    json.dumps(snap)  # plain JSON for the vendor request
    stats.reset()
    assert stats.snapshot()["people"] == [] and stats.snapshot()["frames"] == 0 and stats.snapshot()["resets"] == 1


def test_the_overlay_draws_a_box_per_face_in_its_attention_colour(tracked_face):
    from obs_deepzoom.engine.analytics import overlay

    img, base = tracked_face
    an = FaceAnalyzer(AnalyticsSettings(identity=False, attributes=False), models={})
    looking = an.process(img, [base], 0.0)[0]
    away = replace(looking, attention=False, box=(5.0, 5.0, 40.0, 40.0), age=33.0, gender="female",
                   expression="sad")
    canvas = np.zeros_like(img)
    overlay.draw(canvas, [looking, away])
    x, y, w, h = (int(round(v)) for v in looking.box)
    assert (canvas[y + h // 2, x] == overlay.LOOKING).all()  # the box's left edge
    assert (canvas[25, 5] == overlay.AWAY).all()
    assert overlay.label(away) == "..., 33 y, female, sad, away"


def test_the_analytics_effect_with_the_real_networks(tmp_path, monkeypatch):
    """The effect on the sample clip through a chain, like the OBS filter runs it: one person, looking, with an
    age and gender; the overlay changes the picture only when on; a reset starts the statistics over; an
    unreadable gallery is a warning, not a failure."""
    from obs_deepzoom.engine.chain import Chain
    from obs_deepzoom.media import VideoSource
    from obs_deepzoom.settings import ChainSettings

    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "gallery.json").write_text("{broken")
    settings = ChainSettings(analytics=AnalyticsSettings(gallery=str(tmp_path / "g"), attributes_every_s=0.3))
    chain = Chain(["analytics"], settings)
    effect = chain.effects[0]
    src = VideoSource.open_file(sample("single_face.mp4"))
    changed = []
    for i, frame in enumerate(src.frames()):
        out, _ = chain.process(frame, i / src.fps)
        changed.append(not np.array_equal(out, frame))
        if i == 40:
            effect.settings = effect.settings.model_copy(update={"overlay": False})
    stats = effect.live_stats()
    assert "gallery not used" in stats["warning"]
    assert effect.analyzer.runs["expression"] >= 3
    (person,) = stats["people"]
    assert person["id"] == "unknown-1" and person["attention_pct"] >= 90 and person["gender"] == "male"
    assert all(changed[5:40]) and not any(changed[41:])
    assert effect.analyzer.runs["age"] >= 3 and effect.analyzer.runs["embed"] >= 1
    effect.reset_session()
    assert effect.live_stats()["people"] == []


def test_a_network_that_cannot_load_switches_off_its_feature_only(tmp_path, monkeypatch):
    """An install whose embedding model is not built (or fails to compile): identity goes off with a warning,
    age, gender and expressions go on; an old gallery's people are named in a warning, not a failure."""
    from obs_deepzoom.engine.analytics import models as am
    from obs_deepzoom.engine.chain import Chain
    from obs_deepzoom.errors import ModelError
    from obs_deepzoom.media import VideoSource
    from obs_deepzoom.settings import ChainSettings

    class Unbuilt:
        def __init__(self, *a, **k):
            raise ModelError("sface", "is not built")

    monkeypatch.setattr(am, "FaceEmbedder", Unbuilt)
    Gallery(tmp_path / "g").enroll("Old Timer", [unit(np.ones(512))])
    chain = Chain(["analytics"], ChainSettings(analytics=AnalyticsSettings(gallery=str(tmp_path / "g"),
                                                                           attributes_every_s=0.3)))
    effect = chain.effects[0]
    src = VideoSource.open_file(sample("single_face.mp4"))
    for i, frame in enumerate(src.frames()):
        chain.process(frame, i / src.fps)
        if i == 30:
            break
    stats = effect.live_stats()
    assert "identity off: model 'sface' is not built" in stats["warning"]
    assert "embed" not in effect.analyzer.models and effect.analyzer.runs["age"] >= 2
    assert effect.analyzer.runs["embed"] == 0 and stats["identity"] is False  # what runs, not what was asked
    assert effect.analyzer.runs["expression"] >= 2 and stats["people"][0]["gender"] == "male"
    assert effect.settings.identity  # the user's setting is untouched: a rebuilt model is used next time

    monkeypatch.undo()  # the model back, an old gallery: a warning naming the person, identity on
    effect.settings = effect.settings.model_copy(update={"attributes": False})  # a toggle rebuilds
    chain.process(frame, 2.0)
    stats = effect.live_stats()
    assert "Old Timer was enrolled with another face model" in stats["warning"]
    assert "identity off" not in stats["warning"]
    assert "embed" in effect.analyzer.models


def test_a_failed_rebuild_after_a_precision_change_is_tried_again(tracked_face, tmp_path, monkeypatch):
    """A precision changed on the property page compiles the networks again; when that compile fails with an
    error that is not a missing model, the frame fails, and the next frame tries again (no stale state)."""
    from obs_deepzoom.engine.analytics import models as am
    from obs_deepzoom.engine.analytics.effect import FaceAnalytics
    from obs_deepzoom.engine.chain import FrameContext

    img, base = tracked_face
    fake = FakeModels({0: unit([1, 0, 0])})
    asked = []

    def flaky(device, precision):
        asked.append(precision)
        if len(asked) == 1:
            raise RuntimeError("the device went away")
        return fake.models()["embed"]

    monkeypatch.setattr(am, "FaceEmbedder", flaky)
    effect = FaceAnalytics(AnalyticsSettings(attributes=False, expressions=False, gallery=str(tmp_path / "g")),
                           models={"embed": fake.models()["embed"]})
    effect.process(img, FrameContext(0, 0.0, [_face(base, 0)]))
    effect.settings = effect.settings.model_copy(update={"precision": "int8"})
    with pytest.raises(RuntimeError, match="went away"):
        effect.process(img, FrameContext(1, 0.1, [_face(base, 0)]))
    for i in range(2, 5):
        effect.process(img, FrameContext(i, i / 10, [_face(base, 0)]))
    assert asked == ["int8", "int8"]  # tried again once, then kept
    assert effect.analyzer.runs["embed"] >= 1 and effect.live_stats()["people"][0]["id"] == "unknown-1"


def test_remote_analytics_text():
    from obs_deepzoom.remote.commands import analytics_text

    text = analytics_text("Cam", {"seconds": 12.0, "in_view": 1, "effect_ms_median": 7.5, "people": [
        {"id": "Ada", "seconds": 11.5, "attention_pct": 80.0, "age": 36.4, "gender": "female",
         "expressions": {"neutral": 0.7, "happy": 0.3}},
        {"id": "track-3", "seconds": 0.5, "attention_pct": 0.0, "age": None, "gender": None}]})
    lines = text.splitlines()
    assert lines[0] == "Cam: 2 seen in 12.0 s, 1 in view now (7.5 ms per frame)"
    assert "Ada" in lines[1] and "80.0 %" in lines[1] and "age 36, female, mostly neutral" in lines[1]
    assert lines[2].rstrip().endswith("0.0 %")
