# resume_toy.py, SIGKILLed inside the save of the checkpoint of iteration 20.
_base_ = ['./resume_toy.py']
custom_hooks = [dict(type='KillInsideSave', iteration=20)]
