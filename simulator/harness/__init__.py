"""The scenario harness: run a scenario (:mod:`.runner`), check its conditions
(:mod:`.conditions`), report the run (:mod:`.report`) and sweep it over seeds and
settings (:mod:`.sweep`). :mod:`.reference` lends the model's own rules to a harness
of a real cluster (``rcsim verify``).

The file format itself (loading, validation, schema, model) is :mod:`simulator.scenario`,
which never imports this package.
"""
