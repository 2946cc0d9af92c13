# mmseg's runtime (hooks, logging, visualizer, SegTTAModel), plus the two settings every config of
# this package carries so that mmseg's own tools and `mim` run it unmodified.
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmseg_dilated'], allow_failed_imports=False)
default_scope = 'mmseg'
