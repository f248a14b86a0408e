"""The three algorithms: 场地研判 Screen sites, 可选区域 Eligibility map, 数据包检查 Validate pack.

Each is a thin adapter: QGIS parameters → :func:`params.project_from_params` → the zoning
library (``pack.screen_many``, ``pack.eligibility``, ``zoning.validate_pack``) → a QGIS layer.
"""

import json

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QIcon

from .params import CONSTRUCTION_OPTIONS, GROUNDWATER_OPTIONS, NUMBER_FIELDS, ParameterError, project_from_params
from .provider import ICON, zoning_module

BATCH_COLUMNS = (("verdict", QVariant.String), ("verdict_zh", QVariant.String), ("units", QVariant.String),
                 ("red_line", QVariant.String), ("blocking", QVariant.String), ("missing", QVariant.String),
                 ("n_findings", QVariant.Int), ("error", QVariant.String))
CHUNK = 500

_PROJECT_HELP = (
    "<p>项目参数为缺省值：图层中与项目键同名的字段（industry, construction, emissions.VOCs …）优先。"
    "Project parameters are defaults: layer fields named like project keys win.</p>"
    "<p>行业代码 industry: GB/T 4754-2017，逗号分隔 (2614,2619)；排放 emissions: <code>VOCs=12.5,NOx=3</code> (t/a)，"
    "<code>none</code>/<code>无</code> = 不排放；燃料 fuel: <code>natural_gas,electricity</code>，<code>none</code> = 不用燃料。"
    "留空 = 未提供（可能得到“待补充信息”）。Empty = not given (may give needs_information).</p>"
)


def _add_project_params(alg):
    alg.addParameter(QgsProcessingParameterString("NAME", "项目名称 Project name", optional=True))
    alg.addParameter(QgsProcessingParameterString("INDUSTRY", "行业代码 Industry code(s), GB/T 4754 (2614,2619)", optional=True))
    alg.addParameter(QgsProcessingParameterEnum("CONSTRUCTION", "建设性质 Construction",
                                                options=[label for _, label in CONSTRUCTION_OPTIONS], defaultValue=0))
    alg.addParameter(QgsProcessingParameterString("ACTIVITY", "红线内允许的活动 Permitted activity (e.g. linear_infrastructure)", optional=True))
    alg.addParameter(QgsProcessingParameterString("EMISSIONS", "排放量 Emissions, t/a (VOCs=12.5,NOx=3)", optional=True))
    alg.addParameter(QgsProcessingParameterString("FUEL", "燃料 Fuel (natural_gas,electricity; none)", optional=True))
    for name, (_key, label) in NUMBER_FIELDS.items():
        alg.addParameter(QgsProcessingParameterNumber(name, label, type=QgsProcessingParameterNumber.Double,
                                                      minValue=0, optional=True))
    alg.addParameter(QgsProcessingParameterEnum("GROUNDWATER", "开采地下水 Groundwater use",
                                                options=[label for _, label in GROUNDWATER_OPTIONS], defaultValue=0))


def _project(alg, parameters, context, zoning):
    values = {
        "NAME": alg.parameterAsString(parameters, "NAME", context),
        "INDUSTRY": alg.parameterAsString(parameters, "INDUSTRY", context),
        "CONSTRUCTION": alg.parameterAsEnum(parameters, "CONSTRUCTION", context),
        "ACTIVITY": alg.parameterAsString(parameters, "ACTIVITY", context),
        "EMISSIONS": alg.parameterAsString(parameters, "EMISSIONS", context),
        "FUEL": alg.parameterAsString(parameters, "FUEL", context),
        "GROUNDWATER": alg.parameterAsEnum(parameters, "GROUNDWATER", context),
    }
    for name in NUMBER_FIELDS:  # an optional number left empty is None, not 0
        given = parameters.get(name)
        values[name] = None if given is None or given == "" else alg.parameterAsDouble(parameters, name, context)
    try:
        project = project_from_params(values)
        zoning.parse_project(project)  # one clear error before any site is screened
    except (ParameterError, zoning.ZoningError) as exc:
        raise QgsProcessingException(f"项目参数有误 Bad project parameter: {exc}") from None
    return project


def _add_pack_param(alg, optional=True):
    alg.addParameter(QgsProcessingParameterFile(
        "PACK", "数据包目录 Zoning pack folder" + ("（留空 = 演示数据包 empty = demo pack）" if optional else ""),
        behavior=QgsProcessingParameterFile.Folder, optional=optional))


