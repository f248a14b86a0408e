"""The Processing provider ``zoning``: its algorithms, its one setting, and finding the zoning tool.

zoning runs out of QGIS's process (see :mod:`.tool`); the setting "zoning executable" says
where the ``zoning`` command-line tool is, else ``$ZONING_CLI``, ``zoning`` on PATH, or the
environment of ``$ZONING_SITE_PACKAGES`` (:func:`.params.find_zoning_cli`).
"""

import os

from qgis.core import Qgis, QgsMessageLog, QgsProcessingException, QgsProcessingProvider, QgsSettings
from qgis.PyQt.QtGui import QIcon

from .params import ZoningNotFoundError, find_zoning_cli

SETTING = "ZONING_CLI"
#: The plugin's former setting (0.1: a site-packages folder for an in-process import); still read.
LEGACY_SETTING = "Processing/Configuration/ZONING_SITE_PACKAGES"
ICON = os.path.join(os.path.dirname(__file__), "icon.svg")


def _setting():
    """The 'zoning executable' Processing setting (empty when unset or Processing is not loaded)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:
        return QgsSettings().value(f"Processing/Configuration/{SETTING}", "") or None
    return ProcessingConfig.getSetting(SETTING) or None


def find_cli():
    """``(path, how)`` of the zoning tool; raises :class:`ZoningNotFoundError`."""
    return find_zoning_cli(_setting(), QgsSettings().value(LEGACY_SETTING, "") or None)


def zoning_cli(feedback=None):
    """The path of the zoning tool, or a QgsProcessingException that says how to install it."""
    try:
        path, how = find_cli()
    except ZoningNotFoundError as exc:
        raise QgsProcessingException(str(exc)) from None
    if feedback is not None:
        feedback.pushInfo(f"zoning 命令行工具 tool: {path} ({how})")
    return path


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
                "zoning 可执行文件 zoning executable（留空 = 环境变量 ZONING_CLI 或 PATH 中的 zoning; "
                "empty = $ZONING_CLI or zoning on PATH）",
                "", valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        except ImportError:  # Processing's Python side absent: the environment variables still work
            pass
        try:
            path, how = find_cli()
            QgsMessageLog.logMessage(f"zoning 命令行工具 tool: {path} ({how})", "zoning", Qgis.Info)
        except ZoningNotFoundError as exc:
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
