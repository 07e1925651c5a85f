"""The photo avatar's parts: the portrait rig, motion from the tracked face, mouth and speech, the warp renderer."""
