"""Video effects: each takes a BGR frame and the frame context and returns a frame (never raises for bad
luck such as a lost face: it passes the frame through). The contract is in `engine.contract`, the list of
effects in `engine.effects`."""
