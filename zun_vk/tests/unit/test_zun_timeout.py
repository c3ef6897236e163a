"""Every Zun request has a timeout: a half-open connection never hangs."""

import socket
import threading

from oslo_config import cfg
import pytest
import requests

from zun_vk.conf import zun as zun_conf
from zun_vk.zun import client as zun_client


@pytest.fixture
def silent_server():
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    yield 'http://127.0.0.1:%d/v1' % server.getsockname()[1]
    server.close()


def conf_for(endpoint, **zun):
    conf = cfg.ConfigOpts()
    zun_conf.register_opts(conf)
    conf([], project='zun-vk-unit', default_config_files=[])
    conf.set_override('auth_type', 'none', group='zun')
    conf.set_override('endpoint_override', endpoint, group='zun')
    for name, value in zun.items():
        conf.set_override(name, value, group='zun')
    return conf


def test_the_timeout_defaults_to_60_seconds_and_says_why():
    conf = cfg.ConfigOpts()
    zun_conf.register_opts(conf)
    conf([], project='zun-vk-unit', default_config_files=[])
    assert conf.zun.timeout == 60
    [documented] = [o for o in zun_conf.list_opts()[zun_conf.zun_group]
                    if o.dest == 'timeout']
    assert documented.default == 60
    assert 'half-open' in documented.help


def test_the_default_timeout_reaches_every_http_request(monkeypatch):
    seen = []

    def refuse(self, method, url, **kwargs):
        seen.append(kwargs.get('timeout'))
        raise requests.exceptions.ConnectionError('refused')
    monkeypatch.setattr(requests.Session, 'request', refuse)
    api = zun_client.ZunAPI(conf_for('http://127.0.0.1:9/v1'))
    with pytest.raises(zun_client.ZunError):
        api.list_capsules()
    assert seen and set(seen) == {60}


def test_a_zun_that_never_answers_fails_the_call(silent_server):
    api = zun_client.ZunAPI(conf_for(silent_server, timeout=0.2))
    outcome = []

    def call():
        try:
            api.get_capsule('k8s-ns-p-01234567')
        except zun_client.ZunError as exc:
            outcome.append(exc)
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), 'the Zun call hangs'
    assert len(outcome) == 1 and outcome[0].transient
