import pbr.version

version_info = pbr.version.VersionInfo('zun-vk')


def version_string():
    try:
        return version_info.version_string()
    except Exception:  # noqa: B902 - an uninstalled checkout has no metadata
        return 'unknown'


# The Package section of oslo.reports' Guru Meditation report asks these.
def vendor_string():
    return 'zun-vk developers'


def product_string():
    return 'zun-vk'


def version_string_with_package():
    return version_string()
