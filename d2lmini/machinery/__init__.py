"""What a learner need not open: the live panel and its controls, redraw and streaming, the
Fashion-MNIST download and cache repair, the exercise checkers, and the figures that only the
chapters' panels draw. It uses the modules one level up (d2lmini's), never the other way round,
except that the Fashion-MNIST loader asks download.py for the full set's folder.
"""
