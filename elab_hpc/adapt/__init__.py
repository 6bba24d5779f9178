"""Environment-change adaptation: apply a versioned tool surface to the arena, detect the drift
through the registry, and measure what a trained model loses on the changed environment."""
