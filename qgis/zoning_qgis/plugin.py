"""The plugin object: registers the 三线一单 zoning Processing provider (also headless, for qgis_process)."""

from qgis.core import QgsApplication


class ZoningPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 - QGIS calls it, also from qgis_process
        from .provider import ZoningProvider

        self.provider = ZoningProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
