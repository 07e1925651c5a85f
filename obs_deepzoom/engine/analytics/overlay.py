"""The analytics overlay: a box per face (green: looking at the screen, orange: looking away) and a label with
what was found (name or unknown-N, apparent age and gender). Drawn in place on a BGR frame."""

from __future__ import annotations

import cv2
import numpy as np

from .analyzer import FaceRecord

LOOKING = (80, 200, 60)  # BGR
AWAY = (0, 140, 255)


def label(rec: FaceRecord) -> str:
    parts = [rec.identity or "..."]
    if rec.age is not None:
        parts.append(f"{rec.age:.0f} y")
    if rec.gender is not None:
        parts.append(rec.gender)
    if rec.expression is not None:
        parts.append(rec.expression)
    parts.append("looking" if rec.attention else "away")
    return ", ".join(parts)


def draw(frame: np.ndarray, records: list[FaceRecord]) -> None:
    h = frame.shape[0]
    scale = max(h / 1000.0, 0.35)
    thick = max(int(round(h / 400)), 1)
    for rec in records:
        x, y, w, bh = (int(round(v)) for v in rec.box)
        colour = LOOKING if rec.attention else AWAY
        cv2.rectangle(frame, (x, y), (x + w, y + bh), colour, thick)
        text = label(rec)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        top = y - th - base - 2 * thick if y - th - base - 2 * thick >= 0 else y + bh
        cv2.rectangle(frame, (x, top), (x + tw + 2 * thick, top + th + base + 2 * thick), colour, -1)
        cv2.putText(frame, text, (x + thick, top + th + thick), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick,
                    cv2.LINE_AA)
