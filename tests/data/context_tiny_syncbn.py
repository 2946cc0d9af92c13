# The tiny config with SyncBN, as every GPU config of this package has: for data-parallel training on
# CPU processes (gloo), where SyncBN cannot run.
_base_ = ['./context_tiny.py']
model = dict(backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)))
