"""Backend-independent pieces: the executor interface, job handles, atomic file writes."""
