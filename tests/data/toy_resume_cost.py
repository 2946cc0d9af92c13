# configs/context_toy.py with every loaded training sample logged to ./loads.txt and the time to
# the first batch printed, for docs/en/user_guides/elastic_and_resume.md's resume-cost table.
_base_ = ['../../configs/context_toy.py']
custom_imports = dict(imports=['mmseg_dilated', 'count_loads'], allow_failed_imports=False)
train_pipeline = [dict(type='CountLoads'), *_base_.train_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=50, val_interval=1000000)
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=-1))
custom_hooks = [dict(type='TimeToFirstBatch')]
