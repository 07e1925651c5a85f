"""Keypoint face codec: a keyframe of the speaker once, then per frame a few dozen bits of Motion; the decoder
is the photo avatar's renderer on the keyframe (docs/codec.md)."""
