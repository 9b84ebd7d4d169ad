"""Provider handlers implementing the engine's contracts (filled in by the engine issue)."""
