"""Start-up checks that turn bad configuration into one clear line."""

import os
import re

from oslo_config import cfg

TAINT_EFFECTS = ('NoSchedule', 'PreferNoSchedule', 'NoExecute')
_TAINT_RE = re.compile(r'^(?P<key>[^=:\s]+)(=(?P<value>[^:\s]*))?'
                       r':(?P<effect>[A-Za-z]+)$')


class ConfigurationError(Exception):
    """A configuration problem a user must fix before zun-vk can start."""


def parse_taint(text):
    """Parse "key=value:Effect" or "key:Effect" into a Kubernetes taint."""
    match = _TAINT_RE.match(text.strip())
    if not match or match.group('effect') not in TAINT_EFFECTS:
        raise ConfigurationError(
            '[node]taints: %r is not a taint; write "key=value:Effect" or '
            '"key:Effect" with Effect one of %s'
            % (text, ', '.join(TAINT_EFFECTS)))
    taint = {'key': match.group('key'), 'effect': match.group('effect')}
    if match.group('value'):
        taint['value'] = match.group('value')
    return taint


def _bad_value(conf, group, name, exc):
    where = ''
    try:
        location = conf.get_location(name, group)
        if location is not None and location.detail:
            where = ' in %s' % location.detail
    except Exception:  # noqa: B902 - the location only adds detail
        pass
    if not where and conf.config_file:
        where = ' (from %s)' % ', '.join(conf.config_file)
    reason = str(exc).split(' is not valid: ', 1)[-1]
    return ConfigurationError('[%s]%s%s has an invalid value: %s' % (
        group or 'DEFAULT', name, where, ' '.join(reason.split())))


def _load_every_option(conf):
    """Read every option once so a bad value fails now, not later."""
    for name in list(conf):
        try:
            value = getattr(conf, name)
        except cfg.Error as exc:
            raise _bad_value(conf, None, name, exc) from None
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for opt_name in list(value):
                try:
                    getattr(value, opt_name)
                except cfg.Error as exc:
                    raise _bad_value(conf, name, opt_name, exc) from None


def check(conf):
    """Raise ConfigurationError for anything that would stop zun-vk."""
    try:
        _load_every_option(conf)
    except cfg.Error as exc:
        raise ConfigurationError(str(exc).replace('\n', ' ')) from None
    for taint in conf.node.taints:
        parse_taint(taint)
    kubeconfig = conf.kubernetes.kubeconfig
    if kubeconfig:
        if not os.path.isfile(kubeconfig):
            raise ConfigurationError(
                '[kubernetes]kubeconfig: %s does not exist or is not a '
                'file' % kubeconfig)
        if not os.access(kubeconfig, os.R_OK):
            raise ConfigurationError(
                '[kubernetes]kubeconfig: %s is not readable by this user'
                % kubeconfig)
    _check_kubelet(conf.kubelet)


def _readable(option, path):
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ConfigurationError('%s: %s does not exist or is not readable '
                                 'by this user' % (option, path))


def _check_kubelet(opts):
    if not opts.enabled:
        return
    if bool(opts.tls_cert_file) != bool(opts.tls_private_key_file):
        raise ConfigurationError(
            '[kubelet]tls_cert_file and [kubelet]tls_private_key_file go '
            'together: set both, or neither for a self-signed certificate')
    for name in ('tls_cert_file', 'tls_private_key_file', 'client_ca_file'):
        if getattr(opts, name):
            _readable('[kubelet]%s' % name, getattr(opts, name))
    if not opts.client_ca_file and not opts.webhook_authentication:
        raise ConfigurationError(
            '[kubelet]: with neither client_ca_file nor '
            'webhook_authentication nobody could use the kubelet API; set '
            'client_ca_file to the CA of kube-apiserver\'s '
            '--kubelet-client-certificate, or disable the API with '
            '[kubelet]enabled = false')
