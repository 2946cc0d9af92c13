# diverge_tiny.py stopping after three bad iterations in a row, the weights set to NaN before
# iteration 9: 9 and 10 are reported, the checkpoint of 10 is refused, 11 stops the run.
_base_ = ['./diverge_tiny.py']
default_hooks = dict(divergence=dict(max_bad_iters=3))
custom_hooks = [dict(type='PlantNaN', iteration=9)]
