import pbr.version

version_info = pbr.version.VersionInfo('zun-vk')


def version_string():
    try:
        return version_info.version_string()
    except Exception:  # noqa: B902 - an uninstalled checkout has no metadata
        return 'unknown'
