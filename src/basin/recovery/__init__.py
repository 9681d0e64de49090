"""Recovery: the disaster drill (rebuild from the lake, compare with the publication)."""
