"""OBS-free core: numpy frames (BGR uint8 HxWx3) and audio blocks (float32 channels x n) in and out."""
