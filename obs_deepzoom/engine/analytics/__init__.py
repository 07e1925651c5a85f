"""Face analytics on the tracker's faces: aligned chips, identity (embeddings + gallery), apparent age and gender,
attention; OBS-free (docs/analytics.md)."""
