"""The HTML report of `deepzoom analyze`: one self-contained file, plots as inline SVG (matplotlib)."""

from __future__ import annotations

import html
import io
from pathlib import Path

import numpy as np

from ..engine.analytics.models import EXPRESSIONS

EXPRESSION_COLOURS = {"angry": "#cc0000", "disgust": "#4e9a06", "fear": "#75507b", "happy": "#edd400",
                      "sad": "#3465a4", "surprise": "#f57900", "neutral": "#babdb6"}

CAVEAT = ("Age and gender are what a network guesses from a face's appearance: guesses, not facts about a "
          "person (they can be wrong, and a person's gender is theirs to say). An expression is how a face "
          "looks to a network trained on posed and acted faces, not what the person feels. Identities are "
          "enrolled names or "
          "unknown-N, people told apart by their faces in this session only. Attention means the head and eyes "
          "point at the camera, within the set angles.")


def _plt():
    try:
        import matplotlib
    except ImportError as e:  # a runtime dependency; only a broken install lacks it
        from ..errors import DeepZoomError

        raise DeepZoomError("the report needs matplotlib (pip install matplotlib)") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _ids(rows: list[dict]) -> list[str]:
    seen: dict[str, int] = {}
    for r in rows:
        pid = r["identity"] or f"track-{r['track']}"
        seen[pid] = seen.get(pid, 0) + 1
    return sorted(seen, key=lambda k: -seen[k])


def plots(rows: list[dict], summary: dict, speech: np.ndarray | None) -> dict[str, str]:
    """name -> inline SVG of every plot of the report."""
    plt = _plt()
    fps, frames = summary["fps"], summary["frames"]
    seconds = max(frames / fps, 1e-6)
    out = {}
    # people in view over time
    counts = np.zeros(frames)
    for r in rows:
        counts[r["frame"]] += 1
    fig, ax = plt.subplots(figsize=(8, 2.2))
    ax.step(np.arange(frames) / fps, counts, where="post", color="#3465a4")
    if speech is not None:
        t = np.arange(len(speech)) * 512 / 16000
        ax.fill_between(t, 0, (speech >= 0.5) * max(counts.max(), 1) * 0.15, step="post", color="#f57900",
                        alpha=0.5, label="speech")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(0, seconds)
    ax.set_ylim(0, max(counts.max(), 1) + 0.5)
    ax.set_xlabel("seconds")
    ax.set_ylabel("faces in view")
    out["people_over_time"] = _svg(fig)
    # presence and speaking per person
    ids = _ids(rows)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(len(ids), 1)))
    for k, pid in enumerate(ids):
        rs = [r for r in rows if (r["identity"] or f"track-{r['track']}") == pid]
        seen = [(r["frame"] / fps, 1 / fps) for r in rs]
        talk = [(r["frame"] / fps, 1 / fps) for r in rs if r["speaking"]]
        ax.broken_barh(seen, (k - 0.3, 0.6), color="#729fcf")
        if talk:
            ax.broken_barh(talk, (k - 0.3, 0.6), color="#ce5c00")
        away = [(r["frame"] / fps, 1 / fps) for r in rs if not r["attention"]]
        if away:
            ax.broken_barh(away, (k + 0.3, 0.12), color="#888a85")
    ax.set_yticks(range(len(ids)), ids)
    ax.set_xlim(0, seconds)
    ax.set_xlabel("seconds (blue: in view; orange: speaking; grey mark: not looking at the screen)")
    out["presence"] = _svg(fig)
    # attention per person
    people = summary["people"]
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * max(len(people), 1)))
    ax.barh([p["id"] for p in people], [p["attention_pct"] for p in people], color="#4e9a06")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("% of their time in view looking at the screen")
    out["attention"] = _svg(fig)
    # expression timeline per person: the likeliest expression, frame by frame
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.45 * max(len(ids), 1)))
    for k, pid in enumerate(ids):
        rs = [r for r in rows if (r["identity"] or f"track-{r['track']}") == pid]
        for name in EXPRESSIONS:
            spans = [(r["frame"] / fps, 1 / fps) for r in rs if r.get("expression") == name]
            if spans:
                ax.broken_barh(spans, (k - 0.3, 0.6), color=EXPRESSION_COLOURS[name])
    for name in EXPRESSIONS:
        ax.bar(0, 0, color=EXPRESSION_COLOURS[name], label=name)  # legend entries
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=7, fontsize=8, frameon=False)
    ax.set_yticks(range(len(ids)), ids)
    ax.set_xlim(0, seconds)
    ax.set_xlabel("seconds (the likeliest expression; blank: not estimated yet)")
    out["expressions"] = _svg(fig)
    return out


def write_report(path: Path, rows: list[dict], summary: dict, source: str, speech: np.ndarray | None) -> Path:
    figs = plots(rows, summary, speech)
    e = html.escape
    people_rows = "".join(
        f"<tr><td>{e(p['id'])}{' (enrolled)' if p['enrolled'] else ''}</td><td>{p['seconds']}</td>"
        f"<td>{p['attention_pct']}</td><td>{'' if p['age'] is None else round(p['age'])}</td>"
        f"<td>{p['gender'] or ''}</td><td>{next(iter(p['expressions']), '')}</td><td>{p['speaking_s']}</td></tr>"
        for p in summary["people"])
    speech = (f"<p>Speech in the soundtrack: {summary['speech_s']} s.</p>" if "speech_s" in summary
              else "<p>No soundtrack: speaking time not measured.</p>")
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DeepZoom face analytics: {e(source)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}} td:first-child{{text-align:left}}
.note{{color:#555;font-size:.9em}} figure{{margin:1em 0}}</style></head><body>
<h1>Face analytics</h1>
<p>{e(source)}: {summary['frames']} frames, {summary['seconds']} s at {summary['fps']} fps;
{len(summary['people'])} people.</p>
<h2>People</h2>
<table><tr><th>person</th><th>seconds in view</th><th>attention %</th><th>apparent age</th>
<th>apparent gender</th><th>most often looks</th><th>speaking s</th></tr>{people_rows}</table>
{speech}
<p class="note">{e(CAVEAT)}</p>
<h2>People in view over time</h2><figure id="people_over_time">{figs['people_over_time']}</figure>
<h2>Presence and speaking per person</h2><figure id="presence">{figs['presence']}</figure>
<h2>Attention</h2><figure id="attention">{figs['attention']}</figure>
<h2>Expressions</h2><figure id="expressions">{figs['expressions']}</figure>
<p class="note">Made on this machine by obs-deepzoom; nothing was sent anywhere. Per-frame data: faces.csv;
figures: summary.json.</p>
</body></html>
"""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(body)
    tmp.replace(path)
    return path
