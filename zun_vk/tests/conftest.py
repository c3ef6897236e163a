# Select oslo.service's threading backend before any test module imports
# a library that would load oslo_service.service with the default one.
from zun_vk import cmd  # noqa: F401

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        '--require-zun', action='store_true',
        help='stop with an error when zun cannot be imported, instead of '
             'skipping the tests that need it (tox -e plugin)')


def pytest_configure(config):
    if not config.getoption('--require-zun'):
        return
    try:
        import zun  # noqa: F401
    except ImportError as exc:
        raise pytest.UsageError(
            '--require-zun: zun cannot be imported (%s); install '
            'zun==18.0.0 in this virtualenv' % exc) from None
