# zun-vk runs on native threads: select oslo.service's threading backend
# before anything imports oslo_service.service (which binds the backend's
# classes at import time). No eventlet, no monkey-patching.
import warnings

# Libraries probe for eventlet when it is installed; zun-vk never uses it.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

from oslo_service import backend  # noqa: E402

backend.init_backend(backend.BackendType.THREADING)
