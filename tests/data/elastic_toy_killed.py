# elastic_toy.py with rank 1 SIGKILLed at the end of iteration 3 (after the checkpoint of
# iteration 2) in the first attempt only.
_base_ = ['./elastic_toy.py']
custom_hooks = [dict(type='KillRankInFirstAttempt', iteration=3, rank=1)]
