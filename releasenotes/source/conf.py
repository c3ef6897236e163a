# Sphinx configuration of the zun-vk release notes, built from
# releasenotes/notes by reno's Sphinx extension:
#
#   sphinx-build -W -b html releasenotes/source releasenotes/build/html

extensions = [
    'reno.sphinxext',
]

source_suffix = {'.rst': 'restructuredtext'}
root_doc = 'index'

project = 'zun-vk Release Notes'
copyright = 'zun-vk developers'
author = 'zun-vk developers'

# Release notes are not versioned by the documentation build.
version = ''
release = ''

exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
