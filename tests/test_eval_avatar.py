"""`deepzoom eval avatar` judges the output with MediaPipe's reference mesh, not the tracker driving the warp."""

import numpy as np

from obs_deepzoom.evaluate import avatar as avatar_eval
from obs_deepzoom.evaluate.metrics import ReferenceJudge, euler_deg, similarity


def test_avatar_is_judged_by_the_reference_on_its_output_frames(monkeypatch):
    judged, outputs, nme_args = [], [], []
    landmarks, animate, nme = ReferenceJudge.landmarks, avatar_eval._animate, avatar_eval._nme

    def spy_judge(self, img):
        judged.append(id(img))
        return landmarks(self, img)

    def spy_animate(source, frames):
        outs, targets = animate(source, frames)
        outputs.extend(id(o) for o in outs)
        return outs, targets

    def spy_nme(a, ref):
        nme_args.append((a, ref))
        return nme(a, ref)

    monkeypatch.setattr(ReferenceJudge, "landmarks", spy_judge)
    monkeypatch.setattr(avatar_eval, "_animate", spy_animate)
    monkeypatch.setattr(avatar_eval, "_nme", spy_nme)
    res = avatar_eval.run(progress=lambda m: None, limit=12, still_frames=3)
    assert res["judge"].startswith("mediapipe-reference 0.10.21")
    assert not hasattr(avatar_eval, "FaceTracker")  # no tracker of ours reads the output
    # every output of the self-reenactment and the cross-identity runs was judged (the still-driver run is
    # measured on the warp's own control points)
    assert set(outputs[:24]) <= set(judged)
    assert nme_args and all(a.shape == (478, 3) and r.shape == (478, 3) for a, r in nme_args)  # the judge's points
    assert res["nme_pct"] < 5 and res["tracked_output_pct"] == 100


def test_similarity_recovers_a_known_rotation():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(20, 3))
    a = np.radians(7.0)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])  # 7 degrees about y
    s, r, t = similarity(pts, 1.5 * pts @ rot.T + [3, -2, 1])
    assert s == np.float64(s) and abs(s - 1.5) < 1e-9 and np.allclose(r, rot) and np.allclose(t, [3, -2, 1])
    pitch, yaw, roll = euler_deg(r)
    assert abs(yaw - 7.0) < 1e-6 and abs(pitch) < 1e-6 and abs(roll) < 1e-6
