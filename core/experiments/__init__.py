"""Research harnesses built on the library (``core.learning``): the fair benchmark of
methods (``fair``), the simulated-rater learning curves (``sim_bench``), LEARNER's trend
benchmark (``trend_bench``), their data (``datasets``), bootstrap intervals
(``resampling``) and reports (``report``). Nothing in the app imports them; the
commands (``python -m core bench | sim-bench | trend-bench``) do."""
