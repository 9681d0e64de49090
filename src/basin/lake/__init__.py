"""The object-storage lake: bronze batches with manifests, and quarantine."""
