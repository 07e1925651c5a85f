"""Audio effects: streaming processors taking float32 blocks shaped (channels, n) at any sample rate and
returning blocks of the same shape, delayed by a fixed, reported latency."""
