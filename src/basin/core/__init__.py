"""The façade (:class:`basin.core.platform.Platform`), configuration and errors."""
