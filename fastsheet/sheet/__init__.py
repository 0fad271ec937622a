"""The live engine's layers, one concern each (the coordinator is fastsheet.engine).

1. graph.py: the sheet's graph, pure (dependencies, order, cycles, implied conditions,
   exactness, each formula parsed once per version).
2. (schedule.py, beside this package: what runs next, visible rows first.)
3. model_thread.py: the one thread owning the backend; formulas.py: polars off the loop;
   events.py: the values listeners get.
4. decision.py: calibration and teaching, how a column's answers become decisions.
5. column.py: one column's results; reads.py: the queries the UI and the CLI make.
6. fastsheet.engine.Evaluator: applies edits, starts and stops columns, applies outcomes.
"""
