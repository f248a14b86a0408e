"""The Processing provider ``zoning``: its algorithms, its one setting, and finding the zoning library."""

import os

from qgis.core import Qgis, QgsMessageLog, QgsProcessingException, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .params import ZoningImportError, import_zoning

SETTING = "ZONING_SITE_PACKAGES"
ICON = os.path.join(os.path.dirname(__file__), "icon.svg")


def _setting():
    """The 'zoning site-packages' Processing setting (empty when unset or Processing is not loaded)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:
        return None
    return ProcessingConfig.getSetting(SETTING) or None


def zoning_module():
    """The zoning library, or a QgsProcessingException that says how to install it."""
    try:
        return import_zoning(_setting())
    except ZoningImportError as exc:
        raise QgsProcessingException(str(exc)) from None


class ZoningProvider(QgsProcessingProvider):
    def id(self):
        return "zoning"

    def name(self):
        return "三线一单 zoning"

    def longName(self):  # noqa: N802
        return "三线一单生态环境分区管控 zoning screening"

    def icon(self):
        return QIcon(ICON)

    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting

            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(
                self.name(), SETTING,
                "zoning site-packages（zoning 库所在的 site-packages 目录，可留空）",
                os.environ.get(SETTING, ""), valuetype=Setting.FOLDER))
            ProcessingConfig.readSettings()
        except ImportError:  # Processing's Python side absent: the environment variable still works
            pass
        try:
            import_zoning(_setting())
        except ZoningImportError as exc:
            QgsMessageLog.logMessage(str(exc), "zoning", Qgis.Warning)
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig

            ProcessingConfig.removeSetting(SETTING)
        except (ImportError, KeyError):
            pass

    def loadAlgorithms(self):  # noqa: N802
        from .algorithms import EligibilityMap, ScreenSites, ValidatePack

        for alg in (ScreenSites(), EligibilityMap(), ValidatePack()):
            self.addAlgorithm(alg)
