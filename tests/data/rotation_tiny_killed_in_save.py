# rotation_tiny.py, SIGKILLed inside the save of the checkpoint of iteration 20: with
# max_keep_ckpts=1, iter_10.pth must survive.
_base_ = ['./rotation_tiny.py']
custom_imports = dict(
    imports=['mmseg_dilated', 'fault_hooks', 'kill_hooks'], allow_failed_imports=False)
custom_hooks = [dict(type='KillInsideSave', iteration=20)]
