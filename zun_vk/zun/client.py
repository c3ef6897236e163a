"""Zun I/O: capsules, quotas and hosts through python-zunclient.

Every call goes through ZunAPI so that errors reach the rest of zun-vk as
one exception type that says whether retrying can help.
"""

import threading

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log as logging
from zunclient import api_versions
from zunclient.common.apiclient import exceptions as zun_exc
from zunclient.v1 import client as zun_client

LOG = logging.getLogger(__name__)

PAGE_SIZE = 200
# Statuses answered when a retry can succeed: throttling, conflicts with
# an operation in progress, and server-side failures.
TRANSIENT_STATUSES = {408, 409, 429, 500, 502, 503, 504}


class ZunError(Exception):
    """A failed Zun call.

    ``status`` is the HTTP status (None when Zun was not reached) and
    ``transient`` tells whether the same call may succeed later.
    """

    def __init__(self, message, status=None, transient=True):
        super().__init__(message)
        self.status = status
        self.transient = transient

    @property
    def not_found(self):
        return self.status == 404


def _describe(exc):
    text = getattr(exc, 'details', None) or str(exc) or type(exc).__name__
    return ' '.join(str(text).split())


def _translate_error(exc, action):
    if isinstance(exc, ZunError):
        return exc
    if isinstance(exc, zun_exc.HttpError):
        status = exc.http_status
        message = '%s failed: HTTP %s: %s' % (action, status,
                                              _describe(exc))
        return ZunError(message, status=status,
                        transient=status in TRANSIENT_STATUSES or
                        status >= 500)
    if isinstance(exc, ks_exc.Unauthorized):
        return ZunError('%s failed: Keystone refused the credentials of '
                        '[zun]: %s' % (action, _describe(exc)), status=401)
    if isinstance(exc, (ks_exc.ConnectionError, ks_exc.EndpointNotFound,
                        ks_exc.DiscoveryFailure, ks_exc.ClientException,
                        zun_exc.ClientException, RuntimeError, OSError)):
        return ZunError('%s failed: %s' % (action, _describe(exc)))
    return None


class ZunAPI(object):
    """The project's capsules, as zun-vk needs them."""

    def __init__(self, conf):
        self._conf = conf
        self._lock = threading.Lock()
        self._client = None
        self._session = None
        self._auth = None
        self.endpoint = None

    def _build(self):
        group = self._conf.zun
        if self._session is None:
            self._auth = ks_loading.load_auth_from_conf_options(
                self._conf, 'zun')
            if self._auth is None:
                raise ZunError(
                    '[zun]auth_type is not set: zun-vk needs Keystone '
                    'credentials for Zun (for example auth_type = password '
                    'with auth_url, username, password and project_name)',
                    transient=False)
            self._session = ks_loading.load_session_from_conf_options(
                self._conf, 'zun', auth=self._auth)
        adapter = ks_loading.load_adapter_from_conf_options(
            self._conf, 'zun', session=self._session, auth=self._auth)
        endpoint = group.endpoint_override or adapter.get_endpoint()
        if not endpoint:
            raise ZunError(
                'no endpoint of service type %r (interfaces %s, region %s) '
                'in the Keystone catalog' % (
                    group.service_type, ','.join(group.valid_interfaces or
                                                 []), group.region_name))
        self.endpoint = endpoint
        return zun_client.Client(
            api_version=api_versions.APIVersion(group.api_version),
            session=self._session,
            endpoint_override=endpoint)

    def _call(self, action, func):
        try:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
                client = self._client
            return func(client)
        except Exception as exc:
            error = _translate_error(exc, action)
            if error is None:
                raise
            if error.status is None:
                # Not reached: look the endpoint up again next time.
                with self._lock:
                    self._client = None
            raise error from exc

    def describe_endpoint(self):
        if self.endpoint:
            return self.endpoint
        try:
            # Registered only once an auth plugin is loaded.
            auth_url = self._conf.zun.auth_url
        except cfg.NoSuchOptError:
            auth_url = None
        return 'the %r endpoint of the Keystone catalog at %s' % (
            self._conf.zun.service_type, auth_url or '(no [zun]auth_url)')

    def ping(self):
        """Raise ZunError unless the capsule API answers."""
        self._call('Listing capsules',
                   lambda client: client.capsules.list(limit=1))

    def list_capsules(self):
        """All capsules of the project, one page of PAGE_SIZE at a time."""
        def list_all(client):
            result = []
            marker = None
            while True:
                page = client.capsules.list(marker=marker, limit=PAGE_SIZE,
                                            sort_key='created_at',
                                            sort_dir='asc')
                result.extend(item.to_dict() for item in page)
                if len(page) < PAGE_SIZE:
                    return result
                marker = page[-1].uuid
        return self._call('Listing capsules', list_all)

    def get_capsule(self, capsule_id):
        """The capsule as a dict, or None when Zun has no such capsule."""
        try:
            capsule = self._call(
                'Reading capsule %s' % capsule_id,
                lambda client: client.capsules.get(capsule_id))
        except ZunError as exc:
            if exc.not_found:
                return None
            raise
        return capsule.to_dict() if capsule else None

    def create_capsule(self, template):
        return self._call(
            'Creating capsule %s' % template['metadata']['name'],
            lambda client: client.capsules.create(
                template=template)).to_dict()

    def delete_capsule(self, capsule_id):
        """Delete a capsule; True when it was already gone."""
        try:
            self._call('Deleting capsule %s' % capsule_id,
                       lambda client: client.capsules.delete(capsule_id))
        except ZunError as exc:
            if exc.not_found:
                return True
            raise
        return False

    def quotas(self):
        """The project's quotas (containers, cpu, memory, disk)."""
        def get(client):
            project_id = self._session.get_project_id()
            return client.quotas.get(project_id).to_dict()
        return self._call('Reading the project quotas', get)

    def hosts(self):
        """The compute hosts; needs admin credentials."""
        return self._call(
            'Listing compute hosts',
            lambda client: [h.to_dict() for h in client.hosts.list()])
