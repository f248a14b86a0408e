"""三线一单 zoning — QGIS Processing provider (场地研判, 可选区域, 数据包检查) running the zoning command-line tool out of process."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    """QGIS entry point: the plugin object that registers the Processing provider."""
    from .plugin import ZoningPlugin

    return ZoningPlugin(iface)