def _pack(alg, parameters, context, feedback, zoning):
    path = alg.parameterAsFile(parameters, "PACK", context) or None
    try:
        pack = zoning.load_pack(path)
    except zoning.ZoningError as exc:
        raise QgsProcessingException(f"数据包无法加载 Cannot load the pack {path or '(demo)'}: {exc}") from None
    feedback.pushInfo(f"数据包 pack: {pack.id} {pack.version} ({pack.digest})")
    return pack


def _value(v):
    """A QGIS attribute as plain Python: NULL → None, dates → ISO text."""
    if isinstance(v, QVariant):
        return None if v.isNull() else v.value()
    if v is not None and not isinstance(v, (str, int, float, bool)) and hasattr(v, "toString"):
        return v.toString()
    return v


class _Base(QgsProcessingAlgorithm):
    def group(self):
        return "三线一单 zoning"

    def groupId(self):  # noqa: N802
        return "zoning"

    def icon(self):
        return QIcon(ICON)

    def createInstance(self):  # noqa: N802
        return type(self)()


class ScreenSites(_Base):
    def name(self):
        return "screensites"

    def displayName(self):  # noqa: N802
        return "场地研判 Screen sites"

    def shortHelpString(self):  # noqa: N802
        return ("<p>逐个要素研判（每个要素为一个场地），输出图层保留原有字段并添加 verdict, verdict_zh, units, red_line, "
                "blocking, missing, n_findings, error（与 zoning batch 相同）。"
                "Screens each feature as one site and adds the batch columns (as zoning batch does).</p>" + _PROJECT_HELP)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "场地图层 Sites", [QgsProcessing.TypeVector]))
        _add_pack_param(self)
        _add_project_params(self)
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "研判结果 Verdicts"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        zoning = zoning_module()
        import geopandas as gpd
        import shapely

        source = self.parameterAsSource(parameters, "INPUT", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INPUT"))
        project = _project(self, parameters, context, zoning)
        pack = _pack(self, parameters, context, feedback, zoning)
        crs = source.sourceCrs()
        if not crs.isValid():
            raise QgsProcessingException("场地图层没有坐标系 The sites layer has no CRS; set one (Layer ▸ Set CRS)")
        crs_text = crs.authid() or crs.toWkt()
        names = source.fields().names()
        fields = QgsFields(source.fields())
        added = [(n, t) for n, t in BATCH_COLUMNS if n not in names]
        for n, t in added:
            fields.append(QgsField(n, t))
        (sink, dest_id) = self.parameterAsSink(parameters, "OUTPUT", context, fields, source.wkbType(), crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        features = list(source.getFeatures())
        total = max(len(features), 1)
        counts = {}
        for start in range(0, len(features), CHUNK):
            if feedback.isCanceled():
                break
            chunk = features[start:start + CHUNK]
            rows = [dict(zip(names, (_value(v) for v in f.attributes()))) for f in chunk]
            geoms = [shapely.from_wkb(bytes(f.geometry().asWkb())) if f.hasGeometry() else None for f in chunk]
            frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=crs_text)
            if not names:
                frame = gpd.GeoDataFrame(index=range(len(chunk)), geometry=geoms, crs=crs_text)
            try:
                result = pack.screen_many(frame, project)
            except zoning.ZoningError as exc:
                raise QgsProcessingException(f"研判失败 Screening failed: {exc}") from None
            for f, (_, row) in zip(chunk, result.iterrows()):
                attrs = list(f.attributes())
                for n, _t in BATCH_COLUMNS:
                    value = _plain(row[n])
                    if n in names:
                        attrs[names.index(n)] = value
                    else:
                        attrs.append(value)
                counts[row["verdict"] or "error"] = counts.get(row["verdict"] or "error", 0) + 1
                out = QgsFeature(fields)
                out.setGeometry(f.geometry())
                out.setAttributes(attrs)
                sink.addFeature(out, QgsFeatureSink.FastInsert)
            feedback.setProgress(100 * min(start + CHUNK, total) / total)
        feedback.pushInfo("研判结果 verdicts: " + json.dumps(counts, ensure_ascii=False, sort_keys=True))
        return {"OUTPUT": dest_id}


def _plain(value):
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


class EligibilityMap(_Base):
    def name(self):
        return "eligibilitymap"

    def displayName(self):  # noqa: N802
        return "可选区域 Eligibility map"

    def shortHelpString(self):  # noqa: N802
        return ("<p>项目在数据包范围内何处可建：覆盖全区、无缝无叠的多边形（EPSG:4490），字段 verdict, verdict_zh, blocking, "
                "missing, area_m2（与 zoning eligible 相同）。Where may the project go: polygons covering the pack's region, "
                "as zoning eligible writes them.</p>" + _PROJECT_HELP.split("</p>", 1)[1])

    def initAlgorithm(self, config=None):  # noqa: N802
        _add_pack_param(self)
        _add_project_params(self)
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "可选区域 Eligibility", QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        zoning = zoning_module()
        project = _project(self, parameters, context, zoning)
        pack = _pack(self, parameters, context, feedback, zoning)
        try:
            elig = pack.eligibility(project)
        except zoning.ZoningError as exc:
            raise QgsProcessingException(f"可选区域计算失败 Eligibility failed: {exc}") from None
        fields = QgsFields()
        for n, t in (("verdict", QVariant.String), ("verdict_zh", QVariant.String), ("blocking", QVariant.String),
                     ("missing", QVariant.String), ("area_m2", QVariant.Double)):
            fields.append(QgsField(n, t))
        (sink, dest_id) = self.parameterAsSink(parameters, "OUTPUT", context, fields, QgsWkbTypes.MultiPolygon,
                                               QgsCoordinateReferenceSystem("EPSG:4490"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        frame = elig.frame
        for i, (_, row) in enumerate(frame.iterrows()):
            if feedback.isCanceled():
                break
            geom = QgsGeometry()
            geom.fromWkb(row.geometry.wkb)
            geom.convertToMultiType()
            out = QgsFeature(fields)
            out.setGeometry(geom)
            out.setAttributes([_plain(row["verdict"]), _plain(row["verdict_zh"]), _plain(row["blocking"]),
                               _plain(row["missing"]), float(row["area_m2"])])
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            feedback.setProgress(100 * (i + 1) / max(len(frame), 1))
        feedback.pushInfo("各类面积 areas_m2: " + json.dumps(dict(elig.areas_m2), ensure_ascii=False))
        return {"OUTPUT": dest_id}


class ValidatePack(_Base):
    def name(self):
        return "validatepack"

    def displayName(self):  # noqa: N802
        return "数据包检查 Validate pack"

    def shortHelpString(self):  # noqa: N802
        return ("<p>检查数据包（结构、行业代码、单元编码、拓扑），报告错误与警告（文件与行号）；有错误时算法失败。"
                "Checks a pack as zoning validate does; reports errors and warnings with file and line, "
                "and fails when there are errors. The report is .txt, or JSON when the file ends in .json.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        _add_pack_param(self, optional=False)
        self.addParameter(QgsProcessingParameterBoolean("TOPOLOGY", "检查拓扑 Check topology (gaps, overlaps)", defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination("REPORT", "检查报告 Report", "Text (*.txt);;JSON (*.json)",
                                                                optional=True))
        self.addOutput(QgsProcessingOutputNumber("ERRORS", "错误数 Errors"))
        self.addOutput(QgsProcessingOutputNumber("WARNINGS", "警告数 Warnings"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        zoning = zoning_module()
        path = self.parameterAsFile(parameters, "PACK", context)
        report = zoning.validate_pack(path, topology=self.parameterAsBoolean(parameters, "TOPOLOGY", context))
        for p in report.problems:
            (feedback.reportError if p.severity == "error" else feedback.pushWarning)(str(p))
        dest = self.parameterAsFileOutput(parameters, "REPORT", context)
        if dest:
            problems = [{"severity": p.severity, "file": p.file, "line": p.line, "kind": p.kind, "message": p.message,
                         "where": p.where} for p in report.problems]
            if dest.lower().endswith(".json"):
                text = json.dumps({"pack": str(path), "ok": report.ok, "errors": len(report.errors),
                                   "warnings": len(report.warnings), "problems": problems}, ensure_ascii=False, indent=2)
            else:
                text = "\n".join([f"数据包 pack: {path}",
                                  f"错误 errors: {len(report.errors)}，警告 warnings: {len(report.warnings)}",
                                  *map(str, report.problems)]) + "\n"
            with open(dest, "w", encoding="utf-8") as fh:
                fh.write(text)
        summary = f"错误 {len(report.errors)} 个，警告 {len(report.warnings)} 个 — {len(report.errors)} errors, {len(report.warnings)} warnings"
        if report.errors:
            first = "; ".join(str(p) for p in report.errors[:5])
            raise QgsProcessingException(f"数据包有错误 The pack has errors ({summary}): {first}")
        feedback.pushInfo(summary)
        return {"ERRORS": 0, "WARNINGS": len(report.warnings), "REPORT": dest}
