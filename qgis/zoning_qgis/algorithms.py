"""The three algorithms: 场地研判 Screen sites, 可选区域 Eligibility map, 数据包检查 Validate pack.

Each is a thin adapter: QGIS parameters → :func:`params.project_from_params` → the zoning
command-line tool of the user's environment, run as a subprocess (``zoning batch``,
``zoning eligible``, ``zoning validate``; :mod:`.tool`) on a temporary GeoPackage → a QGIS layer.
zoning never runs inside QGIS's process: its shapely/pyproj wheels carry their own GEOS/PROJ,
which clash with the ones QGIS has loaded.
"""

import json
import os
import tempfile

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
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
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QIcon

from .params import (
    CONSTRUCTION_OPTIONS,
    GROUNDWATER_OPTIONS,
    NUMBER_FIELDS,
    ParameterError,
    batch_command,
    eligible_command,
    problem_text,
    project_from_params,
    validate_command,
)
from .provider import ICON, zoning_cli
from .tool import Canceled, ToolError, run, write_project

BATCH_COLUMNS = (("verdict", QVariant.String), ("verdict_zh", QVariant.String), ("units", QVariant.String),
                 ("red_line", QVariant.String), ("blocking", QVariant.String), ("missing", QVariant.String),
                 ("n_findings", QVariant.Int), ("error", QVariant.String))
ELIGIBILITY_COLUMNS = (("verdict", QVariant.String), ("verdict_zh", QVariant.String), ("blocking", QVariant.String),
                       ("missing", QVariant.String), ("area_m2", QVariant.Double))
#: The column that carries each feature's position through zoning batch (OUT keeps every input column).
ROW = "zoning_qgis_row"

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


def _project(alg, parameters, context):
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
        return project_from_params(values)  # the tool checks the rest (industry codes …) and says what is wrong
    except ParameterError as exc:
        raise QgsProcessingException(f"项目参数有误 Bad project parameter: {exc}") from None


def _add_pack_param(alg, optional=True):
    alg.addParameter(QgsProcessingParameterFile(
        "PACK", "数据包目录 Zoning pack folder" + ("（留空 = 演示数据包 empty = demo pack）" if optional else ""),
        behavior=QgsProcessingParameterFile.Folder, optional=optional))


def _pack(alg, parameters, context, feedback):
    """The pack folder, or None for the embedded demo pack."""
    path = alg.parameterAsFile(parameters, "PACK", context) or None
    feedback.pushInfo(f"数据包 pack: {path or '（演示数据包）embedded demo pack'}")
    return path


def _run(argv, feedback, what, ok=(0,)):
    """Run the tool; its failure becomes a QgsProcessingException with its one-line error."""
    try:
        return run(argv, feedback, ok=ok)
    except ToolError as exc:
        raise QgsProcessingException(f"{what}: {exc}") from None
    except Canceled as exc:
        raise QgsProcessingException(str(exc)) from None


def _read_layer(path, what):
    """All features of the GeoPackage the tool wrote (the file is closed afterwards)."""
    layer = QgsVectorLayer(path, "zoning", "ogr")
    if not layer.isValid():
        raise QgsProcessingException(f"{what}: 无法读取 zoning 的输出 cannot read the tool's output {path}")
    features = list(layer.getFeatures())
    names = layer.fields().names()
    del layer
    return names, features


