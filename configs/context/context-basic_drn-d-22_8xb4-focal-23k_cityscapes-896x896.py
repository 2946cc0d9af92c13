# Class-imbalance recipe: context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py (recipe,
# differences from the DRN authors' and the context-module safeguard as its header says; the
# front-end loss uses the same focal loss) with the softmax focal loss (gamma 2; down-weights the
# easy pixels of road, building, sky) and BoundaryIoUMetric (mIoU plus fwIoU and boundary IoU,
# which the thin rare classes dominate) as the evaluator. The focal loss, like the cross-entropy it
# replaces, is averaged over the valid pixels (avg_non_ignore=True, as fyu/drn segment.py l. 351).
# No published figure for this recipe.
# Class-weighted cross-entropy instead: compute the weights from the training labels,
#   python tools/analysis/class_weights.py \
#       configs/context/context-basic_drn-d-22_8xb4-focal-23k_cityscapes-896x896.py \
#       --out work_dirs/cityscapes_class_weights.json
# which writes work_dirs/cityscapes_class_weights_{median_freq,enet}.npy, then set
#   loss_decode=dict(_delete_=True, type='CrossEntropyLoss',
#                    class_weight='work_dirs/cityscapes_class_weights_enet.npy')
# (or add that class_weight to the focal loss below). The focal loss keeps this config buildable
# without the file.
_base_ = './context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py'
model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True, type='SoftmaxFocalLoss', gamma=2.0, loss_weight=1.0, avg_non_ignore=True
        )
    )
)
val_evaluator = dict(type='BoundaryIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
