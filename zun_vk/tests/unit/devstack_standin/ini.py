"""A small INI editor with DevStack's iniset/iniget/inidelete semantics.

Lines are edited in place so comments and the order of the file stay as
they were: a new option goes right under its section header, a new
section at the end of the file, commented-out options are left alone.

    ini.py set FILE SECTION OPTION VALUE
    ini.py get FILE SECTION OPTION
    ini.py delete FILE SECTION OPTION
"""

import os
import re
import sys


def _read(path):
    if not os.path.exists(path):
        return []
    with open(path) as stream:
        return stream.read().splitlines()


def _write(path, lines):
    with open(path, 'w') as stream:
        stream.write('\n'.join(lines) + '\n')


def _section_bounds(lines, section):
    """(header index, end index) of the section, or None."""
    header = '[%s]' % section
    for index, line in enumerate(lines):
        if line.strip() == header:
            end = index + 1
            while end < len(lines) and not lines[end].startswith('['):
                end += 1
            return index, end
    return None


def _option_re(option):
    return re.compile(r'^%s[ \t]*=' % re.escape(option))


def ini_set(path, section, option, value):
    lines = _read(path)
    bounds = _section_bounds(lines, section)
    if bounds is None:
        lines += ['', '[%s]' % section]
        bounds = (len(lines) - 1, len(lines))
    header, end = bounds
    matcher = _option_re(option)
    entry = '%s = %s' % (option, value)
    for index in range(header + 1, end):
        if matcher.match(lines[index]):
            lines[index] = entry
            break
    else:
        lines.insert(header + 1, entry)
    _write(path, lines)


def ini_get(path, section, option):
    lines = _read(path)
    bounds = _section_bounds(lines, section)
    if bounds is None:
        return ''
    matcher = _option_re(option)
    for line in lines[bounds[0] + 1:bounds[1]]:
        if matcher.match(line):
            return line.split('=', 1)[1].strip()
    return ''


def ini_delete(path, section, option):
    lines = _read(path)
    bounds = _section_bounds(lines, section)
    if bounds is None:
        return
    matcher = _option_re(option)
    kept = lines[:bounds[0] + 1] + [
        line for line in lines[bounds[0] + 1:bounds[1]]
        if not matcher.match(line)] + lines[bounds[1]:]
    _write(path, kept)


def main(argv):
    action, args = argv[0], argv[1:]
    if action == 'set':
        ini_set(*args)
    elif action == 'get':
        print(ini_get(*args))
    elif action == 'delete':
        ini_delete(*args)
    else:
        raise SystemExit('unknown action %r' % action)


if __name__ == '__main__':
    main(sys.argv[1:])
