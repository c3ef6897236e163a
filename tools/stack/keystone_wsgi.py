"""WSGI entry point for Keystone under gunicorn.

Keystone parses sys.argv through oslo.config, so gunicorn's own arguments
would make every worker exit with "unrecognized arguments". Clear them
before Keystone is imported; the config comes from OS_KEYSTONE_CONFIG_DIR.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server import wsgi  # noqa: E402

application = wsgi.initialize_public_application()
