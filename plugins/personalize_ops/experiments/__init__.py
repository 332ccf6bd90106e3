"""Online experiments between campaigns: the config section, user assignment, the analysis, a traffic simulator.

- ``config``: the ``experiments:`` section (``Experiment``) and ``reference_problems`` against campaign names;
- ``assignment``: the deterministic user -> variant hash and the attribution source an application sends;
- ``events``: exposures and PutEvents calls -> per-variant ``Moments``;
- ``analysis``: ``analyze(experiment, data, day)`` -> ``ExperimentResult`` (verdict with the numbers) and
  ``render_result``;
- ``simulator``: users replay their held-out future interactions against their variant's recommendations.
"""
