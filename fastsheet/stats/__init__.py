"""Numbers without rules: thresholds (calibrate), metrics, and the learned heads' maths.

Pure numpy over probabilities, labels and states. It may import only `fastsheet.data`.
"""
