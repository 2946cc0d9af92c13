"""Every shipped config builds through mmseg's registry, takes a training step and predicts on CPU;
the zoo's names, norms, pretrained weights and test-time augmentation agree with the contents."""

import copy
import functools
import glob
import os.path as osp
import re

import mmseg
import pytest
import torch
import yaml
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmseg.registry import METRICS, MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from _helpers import REPO

CONFIG_DIR = osp.join(REPO, 'configs')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True) if '_base_' not in p
)
# Configs per folder ('' is the root): raise a count when a config is added, add a folder when one
# is made. The test must not pass by building nothing.
EXPECTED_CONFIGS = {
    '': 5,
    'aspp': 5,
    'context': 9,
    'fcn_drn': 4,
    'pspnet': 1,
    'hdc': 2,
    'multiscale': 2,
    'staged': 7,
}
# One folder per method, each with a README.md and a metafile.yaml in mmseg's form.
METHOD_FOLDERS = ('aspp', 'context', 'fcn_drn', 'hdc', 'multiscale', 'pspnet', 'staged')
# The README's short names: full configs, or thin aliases of a zoo config.
SHORT_NAMES = {
    'context_toy.py': None,
    'context_voc.py': 'context/context-large_drn-d-22_4xb4-40k_voc12aug-512x512.py',
    'frontend_toy.py': None,
    'context_cityscapes.py': 'context/context-basic_drn-d-22_8xb4-23k_cityscapes-896x896.py',
    'aspp_cityscapes.py': 'aspp/aspp_drn-d-38_8xb4-23k_cityscapes-896x896.py',
}
# mmseg's multi-scale + flip test-time augmentation.
TTA_RATIOS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
# {algo}_{backbone}_{gpus}xb{batch}[-{extra}]-{iters}_{dataset}-{crop}.py, extra as mmseg's "ohem"
NAME = re.compile(
    r'^(?P<algo>[a-z0-9-]+)_(?P<backbone>[a-z0-9-]+)_(?P<gpus>\d+)xb(?P<batch>\d+)'
    r'(?:-(?P<extra>[a-z0-9-]+?))?-(?P<iters>\d+k?)_(?P<dataset>[a-z0-9-]+)'
    r'-(?P<h>\d+)x(?P<w>\d+)\.py$'
)


def rel(path):
    return osp.relpath(path, CONFIG_DIR)


@functools.lru_cache(maxsize=None)
def _load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def load(name):
    """The config, parsed once per session (parsing costs ~0.5 s); a copy, as tests edit it."""
    register_all_modules()
    return copy.deepcopy(_load(name))


def is_cpu_config(cfg):
    """The bundled-data configs run single-process on CPU; the rest are GPU recipes."""
    return cfg.train_dataloader.dataset.type == 'ContextShapesDataset'


def pretrained_checkpoints(model_cfg):
    """Checkpoints the model config would load in init_weights (``pretrained`` or any
    ``init_cfg`` of type Pretrained)."""
    found = [model_cfg['pretrained']] if model_cfg.get('pretrained') else []

    def visit(node):
        if isinstance(node, dict):
            init_cfgs = node.get('init_cfg')
            for init_cfg in init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]:
                if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                    found.append(init_cfg['checkpoint'])
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(model_cfg)
    return found


def strip_pretrained(model_cfg):
    """Drop what would load ImageNet weights, so the test needs neither the converted files
    nor the network: ``pretrained`` and every ``init_cfg`` of type Pretrained (the module then
    keeps its own default initialisation)."""
    if 'pretrained' in model_cfg:
        model_cfg['pretrained'] = None

    def visit(node):
        if isinstance(node, dict):
            init_cfgs = node.get('init_cfg')
            if isinstance(init_cfgs, dict) and init_cfgs.get('type') == 'Pretrained':
                node['init_cfg'] = None
            elif isinstance(init_cfgs, list):
                node['init_cfg'] = [c for c in init_cfgs if c.get('type') != 'Pretrained'] or None
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(model_cfg)
    assert not pretrained_checkpoints(model_cfg)
    return model_cfg


