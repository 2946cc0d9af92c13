# long_run_tiny.py for 12 iterations under mmengine's AmpOptimWrapper (on CPU: cpu_amp.py), with
# infinite gradients in iterations 3 and 4: two steps the loss scaler skips, not divergence.
_base_ = ['./long_run_tiny.py']
custom_imports = dict(imports=['mmseg_dilated', 'fault_hooks', 'cpu_amp'], allow_failed_imports=False)
train_cfg = dict(max_iters=12, val_interval=12)
optim_wrapper = dict(type='CPUAmpOptimWrapper', loss_scale=dict(init_scale=1024.0, growth_interval=1000))
default_hooks = dict(checkpoint=dict(interval=12))
custom_hooks = [dict(type='InfGradAt', iterations=[3, 4])]
