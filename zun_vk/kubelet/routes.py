"""The kubelet API's paths and query parameters, parsed as the kubelet does.

Pure: a method, a path and a query string become a Route naming the
operation and its options, or a RouteError with the kubelet's status and
message (pkg/kubelet/server/server.go, the parameter codec of
PodLogOptions and remotecommand's NewOptions).
"""

import dataclasses
import datetime
import urllib.parse

from zun_vk import http_error
from zun_vk.kubelet import streams

LOGS = 'containerLogs'
EXEC = 'exec'
ATTACH = 'attach'
PORT_FORWARD = 'portForward'
RUN = 'run'
PODS = 'pods'
HEALTHZ = 'healthz'
STATS_SUMMARY = 'stats/summary'
METRICS_RESOURCE = 'metrics/resource'

# Largest value of an int64 query parameter, as Go parses them.
_INT64_MAX = 2 ** 63 - 1


class RouteError(http_error.HTTPError):
    """A request the kubelet answers with an error before streaming."""


@dataclasses.dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    since_seconds: int = None
    since_time: datetime.datetime = None
    tail_lines: int = None
    limit_bytes: int = None


@dataclasses.dataclass(frozen=True)
class Route:
    operation: str
    namespace: str = None
    pod: str = None
    container: str = None
    pod_uid: str = None
    logs: LogOptions = None
    exec_options: streams.ExecOptions = None
    command: tuple = ()
    ports: tuple = ()
    query: tuple = ()


def _bool(values):
    # apimachinery's Convert_Slice_string_To_bool: anything but "false"
    # or "0" is true, an empty value included.
    return values[0].lower() not in ('false', '0')


def _int64(values):
    try:
        value = int(values[0], 10)
    except ValueError:
        raise RouteError(400, '{"message": "Unable to decode query."}')
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise RouteError(400, '{"message": "Unable to decode query."}')
    return value


def _time(values):
    text = values[0]
    try:
        value = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        raise RouteError(400, '{"message": "Unable to decode query."}')
    if value.tzinfo is None:
        raise RouteError(400, '{"message": "Unable to decode query."}')
    return value.astimezone(datetime.timezone.utc)


def log_options(query):
    """PodLogOptions from a parsed query ({name: [values]})."""
    query = dict(query)
    tail = query.pop('tail', None)
    if tail:
        # The kubelet's backwards compatibility: tail=N, "all" = unset.
        if tail[0] != 'all':
            query['tailLines'] = tail
    invalid = RouteError(422, '{"message": "Invalid request."}')
    opts = {}
    for name, key, parse in (('follow', 'follow', _bool),
                             ('previous', 'previous', _bool),
                             ('timestamps', 'timestamps', _bool),
                             ('sinceSeconds', 'since_seconds', _int64),
                             ('sinceTime', 'since_time', _time),
                             ('tailLines', 'tail_lines', _int64),
                             ('limitBytes', 'limit_bytes', _int64)):
        if name in query:
            opts[key] = parse(query[name])
    if opts.get('since_seconds') is not None and opts['since_seconds'] < 1:
        raise invalid
    if 'since_seconds' in opts and 'since_time' in opts:
        raise invalid
    if opts.get('tail_lines') is not None and opts['tail_lines'] < 0:
        raise invalid
    if opts.get('limit_bytes') is not None and opts['limit_bytes'] < 1:
        raise invalid
    return LogOptions(**opts)


def exec_options(query):
    """remotecommand's NewOptions: flags are set only by the value "1"."""
    def flag(name):
        return (query.get(name) or [''])[0] == '1'
    tty = flag('tty')
    options = streams.ExecOptions(stdin=flag('input'), stdout=flag('output'),
                                  stderr=flag('error') and not tty, tty=tty)
    if not (options.stdin or options.stdout or options.stderr):
        raise RouteError(400, 'you must specify at least 1 of stdin, '
                              'stdout, stderr')
    return options


def _ports(query):
    ports = []
    for text in query.get('port', ()):
        for part in text.split(','):
            try:
                port = int(part)
            except ValueError:
                raise RouteError(400, 'unable to parse "%s" as a port: '
                                      'invalid syntax' % part)
            if not 0 < port < 65536:
                raise RouteError(400, 'port %d must be > 0 and < 65536'
                                 % port)
            ports.append(port)
    return tuple(ports)


def _split(path):
    parts = [urllib.parse.unquote(p) for p in path.strip('/').split('/')]
    return [p for p in parts if p != ''] if path.strip('/') else []


def parse(method, target):
    """The Route for a request line's method and target (path?query)."""
    url = urllib.parse.urlsplit(target)
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    parts = _split(url.path)
    not_found = RouteError(404, '404 page not found')
    if not parts:
        raise not_found
    head, rest = parts[0], parts[1:]
    reads = ('GET', 'HEAD')
    if head == HEALTHZ and not rest and method in reads:
        return Route(HEALTHZ)
    if head == PODS and not rest and method in reads:
        return Route(PODS)
    if (head, rest) == ('stats', ['summary']) and method in reads + ('POST',):
        return Route(STATS_SUMMARY, query=tuple(sorted(
            (k, tuple(v)) for k, v in query.items())))
    if (head, rest) == ('metrics', ['resource']) and method in reads:
        return Route(METRICS_RESOURCE)
    if head == LOGS and len(rest) == 3 and method in reads:
        return Route(LOGS, namespace=rest[0], pod=rest[1],
                     container=rest[2], logs=log_options(query))
    if head in (EXEC, ATTACH, RUN) and len(rest) in (3, 4) and \
            method in ('GET', 'POST'):
        uid = rest[2] if len(rest) == 4 else None
        if head == RUN:
            if method != 'POST':
                raise not_found
            # The kubelet splits /run's single cmd parameter on spaces.
            command = tuple((query.get('cmd') or [''])[0].split(' '))
            return Route(RUN, namespace=rest[0], pod=rest[1],
                         container=rest[-1], pod_uid=uid,
                         command=tuple(c for c in command if c))
        command = tuple(query.get('command', ()))
        if head == EXEC and not command:
            raise RouteError(400, 'command is required')
        return Route(head, namespace=rest[0], pod=rest[1],
                     container=rest[-1], pod_uid=uid,
                     exec_options=exec_options(query), command=command)
    if head == PORT_FORWARD and len(rest) in (2, 3) and \
            method in ('GET', 'POST'):
        return Route(PORT_FORWARD, namespace=rest[0], pod=rest[1],
                     pod_uid=rest[2] if len(rest) == 3 else None,
                     ports=_ports(query))
    raise not_found