def pipelines(dataloader_cfg):
    """Every ``pipeline`` under a dataloader's dataset (VOC aug concatenates two datasets)."""
    found = []

    def visit(node):
        if isinstance(node, dict):
            if 'pipeline' in node:
                found.append(node['pipeline'])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(dataloader_cfg.dataset)
    return found


def test_config_count():
    found = {}
    for path in CONFIGS:
        found.setdefault(osp.dirname(rel(path)), []).append(rel(path))
    assert {folder: len(names) for folder, names in found.items()} == EXPECTED_CONFIGS, found


def test_short_names_exist_and_aliases_match_their_targets():
    names = {rel(p) for p in CONFIGS}
    for short, target in SHORT_NAMES.items():
        assert short in names, short
        if target is not None:
            assert target in names, target
            assert load(short).to_dict() == load(target).to_dict(), short
    # Everything else lives in an algorithm/backbone folder under mmseg's naming pattern.
    assert {n for n in names if '/' not in n} == set(SHORT_NAMES)


@pytest.mark.parametrize('path', [p for p in CONFIGS if '/' in rel(p)], ids=rel)
def test_name_matches_contents(path):
    """Batch, iterations and crop in the file name are the ones the config uses."""
    match = NAME.match(osp.basename(path))
    assert match, (
        f'{rel(path)} does not follow {{algo}}_{{backbone}}_{{gpus}}xb{{batch}}-'
        '{iters}_{dataset}-{crop}.py'
    )
    cfg = load(rel(path))
    assert cfg.train_dataloader.batch_size == int(match['batch'])
    iters = match['iters']
    assert cfg.train_cfg.max_iters == (
        int(iters[:-1]) * 1000 if iters.endswith('k') else int(iters)
    )
    assert cfg.param_scheduler[-1].end == cfg.train_cfg.max_iters
    crop = (int(match['h']), int(match['w']))
    assert tuple(cfg.crop_size) == crop
    assert tuple(cfg.model.data_preprocessor.size) == crop
    train_pipeline = pipelines(cfg.train_dataloader)[0]
    assert [tuple(t['crop_size']) for t in train_pipeline if t['type'] == 'RandomCrop'] == [crop]
    backbone = cfg.model.backbone
    if backbone.type == 'DRN':
        assert match['backbone'] == f'drn-{backbone.arch.lower()}-{backbone.depth}'
    if match['algo'].startswith('context'):
        assert cfg.model.decode_head.type == 'ContextHead'
        assert match['algo'] == f'context-{cfg.model.decode_head.module_type}'
    if match['extra'] == 'focal':
        assert cfg.model.decode_head.loss_decode.type == 'SoftmaxFocalLoss'


@pytest.mark.parametrize('path', CONFIGS, ids=rel)
def test_recipe_settings(path):
    """Runtime, test-time augmentation, evaluator, pipelines and pretrained weights."""
    cfg = load(rel(path))
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['mmseg_dilated'], allow_failed_imports=False)
    for key in (
        'train_dataloader',
        'val_dataloader',
        'test_dataloader',
        'optim_wrapper',
        'tta_model',
        'tta_pipeline',
    ):
        assert key in cfg, key
    assert cfg.tta_model.type == 'SegTTAModel'
    tta = [t for t in cfg.tta_pipeline if t['type'] == 'TestTimeAug']
    assert len(tta) == 1
    resizes, flips = tta[0]['transforms'][:2]
    assert [t['scale_factor'] for t in resizes] == TTA_RATIOS
    assert [(t['type'], t['prob']) for t in flips] == [('RandomFlip', 0.0), ('RandomFlip', 1.0)]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for pipeline in pipelines(cfg[loader]):
            Compose(pipeline)
    Compose(cfg.tta_pipeline)
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        METRICS.build(evaluator)
    checkpoints = pretrained_checkpoints(cfg.model)
    if is_cpu_config(cfg):
        assert not checkpoints
    else:
        assert len(checkpoints) == 1, checkpoints
        backbone = cfg.model.backbone
        if backbone.type == 'DRN':
            # The path drn2mmseg.py's example writes, for this variant: catches a leaf that changes
            # the depth but not the weights.
            variant = f'{backbone.arch.lower()}_{backbone.depth}'
            assert checkpoints == [f'pretrain/drn_{variant}_mmseg.pth']
        elif backbone.type == 'DilatedVGG':
            assert checkpoints == ['pretrain/vgg16_dilated.pth']
        else:
            assert checkpoints == ['open-mmlab://resnet50_v1c']