def _write_sites(source, path, context, feedback):
    """Write the sites to a GeoPackage for zoning batch: their fields (not the batch columns) plus :data:`ROW`.

    Returns the features, in the order of :data:`ROW`.
    """
    skip = {n for n, _t in BATCH_COLUMNS} | {ROW, "fid"}
    keep = [i for i, f in enumerate(source.fields()) if f.name().lower() not in skip]
    fields = QgsFields()
    for i in keep:
        fields.append(source.fields().at(i))
    fields.append(QgsField(ROW, QVariant.Int))
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "sites"
    options.fileEncoding = "UTF-8"
    writer = QgsVectorFileWriter.create(path, fields, source.wkbType(), source.sourceCrs(), context.transformContext(), options)
    if writer.hasError() != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"无法写出临时文件 Cannot write the temporary sites file {path}: {writer.errorMessage()}")
    features = []
    total = max(source.featureCount(), 1)
    for f in source.getFeatures():
        if feedback.isCanceled():
            break
        out = QgsFeature(fields)
        if f.hasGeometry():
            out.setGeometry(f.geometry())
        attrs = f.attributes()
        out.setAttributes([attrs[i] for i in keep] + [len(features)])
        if not writer.addFeature(out):
            raise QgsProcessingException(f"无法写出临时文件 Cannot write the temporary sites file {path}: {writer.errorMessage()}")
        features.append(f)
        feedback.setProgress(10 * len(features) / total)
    del writer  # flushes and closes the file
    return features


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
        cli = zoning_cli(feedback)
        source = self.parameterAsSource(parameters, "INPUT", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INPUT"))
        project = _project(self, parameters, context)
        pack = _pack(self, parameters, context, feedback)
        crs = source.sourceCrs()
        if not crs.isValid():
            raise QgsProcessingException("场地图层没有坐标系 The sites layer has no CRS; set one (Layer ▸ Set CRS)")
        names = [n.lower() for n in source.fields().names()]  # a field 'Verdict' is overwritten, not doubled
        fields = QgsFields(source.fields())
        for n, t in BATCH_COLUMNS:
            if n not in names:
                fields.append(QgsField(n, t))
        (sink, dest_id) = self.parameterAsSink(parameters, "OUTPUT", context, fields, source.wkbType(), crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        with tempfile.TemporaryDirectory(prefix="zoning-qgis-") as tmp:
            sites = os.path.join(tmp, "sites.gpkg")
            features = _write_sites(source, sites, context, feedback)
            if feedback.isCanceled():
                return {"OUTPUT": dest_id}
            if not features:
                raise QgsProcessingException("场地图层没有要素 The sites layer has no features; expected one site per feature")
            out = os.path.join(tmp, "verdicts.gpkg")
            _run(batch_command(cli, sites, out, write_project(project, tmp), pack), feedback, "研判失败 Screening failed")
            feedback.setProgress(90)
            out_names, rows = _read_layer(out, "研判失败 Screening failed")
        missing = [n for n, _t in BATCH_COLUMNS if n not in out_names] + ([ROW] if ROW not in out_names else [])
        if missing:
            raise QgsProcessingException(f"研判失败 Screening failed: zoning batch 的输出缺少字段 the output lacks {', '.join(missing)}")
        by_row = {_value(r[ROW]): r for r in rows}
        if len(rows) != len(features) or set(by_row) != set(range(len(features))):
            raise QgsProcessingException(f"研判失败 Screening failed: {len(features)} 个场地，zoning batch 返回 {len(rows)} 行 "
                                         f"{len(features)} sites in, {len(rows)} rows out")
        counts = {}
        for i, f in enumerate(features):
            r = by_row[i]
            attrs = list(f.attributes())
            for n, _t in BATCH_COLUMNS:
                value = _value(r[n])
                if n in names:
                    attrs[names.index(n)] = value
                else:
                    attrs.append(value)
            verdict = _value(r["verdict"]) or "error"
            counts[verdict] = counts.get(verdict, 0) + 1
            out = QgsFeature(fields)
            if f.hasGeometry():
                out.setGeometry(f.geometry())
            out.setAttributes(attrs)
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        feedback.setProgress(100)
        feedback.pushInfo("研判结果 verdicts: " + json.dumps(counts, ensure_ascii=False, sort_keys=True))
        return {"OUTPUT": dest_id}


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
        cli = zoning_cli(feedback)
        project = _project(self, parameters, context)
        pack = _pack(self, parameters, context, feedback)
        fields = QgsFields()
        for n, t in ELIGIBILITY_COLUMNS:
            fields.append(QgsField(n, t))
        (sink, dest_id) = self.parameterAsSink(parameters, "OUTPUT", context, fields, QgsWkbTypes.MultiPolygon,
                                               QgsCoordinateReferenceSystem("EPSG:4490"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        with tempfile.TemporaryDirectory(prefix="zoning-qgis-") as tmp:
            out = os.path.join(tmp, "eligible.gpkg")
            _, stdout, _ = _run(eligible_command(cli, out, write_project(project, tmp), pack), feedback,
                                "可选区域计算失败 Eligibility failed")
            feedback.setProgress(80)
            out_names, polygons = _read_layer(out, "可选区域计算失败 Eligibility failed")
        missing = [n for n, _t in ELIGIBILITY_COLUMNS if n not in out_names]
        if missing:
            raise QgsProcessingException(f"可选区域计算失败 Eligibility failed: 输出缺少字段 the output lacks {', '.join(missing)}")
        for i, p in enumerate(polygons):
            if feedback.isCanceled():
                break
            geom = p.geometry()
            geom.convertToMultiType()
            out = QgsFeature(fields)
            out.setGeometry(geom)
            area = _value(p["area_m2"])
            out.setAttributes([_value(p[n]) for n, _t in ELIGIBILITY_COLUMNS[:-1]] + [None if area is None else float(area)])
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            feedback.setProgress(80 + 20 * (i + 1) / max(len(polygons), 1))
        try:
            areas = json.loads(stdout.strip().splitlines()[-1])["areas_m2"]
            feedback.pushInfo("各类面积 areas_m2: " + json.dumps(areas, ensure_ascii=False))
        except (IndexError, ValueError, KeyError, TypeError):
            feedback.pushWarning(f"zoning eligible 未给出各类面积 gave no areas_m2 on stdout: {stdout[-200:]!r}")
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
        cli = zoning_cli(feedback)
        path = self.parameterAsFile(parameters, "PACK", context)
        topology = self.parameterAsBoolean(parameters, "TOPOLOGY", context)
        _, stdout, _ = _run(validate_command(cli, path, topology), feedback, "数据包检查失败 Validation failed", ok=(0, 1))
        try:
            report = json.loads(stdout)
            problems = report["problems"]
        except (ValueError, KeyError, TypeError):
            raise QgsProcessingException(f"数据包检查失败 Validation failed: zoning validate 的输出无法解析 "
                                         f"cannot read the tool's report: {stdout[:300]!r}") from None
        errors = [p for p in problems if p.get("severity") == "error"]
        warnings = [p for p in problems if p.get("severity") != "error"]
        for p in problems:
            (feedback.reportError if p.get("severity") == "error" else feedback.pushWarning)(problem_text(p))
        dest = self.parameterAsFileOutput(parameters, "REPORT", context)
        if dest:
            if dest.lower().endswith(".json"):
                text = json.dumps({"pack": str(path), "ok": bool(report.get("ok")) and not errors, "errors": len(errors),
                                   "warnings": len(warnings), "problems": problems, "summary": report.get("summary")},
                                  ensure_ascii=False, indent=2)
            else:
                text = "\n".join([f"数据包 pack: {path}",
                                  f"错误 errors: {len(errors)}，警告 warnings: {len(warnings)}",
                                  *map(problem_text, problems)]) + "\n"
            with open(dest, "w", encoding="utf-8") as fh:
                fh.write(text)
        summary = f"错误 {len(errors)} 个，警告 {len(warnings)} 个 — {len(errors)} errors, {len(warnings)} warnings"
        if errors or not report.get("ok"):
            first = "; ".join(problem_text(p) for p in errors[:5])
            raise QgsProcessingException(f"数据包有错误 The pack has errors ({summary}): {first}")
        feedback.pushInfo(summary)
        return {"ERRORS": 0, "WARNINGS": len(warnings), "REPORT": dest}
