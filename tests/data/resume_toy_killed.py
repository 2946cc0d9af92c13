# resume_toy.py, SIGKILLed at the end of iteration 21 (after the checkpoint of iteration 20).
_base_ = ['./resume_toy.py']
custom_hooks = [dict(type='KillAfterIter', iteration=21)]
