"""A pod's /etc/hosts, as the kubelet writes it (managedHostsFileContent).

The engine would give each container the sandbox's own file; the kubelet
writes one per pod with the pod's name on its IPs and the pod's
hostAliases, and so does the companion, from the plan's ``h``.
"""

HEADER = '# Kubernetes-managed hosts file.\n'
LOCAL = ('127.0.0.1\tlocalhost\n'
         '::1\tlocalhost ip6-localhost ip6-loopback\n'
         'fe00::0\tip6-localnet\n'
         'fe00::0\tip6-mcastprefix\n'
         'fe00::1\tip6-allnodes\n'
         'fe00::2\tip6-allrouters\n')


def content(hosts, pod_ips):
    """The file's bytes: hosts is the plan's ``h``, pod_ips a list."""
    lines = [HEADER, LOCAL]
    name, domain = hosts['n'], hosts.get('d') or ''
    for ip in pod_ips:
        if domain:
            lines.append('%s\t%s.%s\t%s\n' % (ip, name, domain, name))
        else:
            lines.append('%s\t%s\n' % (ip, name))
    aliases = hosts.get('a') or []
    if aliases:
        lines.append('\n# Entries added by HostAliases.\n')
        for ip, names in aliases:
            lines.append('%s\t%s\n' % (ip, '\t'.join(names)))
    return ''.join(lines).encode('utf-8')