def test_frontend_toy_is_context_toy_without_the_context_module():
    context, frontend = load('context_toy.py').to_dict(), load('frontend_toy.py').to_dict()
    context_head = context['model'].pop('decode_head')
    frontend_head = frontend['model'].pop('decode_head')
    # The same optimizer; only context_toy's slower context layers (conv_seg is its module's last
    # layer, but frontend_toy's classifier) are not carried over.
    context_optim, frontend_optim = context.pop('optim_wrapper'), frontend.pop('optim_wrapper')
    assert set(context_optim['paramwise_cfg']['custom_keys']) == {
        'decode_head.context_convs',
        'decode_head.conv_seg',
    }
    assert frontend_optim == dict(context_optim, paramwise_cfg={})
    assert frontend == context
    assert frontend_head['type'] == 'FCNHead'
    assert frontend_head['num_convs'] == 0 and frontend_head['concat_input'] is False
    for key in (
        'in_channels',
        'in_index',
        'num_classes',
        'dropout_ratio',
        'align_corners',
        'loss_decode',
    ):
        assert frontend_head[key] == context_head[key], key


# The DRN authors' Cityscapes recipes, from their command lines (fyu/drn README.md, "Training") and
# segment.py's defaults: numbers a config must reproduce, written here independently of the configs.
CITYSCAPES_TRAIN_IMAGES = 2975
DRN_RECIPES = {
    # segment.py train -s 896 --batch-size 32 --epochs 250 --lr 0.01 --momentum 0.9 --step 100
    'basic': dict(crop=896, batch=32, epochs=250, step=100, rotate=None, scale=None),
    # segment.py train -s 840 --random-scale 2 --random-rotate 10 --batch-size 16 --epochs 500
    #     --lr 0.01 --momentum 0.9 --lr-mode poly --bn-sync
    'd-105': dict(crop=840, batch=16, epochs=500, step=None, rotate=10, scale=2),
}


def drn_cityscapes_configs():
    return [
        rel(p)
        for p in CONFIGS
        if not SHORT_NAMES.get(rel(p)) and 'cityscapes' in rel(p) and '_drn-' in rel(p)
    ]


