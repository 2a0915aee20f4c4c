"""Cells where the app does not yet do what the matrix expects: (rule, method, place, actor) -> (what it does now,
why it is wrong and the fix). Each is reported as an expected failure naming itself; once the app is fixed the
cell passes and the test asks for its entry to be removed here.
"""

DEVIATIONS = {}
