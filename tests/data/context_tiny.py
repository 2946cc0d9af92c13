# A few-iteration version of configs/context_toy.py for the end-to-end tests: tiny data, tiny batches.
# Run from a scratch folder: the data is generated under ./data/context_tiny.
_base_ = ['../../configs/context_toy.py']
tiny_dataset = dict(data_root='data/context_tiny', num_train=8, num_val=3, image_size=64)
train_dataloader = dict(batch_size=2, dataset=tiny_dataset)
val_dataloader = dict(dataset=tiny_dataset)
test_dataloader = val_dataloader
model = dict(backbone=dict(base_channels=2), decode_head=dict(in_channels=8))
train_cfg = dict(max_iters=4, val_interval=4)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=8, by_epoch=False)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=-1),
    visualization=dict(interval=1))
