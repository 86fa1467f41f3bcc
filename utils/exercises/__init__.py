"""The exercise checks of each notebook, one module per notebook (``nb00`` ... ``nb08``).

A notebook imports its own module as ``from utils.exercises import nbNN as ex`` and checks an
answer with ``ex.<name>.check(answer)``; see :mod:`utils.checks`.
"""
