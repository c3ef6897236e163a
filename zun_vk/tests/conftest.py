# Select oslo.service's threading backend before any test module imports
# a library that would load oslo_service.service with the default one.
from zun_vk import cmd  # noqa: F401
