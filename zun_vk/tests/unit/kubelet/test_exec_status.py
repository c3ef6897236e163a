import json

import pytest

from zun_vk.kubelet import exec_status

SUCCESS = b'{"metadata":{},"status":"Success"}'
EXIT_7 = (b'{"metadata":{},"status":"Failure","message":"command terminated '
          b'with non-zero exit code: error executing command [sh -c exit 7], '
          b'exit code 7","reason":"NonZeroExitCode","details":{"causes":'
          b'[{"reason":"ExitCode","message":"7"}]}}')
BROKEN = (b'{"metadata":{},"status":"Failure","message":"Internal error '
          b'occurred: the container is gone","reason":"InternalError",'
          b'"details":{"causes":[{"message":"the container is gone"}]},'
          b'"code":500}')


@pytest.mark.parametrize('version, kwargs, expected', [
    (4, {}, SUCCESS),
    (5, {'exit_code': 0}, SUCCESS),
    (4, {'exit_code': 7, 'command': ['sh', '-c', 'exit 7']}, EXIT_7),
    (4, {'error': 'the container is gone'}, BROKEN),
    (4, {'error': 'the container is gone', 'exit_code': 3}, BROKEN),
    # Before v4 the error stream carries the message, nothing on success.
    (3, {}, b''),
    (2, {'exit_code': 0}, b''),
    (3, {'exit_code': 2},
     b'command terminated with non-zero exit code: exit code 2'),
    (1, {'error': 'no such container'},
     b'Internal error occurred: no such container'),
])
def test_outcomes_are_encoded_as_the_kubelet_does(version, kwargs,
                                                  expected):
    status = exec_status.outcome(**kwargs)
    assert exec_status.encode(version, status) == expected


def test_json_is_escaped_as_go_does():
    encoded = exec_status.go_json({'message': 'a<b>&c \u2028 é'})
    assert encoded == ('{"message":"a\\u003cb\\u003e\\u0026c \\u2028 é"}'
                       .encode('utf-8'))
    assert json.loads(encoded) == {'message': 'a<b>&c \u2028 é'}


def _reader(*chunks):
    pending = list(chunks)
    return lambda size: pending.pop(0) if pending else b''


@pytest.mark.parametrize('chunks, sizes', [
    ([b'{"Width":80,"Height":24}\n'], [(80, 24)]),
    ([b'{"Width":80,', b'"Height":24}\n{"Wid', b'th":100,"Height":30}'],
     [(80, 24), (100, 30)]),
    ([b'  {"Width":1,"Height":2} \r\n\t{"Width":3,"Height":4}'],
     [(1, 2), (3, 4)]),
    # Go matches field names without regard to case; absent ones are 0.
    ([b'{"width":5,"HEIGHT":6}{"Width":7}'], [(5, 6), (7, 0)]),
    ([b'{"Width":80,"Height":24,"Extra":{"a":[1,"}"]}}'], [(80, 24)]),
    # The first thing that is not a TerminalSize ends the stream.
    ([b'{"Width":1,"Height":1}[1]{"Width":2,"Height":2}'], [(1, 1)]),
    ([b'{"Width":"80","Height":24}{"Width":2,"Height":2}'], []),
    ([b'{"Width":true,"Height":24}'], []),
    ([b'{"Width":70000,"Height":24}'], []),
    ([b'{"Width":-1,"Height":24}'], []),
    ([b'{"Width":1,"Height":1}', b'nonsense'], [(1, 1)]),
    ([b'{"Width":1, oops}'], []),
    # An object cut off by the end of the stream is dropped.
    ([b'{"Width":1,"Height":1}{"Width":2'], [(1, 1)]),
    ([b'{"Width":' + b' ' * 5000], []),
    ([], []),
])
def test_resize_stream_decoding(chunks, sizes):
    assert list(exec_status.decode_resizes(_reader(*chunks))) == sizes
