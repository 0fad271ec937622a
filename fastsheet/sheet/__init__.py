"""The live sheet: rule columns that recalculate like formulas.

The coordinator is `engine.Evaluator`. Under it, one concern a module:
1. graph.py: the sheet's graph, pure (dependencies, order, cycles, implied conditions,
   exactness, each formula parsed once per version).
2. schedule.py: what runs next, visible rows first, then a seeded random order.
3. model_thread.py: the one thread owning the backend; formulas.py: polars off the loop;
   events.py: the values listeners get.
4. decision.py: calibration and teaching, how a column's answers become decisions.
5. column.py: one column's results; reads.py: the queries the UI and the CLI make.
6. runner.py, cache.py, summary.py, history.py, reasons.py: a rule judged over rows,
   its cached answers, its counts, its versions and its reasons.

It may import `learning`, `backends`, `kinds`, `formula`, `stats` and `data`; never
`plans`, `files`, the session or the CLI.
"""
