"""The façade (:class:`basin.pipeline.platform.Platform`): runs, one module per step."""
