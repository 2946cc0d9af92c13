# mmseg's runtime (hooks, logging, visualizer, SegTTAModel), plus the two settings every config of
# this package carries so that mmseg's own tools and `mim` run it unmodified.
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmseg_dilated'], allow_failed_imports=False)
default_scope = 'mmseg'
# mmseg names its visualizer 'visualizer', and mmengine keeps one visualizer per name in a process:
# a second run in the same process (a notebook, a script that trains twice) would get the first
# run's visualizer and write its scalars.json and images into the first run's work_dir. Without a
# name, mmengine's Runner names the visualizer after the run (config name and start time).
visualizer = dict(
    _delete_=True, type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')]
)
