"""Research harnesses built on the library (``core.learning``): the fair benchmark of
methods (``fair``), the simulated-rater learning curves (``sim_bench``: its arms and
controls in ``arms``, its configuration in ``sim_config``, one simulated study in
``sim_study``, resumable per-seed results in ``seed_runs``, its statistics in
``sim_summary``), LEARNER's trend benchmark (``trend_bench``), their data
(``datasets``), bootstrap intervals (``resampling``, and over seeds and patients
``cluster_bootstrap``) and reports (``report``). Nothing in the app imports them; the
commands (``python -m core bench | sim-bench | trend-bench``) do."""