def test_drn_cityscapes_configs_follow_the_authors_recipe():
    names = drn_cityscapes_configs()
    # DRNSeg C-26/D-22/D-38/D-105, context C-26/D-22/D-38/D-105 + focal, ASPP C-26/D-22/D-38/D-105,
    # PSPNet D-38; configs of other folders built on them are held to the same recipe
    ours = [n for n in names if n.split('/')[0] in ('aspp', 'context', 'fcn_drn', 'pspnet')]
    assert len(ours) == 14, ours
    for name in names:
        cfg = load(name)
        recipe = DRN_RECIPES['d-105' if cfg.model.backbone.depth == 105 else 'basic']
        gpus, per_gpu = NAME.match(osp.basename(name)).group('gpus', 'batch')
        assert int(gpus) * int(per_gpu) == cfg.train_dataloader.batch_size * 8 == recipe['batch']
        assert tuple(cfg.crop_size) == (recipe['crop'], recipe['crop']), name
        optimizer = cfg.optim_wrapper.optimizer
        # segment.py: SGD, --lr 0.01, --momentum 0.9, --weight-decay default 1e-4
        assert (optimizer.type, optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (
            'SGD',
            0.01,
            0.9,
            1e-4,
        ), name
        # drop_last=True: whole batches per epoch
        iters_per_epoch = CITYSCAPES_TRAIN_IMAGES // recipe['batch']
        epochs = cfg.train_cfg.max_iters / iters_per_epoch
        assert epochs == pytest.approx(recipe['epochs'], rel=0.01), name
        (scheduler,) = cfg.param_scheduler
        if recipe['step']:
            # lr * 0.1 ** (epoch // step)
            assert scheduler.type == 'MultiStepLR' and scheduler.gamma == 0.1
            assert scheduler.milestones == [
                k * recipe['step'] * iters_per_epoch
                for k in range(1, recipe['epochs'] // recipe['step'] + 1)
                if k * recipe['step'] < recipe['epochs']
            ]
        else:
            # lr * (1 - epoch / epochs) ** 0.9
            assert (scheduler.type, scheduler.power, scheduler.eta_min) == ('PolyLR', 0.9, 0.0)
        pipeline = cfg.train_dataloader.dataset.pipeline
        kinds = [t['type'] for t in pipeline]
        rotate = [t for t in pipeline if t['type'] == 'RandomRotate']
        resize = [t for t in pipeline if t['type'] == 'RandomResize']
        if recipe['rotate'] is None:
            # "basic data augmentation (random crops + flips)"
            assert kinds == [
                'LoadImageFromFile',
                'LoadAnnotations',
                'RandomCrop',
                'RandomFlip',
                'PackSegInputs',
            ], name
        else:
            # segment.py's order: RandomRotate, RandomScale, RandomCrop (which pads a short image
            # first: CenterPad), RandomHorizontalFlip; RandomScale(s) draws from [1 / s, s]
            assert kinds == [
                'LoadImageFromFile',
                'LoadAnnotations',
                'RandomRotate',
                'RandomResize',
                'CenterPad',
                'RandomCrop',
                'RandomFlip',
                'PackSegInputs',
            ], name
            assert [(t['prob'], t['degree']) for t in rotate] == [(1.0, recipe['rotate'])]
            assert [tuple(t['ratio_range']) for t in resize] == [
                (1 / recipe['scale'], recipe['scale'])
            ]
        flips = [t for t in pipeline if t['type'] == 'RandomFlip']
        assert [t['prob'] for t in flips] == [0.5]


def test_drn_d_105_configs_checkpoint():
    """840x840 at 2 per GPU needs more than 12 GB without checkpointing (fyu/drn README.md)."""
    names = [n for n in drn_cityscapes_configs() if 'drn-d-105' in n]
    assert len(names) == 3, names
    for name in names:
        cfg = load(name)
        head = cfg.model.decode_head
        # DRNSeg's 1x1 classifier (FCNHead without convs) has nothing to checkpoint
        assert cfg.model.backbone.with_cp and (head.type == 'FCNHead' or head.with_cp), name


def test_dilated_vgg_config_follows_the_paper_and_its_release():
    cfg = load('context/context-large_dilated-vgg16_2xb7-60k_voc12aug-512x512.py')
    # Yu & Koltun section 4: SGD, mini-batch 14, lr 1e-3, momentum 0.9, 60k iterations
    assert cfg.train_dataloader.batch_size * 2 == 14
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum) == ('SGD', 1e-3, 0.9)
    assert cfg.train_cfg.max_iters == 60000
    # fyu/dilation train.py: weight decay 5e-4, step policy at 100k (constant over 60k);
    # network.py: every bias at lr_mult 2, decay_mult 0
    assert optimizer.weight_decay == 5e-4
    assert [(s.type, s.factor) for s in cfg.param_scheduler] == [('ConstantLR', 1.0)]
    paramwise = cfg.optim_wrapper.paramwise_cfg
    assert (paramwise.bias_lr_mult, paramwise.bias_decay_mult) == (2.0, 0.0)
    # network.py: the 'final' classifier starts at Gaussian std 0.001
    assert cfg.model.decode_head.classifier_init_std == 0.001
    # network.py's data layer: crop and mirror only
    for pipeline in pipelines(cfg.train_dataloader):
        assert [t['type'] for t in pipeline] == [
            'LoadImageFromFile',
            'LoadAnnotations',
            'RandomCrop',
            'RandomFlip',
            'Pad',
            'PackSegInputs',
        ]
    assert [t['type'] for t in cfg.test_pipeline] == [
        'LoadImageFromFile',
        'LoadAnnotations',
        'PackSegInputs',
    ]


def test_pspnet_auxiliary_head_as_mmseg():
    ours = load('pspnet/pspnet_drn-d-38_8xb4-23k_cityscapes-896x896.py').model
    register_all_modules()
    mmseg_psp = Config.fromfile(
        osp.join(
            osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models', 'pspnet_r50-d8.py'
        )
    )
    theirs = mmseg_psp.model.auxiliary_head
    for key in ('type', 'num_convs', 'concat_input', 'dropout_ratio'):
        assert ours.auxiliary_head[key] == theirs[key], key
    # the same loss, averaged over the valid pixels as the DRN recipe's (fyu/drn segment.py)
    assert ours.auxiliary_head.loss_decode == dict(theirs.loss_decode, avg_non_ignore=True)
    # on DRN level 5 (dilation 2, 256 channels), as mmseg's on ResNet-D8's stage 3 (dilation 2)
    backbone = MODELS.build(dict(ours.backbone, init_cfg=None))
    level = ours.backbone.out_indices[ours.auxiliary_head.in_index]
    assert level == 4 and backbone.level_channels[level] == ours.auxiliary_head.in_channels


def test_method_folders_have_readme_and_metafile():
    for folder in METHOD_FOLDERS:
        readme = open(osp.join(CONFIG_DIR, folder, 'README.md')).read()
        with open(osp.join(CONFIG_DIR, folder, 'metafile.yaml')) as f:
            meta = yaml.safe_load(f)
        (collection,) = meta['Collections']
        assert collection['README'] == f'configs/{folder}/README.md'
        configs = sorted(rel(p) for p in CONFIGS if rel(p).startswith(folder + '/'))
        models = meta['Models']
        assert sorted(m['Config'] for m in models) == [f'configs/{c}' for c in configs]
        for model in models:
            name = osp.splitext(osp.basename(model['Config']))[0]
            assert model['Name'] == name and model['In Collection'] == collection['Name']
            assert model['Weights'] is None  # nothing trained yet
            cfg = load(model['Config'][len('configs/') :])
            gpus = int(NAME.match(name + '.py')['gpus'])
            assert model['Metadata']['Batch Size'] == gpus * cfg.train_dataloader.batch_size
            assert f'({name}.py)' in readme, name


# Aliases are checked equal to their targets above; building them again would add nothing.
@pytest.mark.parametrize('path', [p for p in CONFIGS if not SHORT_NAMES.get(rel(p))], ids=rel)
def test_config_builds_trains_and_predicts(path):
    cfg = load(rel(path))
    model = MODELS.build(strip_pretrained(cfg.model))
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    syncs = [m for m in norms if isinstance(m, torch.nn.SyncBatchNorm)]
    if is_cpu_config(cfg):
        # Single process on CPU: plain BN.
        assert norms and not syncs
    else:
        # GPU recipes: SyncBN in every norm layer (the Runner reverts it when not distributed).
        # DilatedVGG + context module has no norm layer at all (VGG-16, as the paper).
        assert syncs == norms
        assert norms or cfg.model.backbone.type == 'DilatedVGG'
    model = revert_sync_batchnorm(model)
    model.init_weights()
    num_classes = cfg.model.decode_head.num_classes
    torch.manual_seed(0)
    size = 64
    inputs = torch.randn(2, 3, size, size)
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size)))
        sample.set_metainfo(
            dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size))
        )
        samples.append(sample)
    model.train()
    # oneDNN's CPU backward of a large dilated kernel (DilatedVGG's fc6: 7x7, dilation 4) takes
    # ~30x longer than PyTorch's native one (28 s vs 0.9 s here); the native path is no slower
    # for the other models.
    with torch.backends.mkldnn.flags(enabled=False):
        losses = model.loss(inputs, samples)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total)
        total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads[-4:])
    model.eval()
    with torch.no_grad():
        preds = model.predict(inputs, samples)
    assert preds[0].pred_sem_seg.data.shape == (1, size, size)
    assert int(preds[0].pred_sem_seg.data.max()) < num_classes
