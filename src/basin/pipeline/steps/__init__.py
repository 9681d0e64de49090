"""The steps of a run, one module each: extract, load, replay, transform, publish.

A step is a function of the :class:`~basin.pipeline.resources.Resources` and a run id
that returns a :class:`~basin.pipeline.runs.StepOutcome`; the façade records it.
"""
