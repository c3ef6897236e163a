# Sphinx configuration of the zun-vk documentation (tox -e docs).

import os
import sys

sys.path.insert(0, os.path.abspath('../..'))

extensions = [
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
]

# oslo_config.sphinxconfiggen writes _static/zun-vk.conf.sample at every
# build, from the same generator configuration as "tox -e genconfig".
config_generator_config_file = [
    ('../../etc/zun-vk/zun-vk-config-generator.conf', '_static/zun-vk'),
]

source_suffix = {'.rst': 'restructuredtext'}
root_doc = 'index'

project = 'zun-vk'
copyright = 'zun-vk developers'
author = 'zun-vk developers'

exclude_patterns = ['_build']
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_static_path = ['_static']
html_theme_options = {
    'description': 'A Kubernetes node whose pods run as OpenStack Zun '
                   'capsules',
    'fixed_sidebar': True,
}
html_sidebars = {
    '**': ['about.html', 'navigation.html', 'relations.html',
           'searchbox.html'],
}
